//! `identity`: the arrow that does nothing, and has nothing to undo.

use core::marker::PhantomData;

use crate::{Aborted, Arrow, Report, Step};

/// The identity arrow on `A`: returns its input, never fails, undoes nothing.
///
/// `identity().then(f)` and `f.then(identity())` behave exactly as `f`. Its error type `E` is
/// whatever the steps it is composed with fail with; it never produces one.
///
/// ```
/// use std::convert::Infallible;
/// use workflow_core::Step;
/// use workflow_core::combinators::identity;
///
/// # futures::executor::block_on(async {
/// let (out, ()) = identity::<&str, Infallible>().run(&(), "placed").await.unwrap();
/// assert_eq!(out, "placed");
/// # });
/// ```
#[must_use = "a step does nothing until it is run"]
pub const fn identity<A, E>() -> Identity<A, E> {
    Identity(PhantomData)
}

/// The step [`identity`] returns.
#[must_use = "a step does nothing until it is run"]
pub struct Identity<A, E>(PhantomData<fn(A) -> Result<A, E>>);

impl<A, E> Clone for Identity<A, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, E> Copy for Identity<A, E> {}

impl<A, E> core::fmt::Debug for Identity<A, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Identity")
    }
}

impl<A: Send, E> Arrow for Identity<A, E> {
    type In = A;
    type Out = A;
}

impl<A: Send, E: Send, Cx: ?Sized + Sync> Step<Cx> for Identity<A, E> {
    type Error = E;
    type Memo = ();

    async fn run(&self, _: &Cx, input: A) -> Result<(A, ()), Aborted<A, E>> {
        Ok((input, ()))
    }

    async fn undo(&self, _: &Cx, output: A, (): (), _: &mut Report<E>) -> Option<A> {
        Some(output)
    }

    fn skip(&self, (): (), _: &mut Report<E>) {}
}
