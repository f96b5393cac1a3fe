//! `or`: the coproduct. One of two steps, chosen by which side of an `Either` the input is on.

use either::Either;

use crate::{Aborted, Arrow, Report, Step};

/// `left` on `Either::Left` inputs, `right` on `Either::Right` ones, returned by
/// [`StepExt::or`](crate::StepExt::or). The output is on the same side as the input, and
/// undoing it undoes the side that ran.
///
/// A transition with two targets produces an outcome that converts into an `Either`, so
/// `reserve.then(pay.or(notify))` pays a reserved order and notifies a cancelled one.
///
/// ```
/// use workflow_core::combinators::adapt;
/// use workflow_core::{Either, Step, StepExt};
///
/// # futures::executor::block_on(async {
/// let choose = adapt(|n: &u32| n * 2).or(adapt(|s: &String| s.len() as u32));
/// let result: Result<_, workflow_core::Aborted<_, String>> =
///     choose.run(&(), Either::Right("four".to_string())).await;
/// assert_eq!(result.unwrap().0, Either::Right(4));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "a step does nothing until it is run"]
pub struct Or<F, G> {
    left: F,
    right: G,
}

impl<F, G> Or<F, G> {
    pub(crate) const fn new(left: F, right: G) -> Self {
        Self { left, right }
    }
}

impl<F: Arrow, G: Arrow> Arrow for Or<F, G> {
    type In = Either<F::In, G::In>;
    type Out = Either<F::Out, G::Out>;
}

impl<Cx, F, G> Step<Cx> for Or<F, G>
where
    Cx: ?Sized + Sync,
    F: Step<Cx>,
    G: Step<Cx, Error = F::Error>,
{
    type Error = F::Error;
    type Memo = Either<F::Memo, G::Memo>;

    async fn run(
        &self,
        cx: &Cx,
        input: Self::In,
    ) -> Result<(Self::Out, Self::Memo), Aborted<Self::In, F::Error>> {
        match input {
            Either::Left(a) => match self.left.run(cx, a).await {
                Ok((out, memo)) => Ok((Either::Left(out), Either::Left(memo))),
                Err(aborted) => Err(aborted.map_input(Either::Left)),
            },
            Either::Right(b) => match self.right.run(cx, b).await {
                Ok((out, memo)) => Ok((Either::Right(out), Either::Right(memo))),
                Err(aborted) => Err(aborted.map_input(Either::Right)),
            },
        }
    }

    async fn undo(
        &self,
        cx: &Cx,
        output: Self::Out,
        memo: Self::Memo,
        report: &mut Report<F::Error>,
    ) -> Option<Self::In> {
        match (output, memo) {
            (Either::Left(out), Either::Left(memo)) => self
                .left
                .undo(cx, out, memo, report)
                .await
                .map(Either::Left),
            (Either::Right(out), Either::Right(memo)) => self
                .right
                .undo(cx, out, memo, report)
                .await
                .map(Either::Right),
            // An output from another run than the memo: nothing can be undone safely.
            (_, memo) => {
                self.skip(memo, report);
                None
            }
        }
    }

    fn skip(&self, memo: Self::Memo, report: &mut Report<F::Error>) {
        match memo {
            Either::Left(memo) => self.left.skip(memo, report),
            Either::Right(memo) => self.right.skip(memo, report),
        }
    }
}
