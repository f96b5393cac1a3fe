//! `par`: the product. Two steps at the same time on a pair of inputs; if one fails, what the
//! other completed is undone.

use futures_util::future::join;

use crate::{Aborted, Arrow, Report, Step};

/// `left` and `right` at the same time, on `(left input, right input)`, returned by
/// [`StepExt::par`](crate::StepExt::par).
///
/// If one side fails, the other side's completed work is undone, and the failure hands the
/// pair of inputs back. If both fail, the left error is the failure and the right one is in
/// the report as [`Entry::AlsoFailed`](crate::Entry::AlsoFailed). Undoing a completed
/// `par` undoes both sides.
///
/// ```
/// use workflow_core::combinators::adapt;
/// use workflow_core::{Step, StepExt};
///
/// # futures::executor::block_on(async {
/// let both = adapt(|n: &u32| n + 1).par(adapt(|s: &&str| s.len()));
/// let result: Result<_, workflow_core::Aborted<_, String>> = both.run(&(), (41, "four")).await;
/// assert_eq!(result.unwrap().0, (42, 4));
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "a step does nothing until it is run"]
pub struct Par<F, G> {
    left: F,
    right: G,
}

impl<F, G> Par<F, G> {
    pub(crate) const fn new(left: F, right: G) -> Self {
        Self { left, right }
    }
}

impl<F: Arrow, G: Arrow> Arrow for Par<F, G> {
    type In = (F::In, G::In);
    type Out = (F::Out, G::Out);
}

fn both<A, B>(a: Option<A>, b: Option<B>) -> Option<(A, B)> {
    a.zip(b)
}

impl<Cx, F, G> Step<Cx> for Par<F, G>
where
    Cx: ?Sized + Sync,
    F: Step<Cx>,
    G: Step<Cx, Error = F::Error>,
{
    type Error = F::Error;
    type Memo = (F::Memo, G::Memo);

    async fn run(
        &self,
        cx: &Cx,
        (a, b): Self::In,
    ) -> Result<(Self::Out, Self::Memo), Aborted<Self::In, F::Error>> {
        match join(self.left.run(cx, a), self.right.run(cx, b)).await {
            (Ok((left_out, left_memo)), Ok((right_out, right_memo))) => {
                Ok(((left_out, right_out), (left_memo, right_memo)))
            }
            (Err(left), Ok((right_out, right_memo))) => {
                let Aborted {
                    step,
                    error,
                    input,
                    mut report,
                } = left;
                // The cold path is boxed, so the forward future does not carry the undo's.
                let right_in =
                    Box::pin(self.right.undo(cx, right_out, right_memo, &mut report)).await;
                Err(Aborted {
                    step,
                    error,
                    input: both(input, right_in),
                    report,
                })
            }
            (Ok((left_out, left_memo)), Err(right)) => {
                let Aborted {
                    step,
                    error,
                    input,
                    mut report,
                } = right;
                let left_in = Box::pin(self.left.undo(cx, left_out, left_memo, &mut report)).await;
                Err(Aborted {
                    step,
                    error,
                    input: both(left_in, input),
                    report,
                })
            }
            (Err(left), Err(right)) => {
                let Aborted {
                    step,
                    error,
                    input,
                    mut report,
                } = left;
                report.also_failed(right.step, right.error);
                report.append(right.report);
                Err(Aborted {
                    step,
                    error,
                    input: both(input, right.input),
                    report,
                })
            }
        }
    }

    async fn undo(
        &self,
        cx: &Cx,
        (left_out, right_out): Self::Out,
        (left_memo, right_memo): Self::Memo,
        report: &mut Report<F::Error>,
    ) -> Option<Self::In> {
        let (mut left_report, mut right_report) = (Report::new(), Report::new());
        let (a, b) = join(
            self.left.undo(cx, left_out, left_memo, &mut left_report),
            self.right
                .undo(cx, right_out, right_memo, &mut right_report),
        )
        .await;
        report.append(left_report);
        report.append(right_report);
        both(a, b)
    }

    fn skip(&self, (left_memo, right_memo): Self::Memo, report: &mut Report<F::Error>) {
        self.left.skip(left_memo, report);
        self.right.skip(right_memo, report);
    }
}
