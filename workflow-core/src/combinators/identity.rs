//! `identity`: the arrow that does nothing, and has nothing to undo.

use core::convert::Infallible;
use core::marker::PhantomData;

use crate::{Aborted, Arrow, Report, Step};

/// The identity arrow on `A`: returns its input, never fails, undoes nothing.
///
/// `identity().then(f)` and `f.then(identity())` behave exactly as `f`.
///
/// ```
/// use workflow_core::Step;
/// use workflow_core::combinators::identity;
///
/// # futures::executor::block_on(async {
/// let (out, ()) = identity::<&str>().run(&(), "placed").await.unwrap();
/// assert_eq!(out, "placed");
/// # });
/// ```
#[must_use]
pub const fn identity<A>() -> Identity<A> {
    Identity(PhantomData)
}

/// The step [`identity`] returns.
pub struct Identity<A>(PhantomData<fn(A) -> A>);

impl<A> Clone for Identity<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A> Copy for Identity<A> {}

impl<A> core::fmt::Debug for Identity<A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Identity")
    }
}

impl<A: Send> Arrow for Identity<A> {
    type In = A;
    type Out = A;
}

impl<A: Send, Cx: ?Sized + Sync> Step<Cx> for Identity<A> {
    type Error = Infallible;
    type Memo = ();

    async fn run(&self, _: &Cx, input: A) -> Result<(A, ()), Aborted<A, Infallible>> {
        Ok((input, ()))
    }

    async fn undo(&self, _: &Cx, output: A, (): (), _: &mut Report<Infallible>) -> Option<A> {
        Some(output)
    }

    fn skip(&self, (): (), _: &mut Report<Infallible>) {}
}
