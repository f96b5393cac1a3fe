//! Adapters: explicit bridges from one state type to another, with nothing to compensate.

use core::convert::Infallible;
use core::marker::PhantomData;

use crate::{Aborted, Arrow, Report, Step};

/// A step that builds a `B` from a borrowed `A`, keeping the `A`: undoing it gives the `A`
/// back, so an adapter never blocks compensation of the steps before it.
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
/// let to_invoice = adapt(|r: &Reserved| Invoice { order: r.order, lines: 3 });
/// let (invoice, _) = to_invoice.run(&(), Reserved { order: 7 }).await.unwrap();
/// assert_eq!((invoice.order, invoice.lines), (7, 3));
/// # });
/// ```
pub fn adapt<A, B, F>(f: F) -> Adapt<F, A, B>
where
    F: Fn(&A) -> B + Send + Sync,
{
    Adapt {
        f,
        types: PhantomData,
    }
}

/// The step [`adapt`] returns.
pub struct Adapt<F, A, B> {
    f: F,
    types: PhantomData<fn(&A) -> B>,
}

impl<F: Clone, A, B> Clone for Adapt<F, A, B> {
    fn clone(&self) -> Self {
        Self {
            f: self.f.clone(),
            types: PhantomData,
        }
    }
}

impl<F, A, B> core::fmt::Debug for Adapt<F, A, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Adapt")
    }
}

impl<F, A: Send, B: Send> Arrow for Adapt<F, A, B> {
    type In = A;
    type Out = B;
}

impl<Cx, F, A, B> Step<Cx> for Adapt<F, A, B>
where
    Cx: ?Sized + Sync,
    F: Fn(&A) -> B + Send + Sync,
    A: Send,
    B: Send,
{
    type Error = Infallible;
    type Memo = A;

    async fn run(&self, _: &Cx, input: A) -> Result<(B, A), Aborted<A, Infallible>> {
        Ok(((self.f)(&input), input))
    }

    async fn undo(&self, _: &Cx, _: B, memo: A, _: &mut Report<Infallible>) -> Option<A> {
        Some(memo)
    }

    fn skip(&self, _: A, _: &mut Report<Infallible>) {}
}

/// A step that converts an `A` into a `B` and, to undo, a `B` back into an `A`: an explicit
/// two-way bridge between state types, keeping nothing.
///
/// ```
/// use workflow_core::combinators::bridge;
/// use workflow_core::{Report, Step};
///
/// # futures::executor::block_on(async {
/// let cents = bridge(|euros: u64| euros * 100, |cents: u64| cents / 100);
/// let (out, memo) = cents.run(&(), 12).await.unwrap();
/// assert_eq!(out, 1200);
/// let back = cents.undo(&(), out, memo, &mut Report::new()).await;
/// assert_eq!(back, Some(12));
/// # });
/// ```
pub fn bridge<A, B, To, Back>(to: To, back: Back) -> Bridge<To, Back, A, B>
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
pub struct Bridge<To, Back, A, B> {
    to: To,
    back: Back,
    types: PhantomData<fn(A) -> B>,
}

impl<To, Back, A, B> core::fmt::Debug for Bridge<To, Back, A, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Bridge")
    }
}

impl<To, Back, A: Send, B: Send> Arrow for Bridge<To, Back, A, B> {
    type In = A;
    type Out = B;
}

impl<Cx, To, Back, A, B> Step<Cx> for Bridge<To, Back, A, B>
where
    Cx: ?Sized + Sync,
    To: Fn(A) -> B + Send + Sync,
    Back: Fn(B) -> A + Send + Sync,
    A: Send,
    B: Send,
{
    type Error = Infallible;
    type Memo = ();

    async fn run(&self, _: &Cx, input: A) -> Result<(B, ()), Aborted<A, Infallible>> {
        Ok(((self.to)(input), ()))
    }

    async fn undo(&self, _: &Cx, output: B, (): (), _: &mut Report<Infallible>) -> Option<A> {
        Some((self.back)(output))
    }

    fn skip(&self, (): (), _: &mut Report<Infallible>) {}
}
