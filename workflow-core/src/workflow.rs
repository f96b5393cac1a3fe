//! The traits every generated flow implements, so drivers and stores are generic over flows.

use core::fmt;
use core::future::Future;

use crate::{Definition, Failure, StepCtx};

/// A flow declared with `workflow!`, implemented by its generated `Flow` marker type.
///
/// The associated items give a driver what it needs without knowing the flow: the `State`
/// enum, the `Event` enum and the static [`Definition`] (states, transitions, triggers,
/// policies, undos, fingerprint).
///
/// ```
/// use workflow_core::prelude::*;
///
/// workflow! {
///     Door {
///         initial Closed {}
///         final Open {}
///         open: Closed -> Open;
///     }
/// }
///
/// fn describe<W: Workflow>() -> String {
///     let def = W::DEFINITION;
///     format!("{} has {} states", def.name(), def.states().len())
/// }
/// assert_eq!(describe::<door::Flow>(), "Door has 2 states");
/// ```
pub trait Workflow: Send + Sync + 'static {
    /// The flow's `State` enum, one variant per state.
    type State: FlowState;
    /// The flow's `Event` enum, one variant per event type named by `on`.
    type Event: FlowEvent;
    /// The static description of the flow.
    const DEFINITION: &'static Definition;

    /// Where guarded transition `transition` lands from `state` (paired with `event` for an
    /// `on` transition), as its guard decides. Generated for flows with guards.
    ///
    /// # Errors
    ///
    /// [`Mismatch`] when the transition is not guarded or does not start from `state`.
    fn decide(
        transition: usize,
        state: &Self::State,
        event: Option<&Self::Event>,
    ) -> Result<Self::State, Mismatch> {
        Err(mismatch::<Self>(transition, state, event))
    }

    /// Where transition `transition` lands when it failed for good from `state` (paired with
    /// `event` for an `on` transition), as its catch builds it. Generated for flows with
    /// `catch`.
    ///
    /// # Errors
    ///
    /// [`Mismatch`] when the transition has no catch or does not start from `state`.
    fn caught(
        transition: usize,
        state: &Self::State,
        event: Option<&Self::Event>,
        failure: Failure,
    ) -> Result<Self::State, Mismatch> {
        let _ = failure;
        Err(mismatch::<Self>(transition, state, event))
    }

    /// How many parts transition `transition` runs from `state`: its branches, or the items
    /// of its `each` field. Generated for flows with transitions made of parts.
    #[doc(hidden)]
    fn part_count(transition: usize, state: &Self::State) -> usize {
        let _ = (transition, state);
        0
    }

    /// The state transition `transition` lands in, built by its `join` function from `state`
    /// (and the step's event) and every part's output, as JSON, in order. `Err` with the
    /// reason if an output cannot be decoded or the transition has no `join`.
    #[doc(hidden)]
    fn join(
        transition: usize,
        state: &Self::State,
        event: Option<&Self::Event>,
        outputs: &[std::sync::Arc<str>],
    ) -> Result<Self::State, String> {
        let _ = outputs;
        Err(mismatch::<Self>(transition, state, event).to_string())
    }

    /// The child instance transition `transition` starts from `state` (paired with `event`
    /// for an `on` transition), in the state its `child(flow, start)` function builds, as
    /// `child` describes it. Generated for flows with child flows. `Err` with the reason if
    /// the transition runs no child from `state`, or the child's state cannot be stored.
    #[doc(hidden)]
    fn start_child(
        transition: usize,
        state: &Self::State,
        event: Option<&Self::Event>,
        child: crate::runtime::ChildOf,
    ) -> Result<crate::runtime::NewChild, String> {
        let _ = child;
        Err(mismatch::<Self>(transition, state, event).to_string())
    }

    /// The state transition `transition` lands in, built by its `join` function from `state`
    /// (and the step's event) and its child's final state, as JSON. `Err` with the reason if
    /// the child's state cannot be decoded or the transition runs no child.
    #[doc(hidden)]
    fn join_child(
        transition: usize,
        state: &Self::State,
        event: Option<&Self::Event>,
        child: &str,
    ) -> Result<Self::State, String> {
        let _ = child;
        Err(mismatch::<Self>(transition, state, event).to_string())
    }

    /// The length of time in field `field` of `state`, for a timer, timeout or retry bound
    /// read from the state (`after(trial)`); `None` if `state` has no such duration field.
    /// Generated for flows with such bounds.
    fn duration(state: &Self::State, field: &str) -> Option<core::time::Duration> {
        let _ = (state, field);
        None
    }
}

/// Transition `transition` of `W` does not apply to `state` (and `event`).
#[doc(hidden)]
pub fn mismatch<W: Workflow + ?Sized>(
    transition: usize,
    state: &W::State,
    event: Option<&W::Event>,
) -> Mismatch {
    Mismatch {
        step: W::DEFINITION
            .transitions()
            .get(transition)
            .map_or("?", crate::TransitionDef::name),
        state: state.name(),
        event: event.map(FlowEvent::name),
    }
}

/// What a driver needs from a flow's `State` enum.
pub trait FlowState: Send + Sync + 'static {
    /// The state's name (`Placed`).
    fn name(&self) -> &'static str;
    /// The state's index in [`Definition::states`].
    fn index(&self) -> usize;
    /// Whether the flow has ended.
    fn is_final(&self) -> bool;
}

/// What a driver needs from a flow's `Event` enum.
pub trait FlowEvent: Send + Sync + 'static {
    /// The event's variant name.
    fn name(&self) -> &'static str;
    /// The event's index in [`Definition::events`].
    fn index(&self) -> usize;
}

/// Runs one attempt of any transition or undo of a flow with activities `A`.
///
/// Implemented by the generated `Flow` type for every `A` implementing the flow's
/// `Activities` trait. Policies (retries, timeouts, timers) are the caller's job: this trait
/// only dispatches by index to the right activity method.
pub trait Dispatch<A>: Workflow {
    /// The activities' error type.
    type Error;

    /// Whether an attempt that failed with `error` is worth retrying: `false` skips the
    /// step's remaining attempts (the activities' own classification, `Activities::retryable`).
    fn retryable(error: &Self::Error) -> bool {
        let _ = error;
        true
    }

    /// Runs one attempt of transition `transition` from `state`. An `on` transition needs the
    /// event that triggered it.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Activity`] when the activity fails; [`DispatchError::Mismatch`] when
    /// the transition cannot start from `state` or the event is missing or of another type.
    fn run_transition<'a>(
        acts: &'a A,
        transition: usize,
        state: &'a Self::State,
        event: Option<&'a Self::Event>,
        ctx: &'a StepCtx,
    ) -> impl Future<Output = Result<Self::State, DispatchError<Self::Error>>> + Send + 'a;

    /// Runs one attempt of undo `undo` on the state its transition produced.
    ///
    /// # Errors
    ///
    /// [`DispatchError::Activity`] when the undo fails; [`DispatchError::Mismatch`] when
    /// `state` is not the state this undo compensates.
    fn run_undo<'a>(
        acts: &'a A,
        undo: usize,
        state: &'a Self::State,
        ctx: &'a StepCtx,
    ) -> impl Future<Output = Result<(), DispatchError<Self::Error>>> + Send + 'a;

    /// Runs one attempt of part `part` of transition `transition` (a branch, or the item of
    /// that index): its output as JSON, or why it cannot be stored.
    #[doc(hidden)]
    fn run_part<'a>(
        acts: &'a A,
        transition: usize,
        part: usize,
        state: &'a Self::State,
        event: Option<&'a Self::Event>,
        ctx: &'a StepCtx,
    ) -> impl Future<Output = Result<Encoded, DispatchError<Self::Error>>> + Send + 'a {
        let _ = (acts, part, ctx);
        let mismatch = mismatch::<Self>(transition, state, event);
        async move { Err(DispatchError::Mismatch(mismatch)) }
    }

    /// Runs one attempt of undo `undo` of a part, on the part's output as JSON: `Ok(Err)`
    /// with the reason if the output cannot be decoded.
    #[doc(hidden)]
    fn run_part_undo<'a>(
        acts: &'a A,
        undo: usize,
        output: &'a str,
        ctx: &'a StepCtx,
    ) -> impl Future<Output = Result<Result<(), String>, DispatchError<Self::Error>>> + Send + 'a
    {
        let _ = (acts, output, ctx);
        async move { Ok(Err(format!("undo {undo} is not the undo of a part"))) }
    }
}

/// A part's output as JSON, or why it cannot be stored.
#[doc(hidden)]
pub type Encoded = Result<std::sync::Arc<str>, String>;

/// Why a dispatched step did not produce a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchError<E> {
    /// The activity ran and failed.
    Activity(E),
    /// The step does not apply to the given state or event; nothing ran.
    Mismatch(Mismatch),
}

impl<E: fmt::Display> fmt::Display for DispatchError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Activity(error) => fmt::Display::fmt(error, f),
            Self::Mismatch(mismatch) => fmt::Display::fmt(mismatch, f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for DispatchError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Activity(error) => Some(error),
            Self::Mismatch(mismatch) => Some(mismatch),
        }
    }
}

/// A step was asked to run from a state (or with an event) it does not accept.
///
/// ```
/// use workflow_core::plumbing::Mismatch;
///
/// let m = Mismatch { step: "ship", state: "Placed", event: None };
/// assert_eq!(m.to_string(), "step `ship` does not apply to state `Placed`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The transition or undo asked for.
    pub step: &'static str,
    /// The state it was given.
    pub state: &'static str,
    /// The event it was given, if any.
    pub event: Option<&'static str>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step `{}` does not apply to state `{}`",
            self.step, self.state
        )?;
        if let Some(event) = self.event {
            write!(f, " with event `{event}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for Mismatch {}
