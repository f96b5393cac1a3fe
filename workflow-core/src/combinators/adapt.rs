//! Adapters: explicit bridges from one state type to another, with nothing to compensate.

use core::marker::PhantomData;

use crate::{Aborted, Arrow, Report, Step};

/// A step that builds a `B` from a borrowed `A`, keeping the `A`: undoing it gives the `A`
/// back, so an adapter never blocks compensation of the steps before it. It never fails; its
/// error type `E` is that of the steps it is composed with.
///
/// ```
/// use workflow_core::Step;
/// use workflow_core::combinators::adapt;
///
/// #[derive(Debug)]
/// struct Reserved { order: u32 }
/// struct Invoice { order: u32, lines: usize }
///
/// # futures::executor::block_on(async {
/// let to_invoice = adapt::<_, _, _, std::convert::Infallible>(|r: &Reserved| Invoice { order: r.order, lines: 3 });
/// let (invoice, _) = to_invoice.run(&(), Reserved { order: 7 }).await.unwrap();
/// assert_eq!((invoice.order, invoice.lines), (7, 3));
/// # });
/// ```
#[must_use = "a step does nothing until it is run"]
pub fn adapt<A, B, F, E>(f: F) -> Adapt<F, A, B, E>
where
    F: Fn(&A) -> B + Send + Sync,
{
    Adapt {
        f,
        types: PhantomData,
    }
}

/// The types an adapter maps between, without owning any.
type Signature<A, B, E> = fn(&A) -> Result<B, E>;

/// The step [`adapt`] returns.
#[must_use = "a step does nothing until it is run"]
pub struct Adapt<F, A, B, E> {
    f: F,
    types: PhantomData<Signature<A, B, E>>,
}

impl<F: Clone, A, B, E> Clone for Adapt<F, A, B, E> {
    fn clone(&self) -> Self {
        Self {
            f: self.f.clone(),
            types: PhantomData,
        }
    }
}

impl<F, A, B, E> core::fmt::Debug for Adapt<F, A, B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Adapt")
    }
}

impl<F, A: Send, B: Send, E> Arrow for Adapt<F, A, B, E> {
    type In = A;
    type Out = B;
}

impl<Cx, F, A, B, E> Step<Cx> for Adapt<F, A, B, E>
where
    Cx: ?Sized + Sync,
    F: Fn(&A) -> B + Send + Sync,
    A: Send,
    B: Send,
    E: Send,
{
    type Error = E;
    type Memo = A;

    async fn run(&self, _: &Cx, input: A) -> Result<(B, A), Aborted<A, E>> {
        Ok(((self.f)(&input), input))
    }

    async fn undo(&self, _: &Cx, _: B, memo: A, _: &mut Report<E>) -> Option<A> {
        Some(memo)
    }

    fn skip(&self, _: A, _: &mut Report<E>) {}
}

/// A step that converts an `A` into a `B` and, to undo, a `B` back into an `A`: an explicit
/// two-way bridge between state types, keeping nothing. It never fails; its error type `E` is
/// that of the steps it is composed with.
///
/// ```
/// use workflow_core::combinators::bridge;
/// use workflow_core::{Report, Step};
///
/// # futures::executor::block_on(async {
/// let cents = bridge::<_, _, _, _, String>(|euros: u64| euros * 100, |cents: u64| cents / 100);
/// let (out, memo) = cents.run(&(), 12).await.unwrap();
/// assert_eq!(out, 1200);
/// let back = cents.undo(&(), out, memo, &mut Report::new()).await;
/// assert_eq!(back, Some(12));
/// # });
/// ```
#[must_use = "a step does nothing until it is run"]
pub fn bridge<A, B, To, Back, E>(to: To, back: Back) -> Bridge<To, Back, A, B, E>
where
    To: Fn(A) -> B + Send + Sync,
    Back: Fn(B) -> A + Send + Sync,
{
    Bridge {
        to,
        back,
        types: PhantomData,
    }
}

/// The step [`bridge`] returns.
#[must_use = "a step does nothing until it is run"]
pub struct Bridge<To, Back, A, B, E> {
    to: To,
    back: Back,
    types: PhantomData<fn(A) -> Result<B, E>>,
}

impl<To, Back, A, B, E> core::fmt::Debug for Bridge<To, Back, A, B, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Bridge")
    }
}

impl<To, Back, A: Send, B: Send, E> Arrow for Bridge<To, Back, A, B, E> {
    type In = A;
    type Out = B;
}

impl<Cx, To, Back, A, B, E> Step<Cx> for Bridge<To, Back, A, B, E>
where
    Cx: ?Sized + Sync,
    To: Fn(A) -> B + Send + Sync,
    Back: Fn(B) -> A + Send + Sync,
    A: Send,
    B: Send,
    E: Send,
{
    type Error = E;
    type Memo = ();

    async fn run(&self, _: &Cx, input: A) -> Result<(B, ()), Aborted<A, E>> {
        Ok(((self.to)(input), ()))
    }

    async fn undo(&self, _: &Cx, output: B, (): (), _: &mut Report<E>) -> Option<A> {
        Some((self.back)(output))
    }

    fn skip(&self, (): (), _: &mut Report<E>) {}
}
