//! `map_err`: gives a step another error type, so steps with different errors compose.

use core::marker::PhantomData;

use crate::{Aborted, Arrow, Report, Step};

/// `inner` with its errors (the failure's and the report's) converted by `f`, returned by
/// [`StepExt::map_err`](crate::StepExt::map_err). `then`, `par` and `or` need both sides to
/// fail with the same type; adapters, which never fail, fail with `Infallible`.
///
/// ```
/// use workflow_core::combinators::adapt;
/// use workflow_core::{Aborted, Step, StepExt};
///
/// #[derive(Debug)]
/// struct ApiError(u16);
///
/// # futures::executor::block_on(async {
/// let step = adapt::<_, _, _, ApiError>(|n: &u32| n + 1).map_err(|e: ApiError| format!("HTTP {}", e.0));
/// let result: Result<_, Aborted<u32, String>> = step.run(&(), 1).await;
/// assert_eq!(result.unwrap().0, 2);
/// # });
/// ```
#[must_use = "a step does nothing until it is run"]
pub struct MapErr<S, F, E> {
    inner: S,
    f: F,
    error: PhantomData<fn() -> E>,
}

impl<S, F, E> MapErr<S, F, E> {
    pub(crate) const fn new(inner: S, f: F) -> Self {
        Self {
            inner,
            f,
            error: PhantomData,
        }
    }
}

impl<S: Clone, F: Clone, E> Clone for MapErr<S, F, E> {
    fn clone(&self) -> Self {
        Self::new(self.inner.clone(), self.f.clone())
    }
}

impl<S: core::fmt::Debug, F, E> core::fmt::Debug for MapErr<S, F, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("MapErr").field(&self.inner).finish()
    }
}

impl<S: Arrow, F, E> Arrow for MapErr<S, F, E> {
    type In = S::In;
    type Out = S::Out;
}

impl<Cx, S, F, E> Step<Cx> for MapErr<S, F, E>
where
    Cx: ?Sized + Sync,
    S: Step<Cx>,
    F: Fn(S::Error) -> E + Send + Sync,
    E: Send,
{
    type Error = E;
    type Memo = S::Memo;

    async fn run(&self, cx: &Cx, input: S::In) -> Result<(S::Out, S::Memo), Aborted<S::In, E>> {
        self.inner.run(cx, input).await.map_err(
            |Aborted {
                 step,
                 error,
                 input,
                 report,
             }| Aborted {
                step,
                error: (self.f)(error),
                input,
                report: report.map_err(&self.f),
            },
        )
    }

    async fn undo(
        &self,
        cx: &Cx,
        output: S::Out,
        memo: S::Memo,
        report: &mut Report<E>,
    ) -> Option<S::In> {
        let mut inner = Report::new();
        let input = self.inner.undo(cx, output, memo, &mut inner).await;
        report.append(inner.map_err(&self.f));
        input
    }

    fn skip(&self, memo: S::Memo, report: &mut Report<E>) {
        let mut inner = Report::new();
        self.inner.skip(memo, &mut inner);
        report.append(inner.map_err(&self.f));
    }
}
