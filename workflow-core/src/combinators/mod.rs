//! Combinators that build bigger steps from smaller ones, one struct each, no boxing:
//! [`identity`], [`Then`] (composition), [`Par`] (product), [`Or`] (coproduct), the adapters
//! [`adapt`] and [`bridge`], and [`MapErr`].
//!
//! The methods live on [`StepExt`], implemented for every [`Arrow`].

mod adapt;
mod identity;
mod map_err;
mod or;
mod par;
mod then;

pub use adapt::{Adapt, Bridge, adapt, bridge};
pub use identity::{Identity, identity};
pub use map_err::MapErr;
pub use or::Or;
pub use par::Par;
pub use then::{Then, ThenMemo};

use crate::Arrow;
use crate::plumbing::Continue;

/// The combinator methods, for every [`Arrow`] (so for every [`Step`](crate::Step)).
///
/// ```
/// use workflow_core::combinators::{adapt, identity};
/// use workflow_core::{Aborted, Step, StepExt};
///
/// # futures::executor::block_on(async {
/// let chain = identity().then(adapt(|n: &u32| n + 1)).then(adapt(|n: &u32| n * 2));
/// let result: Result<_, Aborted<u32, String>> = chain.run(&(), 20).await;
/// assert_eq!(result.unwrap().0, 42);
/// # });
/// ```
pub trait StepExt: Arrow + Sized {
    /// This step, then `next` on its output. See [`Then`].
    #[must_use = "a step does nothing until it is run"]
    fn then<G: Arrow>(self, next: G) -> Then<Self, G>
    where
        Self::Out: Continue<G::In>,
    {
        Then::new(self, next)
    }

    /// This step and `other` at the same time, on a pair of inputs. See [`Par`].
    #[must_use = "a step does nothing until it is run"]
    fn par<G: Arrow>(self, other: G) -> Par<Self, G> {
        Par::new(self, other)
    }

    /// This step on `Either::Left` inputs, `other` on `Either::Right` ones. See [`Or`].
    #[must_use = "a step does nothing until it is run"]
    fn or<G: Arrow>(self, other: G) -> Or<Self, G> {
        Or::new(self, other)
    }

    /// This step with its errors converted by `f`. See [`MapErr`].
    #[must_use = "a step does nothing until it is run"]
    fn map_err<F, E>(self, f: F) -> MapErr<Self, F, E> {
        MapErr::new(self, f)
    }
}

impl<T: Arrow> StepExt for T {}
