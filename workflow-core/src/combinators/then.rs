//! `then`: composition. `f.then(g)` runs `f`, feeds its output to `g`, and undoes `g` then `f`.

use crate::plumbing::Continue;
use crate::{Aborted, Arrow, Report, Step};

/// `first` then `second`: the composition of two arrows, returned by
/// [`StepExt::then`](crate::StepExt::then).
///
/// If `second` fails, `first` is undone, and the failure hands back `first`'s input. Undoing
/// the composition undoes `second`, then `first`, each once. When `first` produces a choice
/// (a transition with several targets), only the branch `second` starts from continues; the
/// others pass through as the right side of an `Either`.
///
/// ```
/// use workflow_core::combinators::adapt;
/// use workflow_core::{Step, StepExt};
///
/// # futures::executor::block_on(async {
/// let add_one = adapt(|n: &u32| n + 1);
/// let double = adapt(|n: &u32| n * 2);
/// let result: Result<_, workflow_core::Aborted<u32, String>> = add_one.then(double).run(&(), 20).await;
/// assert_eq!(result.unwrap().0, 42);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use = "a step does nothing until it is run"]
pub struct Then<F, G> {
    first: F,
    second: G,
}

impl<F, G> Then<F, G> {
    pub(crate) const fn new(first: F, second: G) -> Self {
        Self { first, second }
    }
}

/// What a completed `then` keeps to be undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThenMemo<F, G> {
    /// The first step's output took a branch the second does not start from: only the first ran.
    Exited(F),
    /// Both ran.
    Both(F, G),
}

impl<F: Arrow, G: Arrow> Arrow for Then<F, G>
where
    F::Out: Continue<G::In>,
{
    type In = F::In;
    type Out = <F::Out as Continue<G::In>>::Then<G::Out>;
}

impl<Cx, F, G> Step<Cx> for Then<F, G>
where
    Cx: ?Sized + Sync,
    F: Step<Cx>,
    G: Step<Cx, Error = F::Error>,
    F::Out: Continue<G::In>,
{
    type Error = F::Error;
    type Memo = ThenMemo<F::Memo, G::Memo>;

    async fn run(
        &self,
        cx: &Cx,
        input: F::In,
    ) -> Result<(Self::Out, Self::Memo), Aborted<F::In, F::Error>> {
        let (out, first_memo) = self.first.run(cx, input).await?;
        let next = match Continue::split(out) {
            Ok(next) => next,
            Err(exit) => {
                return Ok((
                    <F::Out as Continue<G::In>>::exit(exit),
                    ThenMemo::Exited(first_memo),
                ));
            }
        };
        match self.second.run(cx, next).await {
            Ok((out, second_memo)) => Ok((
                <F::Out as Continue<G::In>>::proceed(out),
                ThenMemo::Both(first_memo, second_memo),
            )),
            Err(Aborted {
                step,
                error,
                input,
                mut report,
            }) => {
                // The cold path is boxed, so the forward future does not carry the undo's.
                let input = if let Some(Ok(out)) = input.map(<F::Out as Continue<G::In>>::rejoin) {
                    Box::pin(self.first.undo(cx, out, first_memo, &mut report)).await
                } else {
                    self.first.skip(first_memo, &mut report);
                    None
                };
                Err(Aborted {
                    step,
                    error,
                    input,
                    report,
                })
            }
        }
    }

    async fn undo(
        &self,
        cx: &Cx,
        output: Self::Out,
        memo: Self::Memo,
        report: &mut Report<F::Error>,
    ) -> Option<F::In> {
        match (<F::Out as Continue<G::In>>::unjoin(output), memo) {
            (Err(exit), ThenMemo::Exited(first_memo)) => {
                self.first
                    .undo(cx, Continue::rejoin_exit(exit), first_memo, report)
                    .await
            }
            (Ok(out), ThenMemo::Both(first_memo, second_memo)) => {
                let next = self.second.undo(cx, out, second_memo, report).await;
                if let Some(Ok(out)) = next.map(<F::Out as Continue<G::In>>::rejoin) {
                    self.first.undo(cx, out, first_memo, report).await
                } else {
                    self.first.skip(first_memo, report);
                    None
                }
            }
            // An output from another run than the memo: nothing can be undone safely.
            (_, memo) => {
                self.skip(memo, report);
                None
            }
        }
    }

    fn skip(&self, memo: Self::Memo, report: &mut Report<F::Error>) {
        match memo {
            ThenMemo::Exited(first_memo) => self.first.skip(first_memo, report),
            ThenMemo::Both(first_memo, second_memo) => {
                self.second.skip(second_memo, report);
                self.first.skip(first_memo, report);
            }
        }
    }
}
