//! Steps: async arrows `In -> Out` that can be undone, and how one step's output feeds the next.
//!
//! A [`Step`] is a morphism between two state types. Running it consumes its input; on success
//! it returns its output and a *memo*, what it needs to be undone later; on failure it hands
//! the input back inside [`Aborted`]. Undoing is the inverse arrow: given the output back (and
//! the memo), a step compensates what it did and returns its input. That is what makes
//! compensation compose: the undo of `f.then(g)` is the undo of `g`, then the undo of `f`.
//!
//! Every transition `workflow!` generates is a step; the combinators in [`crate::combinators`]
//! build bigger steps out of smaller ones.

use core::convert::Infallible;
use core::fmt;
use core::future::Future;

use either::Either;

use crate::Report;

/// The shape of a step: what it starts from and what it produces, wherever it runs.
///
/// Kept apart from [`Step`] so that composing two steps is type-checked where it is written,
/// before any context is chosen: `order::Reserve.then(order::Ship)` fails right there.
pub trait Arrow {
    /// What the step consumes.
    type In: Send;
    /// What the step produces.
    type Out: Send;
}

/// An async arrow `In -> Out` that runs in a context `Cx` (for generated transitions, the
/// flow's activities) and can be undone.
///
/// Implemented by every transition `workflow!` generates and by every combinator. A step that
/// has nothing to undo returns its input from [`Step::undo`] untouched.
///
/// ```
/// use workflow_core::combinators::{adapt, identity};
/// use workflow_core::{Report, Step, StepExt};
///
/// # futures::executor::block_on(async {
/// let double = identity::<u32, String>().then(adapt(|n: &u32| n * 2));
/// let (out, memo) = double.run(&(), 21).await.unwrap();
/// assert_eq!(out, 42);
/// // Undoing gives the input back.
/// let mut report = Report::new();
/// assert_eq!(double.undo(&(), out, memo, &mut report).await, Some(21));
/// # });
/// ```
pub trait Step<Cx: ?Sized + Sync>: Arrow + Send + Sync {
    /// What the step fails with.
    type Error: Send;
    /// What a completed run keeps so it can be undone (for a transition, its input state).
    type Memo: Send;

    /// Runs the step forward.
    ///
    /// # Errors
    ///
    /// [`Aborted`] with the error, the name of the step that failed and, when everything the
    /// step had done could be undone, its input.
    fn run(
        &self,
        cx: &Cx,
        input: Self::In,
    ) -> impl Future<Output = StepResult<Self::In, Self::Out, Self::Memo, Self::Error>> + Send;

    /// Undoes a completed run, given its output and memo back, recording each undo in
    /// `report`. Returns the run's input, or `None` if an undo failed (the report says which,
    /// and which older undos were skipped).
    fn undo(
        &self,
        cx: &Cx,
        output: Self::Out,
        memo: Self::Memo,
        report: &mut Report<Self::Error>,
    ) -> impl Future<Output = Option<Self::In>> + Send;

    /// Records, without running them, the undos a completed run would need: used when a newer
    /// undo failed and this one must not run.
    fn skip(&self, memo: Self::Memo, report: &mut Report<Self::Error>);
}

/// What [`Step::run`] returns: the output and the memo to undo it, or the failure.
pub type StepResult<In, Out, Memo, E> = Result<(Out, Memo), Aborted<In, E>>;

/// A step failed. Names the step, carries its error and what compensation did, and hands the
/// input back when everything done before the failure was undone.
///
/// ```
/// use workflow_core::{Aborted, Report};
///
/// let aborted = Aborted::new("pay", "card declined", Some(7));
/// assert_eq!(aborted.to_string(), "step `pay` failed: card declined");
/// assert_eq!(aborted.input, Some(7));
/// assert!(aborted.report.is_complete());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aborted<In, E> {
    /// The step that failed.
    pub step: &'static str,
    /// Its error.
    pub error: E,
    /// The input, back, if every undo succeeded; `None` if compensation failed.
    pub input: Option<In>,
    /// Every undo that ran, failed or was skipped, newest first.
    pub report: Report<E>,
}

impl<In, E> Aborted<In, E> {
    /// A failure of `step` with nothing undone yet.
    pub const fn new(step: &'static str, error: E, input: Option<In>) -> Self {
        Self {
            step,
            error,
            input,
            report: Report::new(),
        }
    }

    /// Converts the input, keeping everything else.
    #[must_use]
    pub fn map_input<T>(self, f: impl FnOnce(In) -> T) -> Aborted<T, E> {
        Aborted {
            step: self.step,
            error: self.error,
            input: self.input.map(f),
            report: self.report,
        }
    }
}

impl<In, E: fmt::Display> fmt::Display for Aborted<In, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step `{}` failed: {}", self.step, self.error)
    }
}

impl<In: fmt::Debug, E: std::error::Error + 'static> std::error::Error for Aborted<In, E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// How a step's output feeds a step that starts from `Next`.
///
/// Either the output *is* a `Next` (every type continues into itself), or it is a choice with
/// `Next` on one branch, in which case the other branches exit the composition untouched: a
/// transition `reserve: Placed -> Reserved | Cancelled` continues into a step from `Reserved`,
/// and `Cancelled` passes through. This is what lets `order::Reserve.then(order::Pay)` be a
/// step from `Placed` to `Either<Paid, Cancelled>`.
#[diagnostic::on_unimplemented(
    message = "a step producing `{Self}` cannot be followed by a step that starts from `{Next}`",
    label = "this step does not start from what the previous one produces",
    note = "`then` needs the first step's output to be, or to have a branch that is, the second step's input"
)]
pub trait Continue<Next>: Sized + Send {
    /// The branches that do not continue.
    type Exit: Send;
    /// What the composition produces when the next step produces `T`.
    type Then<T: Send>: Send;

    /// Splits the output into the next step's input or an exit.
    ///
    /// # Errors
    ///
    /// The exit, when the output is on a branch that does not continue.
    fn split(self) -> Result<Next, Self::Exit>;
    /// Rebuilds the output from the next step's input, to undo the first step.
    ///
    /// # Errors
    ///
    /// The input back, when it cannot have come from this output.
    fn rejoin(next: Next) -> Result<Self, Next>;
    /// Rebuilds the output from an exit.
    fn rejoin_exit(exit: Self::Exit) -> Self;
    /// The composition's output when the next step produced `out`.
    fn proceed<T: Send>(out: T) -> Self::Then<T>;
    /// The composition's output when this output exited.
    fn exit<T: Send>(exit: Self::Exit) -> Self::Then<T>;
    /// Splits the composition's output back into the next step's output or the exit.
    ///
    /// # Errors
    ///
    /// The exit, when the composition exited.
    fn unjoin<T: Send>(then: Self::Then<T>) -> Result<T, Self::Exit>;
}

impl<T: Send> Continue<T> for T {
    type Exit = Infallible;
    type Then<U: Send> = U;

    fn split(self) -> Result<T, Infallible> {
        Ok(self)
    }
    fn rejoin(next: T) -> Result<T, T> {
        Ok(next)
    }
    fn rejoin_exit(exit: Infallible) -> T {
        match exit {}
    }
    fn proceed<U: Send>(out: U) -> U {
        out
    }
    fn exit<U: Send>(exit: Infallible) -> U {
        match exit {}
    }
    fn unjoin<U: Send>(then: U) -> Result<U, Infallible> {
        Ok(then)
    }
}

impl<A: Send, B: Send> Continue<A> for Either<A, B> {
    type Exit = B;
    type Then<U: Send> = Either<U, B>;

    fn split(self) -> Result<A, B> {
        match self {
            Either::Left(a) => Ok(a),
            Either::Right(b) => Err(b),
        }
    }
    fn rejoin(next: A) -> Result<Self, A> {
        Ok(Either::Left(next))
    }
    fn rejoin_exit(exit: B) -> Self {
        Either::Right(exit)
    }
    fn proceed<U: Send>(out: U) -> Either<U, B> {
        Either::Left(out)
    }
    fn exit<U: Send>(exit: B) -> Either<U, B> {
        Either::Right(exit)
    }
    fn unjoin<U: Send>(then: Either<U, B>) -> Result<U, B> {
        match then {
            Either::Left(u) => Ok(u),
            Either::Right(b) => Err(b),
        }
    }
}
