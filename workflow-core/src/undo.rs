//! Undoing a transition's landing, and the compensation chain a typed saga grows step by step.

use core::future::Future;

use crate::Report;

/// How to undo landing in state `Landed`: implemented by each generated transition, for each
/// of its targets (a target without `undo` has nothing to undo and [`Undo::NAME`] `None`).
pub trait Undo<Cx: ?Sized, Landed>: Send + Sync {
    /// What the undo fails with.
    type Error: Send;
    /// The undo's name as written after `undo` in the flow, if the landing has one.
    const NAME: Option<&'static str>;

    /// Runs the undo on the state the transition produced.
    fn undo(
        &self,
        cx: &Cx,
        landed: &Landed,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// Undoes one landing and records it: `true` if it was undone or had nothing to undo.
#[doc(hidden)]
pub async fn undo_landing<Cx, S, U>(
    step: &U,
    cx: &Cx,
    landed: &S,
    report: &mut Report<U::Error>,
) -> bool
where
    Cx: ?Sized + Sync,
    S: Sync,
    U: Undo<Cx, S>,
{
    let Some(name) = U::NAME else { return true };
    match step.undo(cx, landed).await {
        Ok(()) => {
            report.undone(name);
            true
        }
        Err(error) => {
            report.undo_failed(name, error);
            false
        }
    }
}

/// The memo of a generated transition with several targets: its input, and which target it
/// landed in (a transition with one target keeps only its input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed<In> {
    input: In,
    target: u8,
}

impl<In> Landed<In> {
    #[doc(hidden)]
    pub const fn new(input: In, target: u8) -> Self {
        Self { input, target }
    }

    /// The transition's input.
    pub fn into_input(self) -> In {
        self.input
    }

    /// The position, among the transition's targets, of the one it landed in.
    #[must_use]
    pub const fn target(&self) -> u8 {
        self.target
    }
}

/// The compensation chain of a typed saga in state `S`: a stack of undos, newest on top,
/// written in the saga's type.
///
/// [`Empty`] has nothing to undo; [`Link`] puts one transition's undo on top of an older
/// chain, with the state that transition started from.
pub trait Chain<Cx: ?Sized, S, E>: Send {
    /// The state the saga started from, which a complete unwinding gives back.
    type Start: Send;

    /// Undoes everything, newest first, starting from the current state `state`. Returns the
    /// state the saga started from, or `None` if an undo failed (and the older ones were
    /// skipped).
    fn unwind(
        self,
        cx: &Cx,
        state: S,
        report: &mut Report<E>,
    ) -> impl Future<Output = Option<Self::Start>> + Send;

    /// Records every undo as skipped, without running any.
    fn skip(self, report: &mut Report<E>);
}

/// A chain with nothing to undo: where every saga starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl<Cx: ?Sized + Sync, S: Send, E: Send> Chain<Cx, S, E> for Empty {
    type Start = S;

    async fn unwind(self, _: &Cx, state: S, _: &mut Report<E>) -> Option<S> {
        Some(state)
    }

    fn skip(self, _: &mut Report<E>) {}
}

/// One transition's undo on top of an older chain: the transition (as its unit type), the
/// state it started from, and the chain that state had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link<T, Prev, Rest> {
    step: T,
    prev: Prev,
    rest: Rest,
}

impl<T, Prev, Rest> Link<T, Prev, Rest> {
    #[doc(hidden)]
    pub const fn new(step: T, prev: Prev, rest: Rest) -> Self {
        Self { step, prev, rest }
    }
}

impl<Cx, S, E, T, Prev, Rest> Chain<Cx, S, E> for Link<T, Prev, Rest>
where
    Cx: ?Sized + Sync,
    S: Send + Sync,
    E: Send,
    T: Undo<Cx, S, Error = E>,
    Prev: Send,
    Rest: Chain<Cx, Prev, E>,
{
    type Start = Rest::Start;

    async fn unwind(self, cx: &Cx, state: S, report: &mut Report<E>) -> Option<Rest::Start> {
        if undo_landing(&self.step, cx, &state, report).await {
            self.rest.unwind(cx, self.prev, report).await
        } else {
            self.rest.skip(report);
            None
        }
    }

    fn skip(self, report: &mut Report<E>) {
        if let Some(name) = T::NAME {
            report.skipped(name);
        }
        self.rest.skip(report);
    }
}

/// How to undo the completed parts of a transition made of parts (`parallel(..)` or
/// `each(..)`), from what a typed saga kept of their outputs: implemented by the
/// transition's unit type, for `Kept` (a tuple with an `Option` per branch that has an undo,
/// or the `Vec` of an `each`'s outputs). The parts are undone newest first (the branches in
/// reverse order, the items in reverse order of completion), each once; once one fails, the
/// older ones are skipped.
pub trait UndoParts<Cx: ?Sized, Kept>: Send + Sync {
    /// What the undos fail with.
    type Error: Send;

    /// Runs the undos and records each; `true` if none failed.
    fn undo(
        &self,
        cx: &Cx,
        kept: Kept,
        report: &mut Report<Self::Error>,
    ) -> impl Future<Output = bool> + Send;

    /// Records every undo as skipped, without running any.
    fn skip(&self, kept: Kept, report: &mut Report<Self::Error>);
}

/// The undos of a transition made of parts on top of an older chain: the transition (as its
/// unit type), what the saga kept of its parts' outputs, the state it started from, and the
/// chain that state had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartsLink<T, Kept, Prev, Rest> {
    step: T,
    kept: Kept,
    prev: Prev,
    rest: Rest,
}

impl<T, Kept, Prev, Rest> PartsLink<T, Kept, Prev, Rest> {
    #[doc(hidden)]
    pub const fn new(step: T, kept: Kept, prev: Prev, rest: Rest) -> Self {
        Self {
            step,
            kept,
            prev,
            rest,
        }
    }
}

impl<Cx, S, E, T, Kept, Prev, Rest> Chain<Cx, S, E> for PartsLink<T, Kept, Prev, Rest>
where
    Cx: ?Sized + Sync,
    S: Send,
    E: Send,
    T: UndoParts<Cx, Kept, Error = E>,
    Kept: Send,
    Prev: Send,
    Rest: Chain<Cx, Prev, E>,
{
    type Start = Rest::Start;

    async fn unwind(self, cx: &Cx, _: S, report: &mut Report<E>) -> Option<Rest::Start> {
        if self.step.undo(cx, self.kept, report).await {
            self.rest.unwind(cx, self.prev, report).await
        } else {
            self.rest.skip(report);
            None
        }
    }

    fn skip(self, report: &mut Report<E>) {
        self.step.skip(self.kept, report);
        self.rest.skip(report);
    }
}

/// A part's output that a typed saga keeps, to undo the part later: any `Clone` type. `Cx`
/// (the activities) makes the bound one the compiler checks where the saga's method is
/// called, not where the flow is declared: a flow whose outputs are not `Clone` compiles,
/// and only its saga's methods for those steps are out of reach.
#[diagnostic::on_unimplemented(
    message = "a typed saga keeps `{Self}`, a part's output, to undo the part later: `{Self}` must implement `Clone`",
    label = "the saga's method for a step with this part needs it"
)]
pub trait Keep<Cx: ?Sized>: Sized {
    /// A copy to keep.
    #[must_use]
    fn keep(&self) -> Self;
}

impl<T: Clone, Cx: ?Sized> Keep<Cx> for T {
    fn keep(&self) -> Self {
        self.clone()
    }
}

/// What [`abort`](crate::saga::Chain::unwind)ing a saga did: the state it started from, if every
/// undo succeeded, and the report of each undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwound<Start, E> {
    /// The state the saga started from, if every undo succeeded.
    pub state: Option<Start>,
    /// Every undo that ran, failed or was skipped, newest first.
    pub report: Report<E>,
}
