//! The static description of a flow (`order::DEFINITION`): states, transitions, policies.
//!
//! The macro writes one [`Definition`] per flow. Drivers and stores read it to know what to do
//! in each state, and compare its [`Fingerprint`] to refuse resuming an instance under a flow
//! whose graph has changed.

use core::fmt;
use core::time::Duration;

/// Everything a driver needs to know about a flow, fixed at compile time.
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
/// let def = &door::DEFINITION;
/// assert_eq!(def.name(), "Door");
/// assert_eq!(def.initial().name(), "Closed");
/// let closed = def.state_index("Closed").unwrap();
/// let open = def.automatic(closed).unwrap();
/// assert_eq!(def.transitions()[open].name(), "open");
/// ```
#[derive(Debug)]
pub struct Definition {
    name: &'static str,
    states: &'static [StateDef],
    transitions: &'static [TransitionDef],
    undos: &'static [UndoDef],
    events: &'static [EventDef],
    fingerprint: Fingerprint,
}

impl Definition {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        states: &'static [StateDef],
        transitions: &'static [TransitionDef],
        undos: &'static [UndoDef],
        events: &'static [EventDef],
        fingerprint: Fingerprint,
    ) -> Self {
        Self {
            name,
            states,
            transitions,
            undos,
            events,
            fingerprint,
        }
    }

    /// The flow's name as written in the `workflow!` block (`Order`).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The states, in declaration order. A state's position is its index.
    #[must_use]
    pub const fn states(&self) -> &'static [StateDef] {
        self.states
    }

    /// The transitions, in declaration order. A transition's position is its index.
    #[must_use]
    pub const fn transitions(&self) -> &'static [TransitionDef] {
        self.transitions
    }

    /// The undo steps, in declaration order. An undo's position is its index.
    #[must_use]
    pub const fn undos(&self) -> &'static [UndoDef] {
        self.undos
    }

    /// The event types named by `on` options, in order of first use.
    #[must_use]
    pub const fn events(&self) -> &'static [EventDef] {
        self.events
    }

    /// A hash of the graph: states and their fields, transitions, undos and triggers.
    /// Policies (retry counts, timeouts, timer lengths) are not part of it.
    #[must_use]
    pub const fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The initial state.
    #[must_use]
    pub fn initial(&self) -> &'static StateDef {
        let states = self.states;
        states
            .iter()
            .find(|s| s.kind == StateKind::Initial)
            .unwrap_or(&states[0])
    }

    /// The index of the state called `name`.
    #[must_use]
    pub fn state_index(&self, name: &str) -> Option<usize> {
        self.states.iter().position(|s| s.name == name)
    }

    /// The index of the transition called `name`.
    #[must_use]
    pub fn transition_index(&self, name: &str) -> Option<usize> {
        self.transitions.iter().position(|t| t.name == name)
    }

    /// The automatic transition out of state `state`, if it has one.
    #[must_use]
    pub fn automatic(&self, state: usize) -> Option<usize> {
        self.states.get(state).and_then(|s| s.automatic)
    }

    /// The `after` transition out of state `state` and how long it waits.
    #[must_use]
    pub fn timer(&self, state: usize) -> Option<(usize, Wait)> {
        let t = self.states.get(state)?.after?;
        match self.transitions[t].trigger {
            Trigger::After(wait) => Some((t, wait)),
            _ => None,
        }
    }

    /// The transition that event `event` triggers in state `state`, if any.
    #[must_use]
    pub fn on_event(&self, state: usize, event: usize) -> Option<usize> {
        let s = self.states.get(state)?;
        s.on.iter()
            .copied()
            .find(|&t| self.transitions[t].trigger == Trigger::On { event })
    }

    /// Where transition `transition` goes when it fails for good, if it catches failures.
    #[must_use]
    pub fn catch(&self, transition: usize) -> Option<CatchDef> {
        self.transitions.get(transition)?.catch
    }

    /// The undo to record when transition `transition` lands in state `target`.
    #[must_use]
    pub fn undo_for(&self, transition: usize, target: usize) -> Option<usize> {
        self.transitions
            .get(transition)?
            .targets
            .iter()
            .find(|t| t.state == target)?
            .undo
    }
}

/// Whether a state starts the flow, ends it, or sits between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateKind {
    /// The one state every instance starts in.
    Initial,
    /// A state between the initial state and a final one.
    Intermediate,
    /// A state that ends the flow; it has no outgoing transitions.
    Final,
}

/// One state of a flow.
#[derive(Debug)]
pub struct StateDef {
    name: &'static str,
    kind: StateKind,
    fields: &'static [FieldDef],
    automatic: Option<usize>,
    after: Option<usize>,
    on: &'static [usize],
}

impl StateDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        kind: StateKind,
        fields: &'static [FieldDef],
        automatic: Option<usize>,
        after: Option<usize>,
        on: &'static [usize],
    ) -> Self {
        Self {
            name,
            kind,
            fields,
            automatic,
            after,
            on,
        }
    }

    /// The state's name (`Placed`).
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Initial, intermediate or final.
    #[must_use]
    pub const fn kind(&self) -> StateKind {
        self.kind
    }

    /// Whether the flow ends in this state.
    #[must_use]
    pub const fn is_final(&self) -> bool {
        matches!(self.kind, StateKind::Final)
    }

    /// The state's fields, in declaration order.
    #[must_use]
    pub const fn fields(&self) -> &'static [FieldDef] {
        self.fields
    }

    /// The transition a driver takes as soon as an instance is in this state.
    #[must_use]
    pub const fn automatic(&self) -> Option<usize> {
        self.automatic
    }

    /// The transition taken when an instance has waited in this state long enough.
    #[must_use]
    pub const fn after(&self) -> Option<usize> {
        self.after
    }

    /// The transitions taken when an event arrives in this state.
    #[must_use]
    pub const fn on(&self) -> &'static [usize] {
        self.on
    }
}

/// One field of a state: its name and its type as written.
#[derive(Debug)]
pub struct FieldDef {
    name: &'static str,
    ty: &'static str,
}

impl FieldDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(name: &'static str, ty: &'static str) -> Self {
        Self { name, ty }
    }

    /// The field's name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The field's type, as written in the `workflow!` block.
    #[must_use]
    pub const fn ty(&self) -> &'static str {
        self.ty
    }
}

/// One transition: where it may start, where it may land, and how it is taken.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)] // the DSL's independent options, each read on its own
pub struct TransitionDef {
    name: &'static str,
    sources: &'static [usize],
    targets: &'static [TargetDef],
    trigger: Trigger,
    retry: Option<RetryPolicy>,
    timeout: Option<Wait>,
    compensate: bool,
    catch: Option<CatchDef>,
    guarded: bool,
    internal: bool,
    parts: Option<Parts>,
    undo_parallel: bool,
    child: Option<&'static Definition>,
}

impl TransitionDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        sources: &'static [usize],
        targets: &'static [TargetDef],
        trigger: Trigger,
        retry: Option<RetryPolicy>,
        timeout: Option<Wait>,
        compensate: bool,
    ) -> Self {
        Self {
            name,
            sources,
            targets,
            trigger,
            retry,
            timeout,
            compensate,
            catch: None,
            guarded: false,
            internal: false,
            parts: None,
            undo_parallel: false,
            child: None,
        }
    }

    /// Its completed parts are undone all at once (`undo(parallel)`).
    #[doc(hidden)]
    #[must_use]
    pub const fn __undo_parallel(mut self) -> Self {
        self.undo_parallel = true;
        self
    }

    /// Runs an instance of another flow, `child`, and lands when it ends.
    #[doc(hidden)]
    #[must_use]
    pub const fn __child(mut self, child: &'static Definition) -> Self {
        self.child = Some(child);
        self
    }

    /// Made of parts: parallel branches, or one activity per item of a field.
    #[doc(hidden)]
    #[must_use]
    pub const fn __parts(mut self, parts: Parts) -> Self {
        self.parts = Some(parts);
        self
    }

    /// With a `catch`: where a failure for good lands.
    #[doc(hidden)]
    #[must_use]
    pub const fn __catch(mut self, catch: CatchDef) -> Self {
        self.catch = Some(catch);
        self
    }

    /// Decided by a guard, with no activity.
    #[doc(hidden)]
    #[must_use]
    pub const fn __guarded(mut self) -> Self {
        self.guarded = true;
        self
    }

    /// An internal transition: the state's `after` timer keeps running.
    #[doc(hidden)]
    #[must_use]
    pub const fn __internal(mut self) -> Self {
        self.internal = true;
        self
    }

    /// The transition's name (`reserve`), also the name of its activity method.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The parts it runs (`parallel(..)` or `each(..)`), if it is made of parts.
    #[must_use]
    pub const fn parts(&self) -> Option<Parts> {
        self.parts
    }

    /// Whether its completed parts are undone all at once (`undo(parallel)`: at most the
    /// `each`'s limit at a time) rather than one after another, newest first.
    #[must_use]
    pub const fn undoes_parts_at_once(&self) -> bool {
        self.undo_parallel
    }

    /// The flow it runs an instance of (`child(shipment, ..)`), if it runs a child flow
    /// instead of an activity of its own.
    #[must_use]
    pub const fn child(&self) -> Option<&'static Definition> {
        self.child
    }

    /// The indices of the states it may start from.
    #[must_use]
    pub const fn sources(&self) -> &'static [usize] {
        self.sources
    }

    /// The states it may land in, each with the undo recorded on landing there.
    #[must_use]
    pub const fn targets(&self) -> &'static [TargetDef] {
        self.targets
    }

    /// Automatic, on an event, or after a wait.
    #[must_use]
    pub const fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// How failed attempts are retried; `None` means one attempt.
    #[must_use]
    pub const fn retry(&self) -> Option<RetryPolicy> {
        self.retry
    }

    /// How long one attempt may take.
    #[must_use]
    pub const fn timeout(&self) -> Option<Wait> {
        self.timeout
    }

    /// Whether the compensation chain is unwound before landing in the target.
    #[must_use]
    pub const fn compensate(&self) -> bool {
        self.compensate
    }

    /// Where a failure for good (after the retries, or at once for an error the activities
    /// mark as not worth retrying) lands instead of failing the instance.
    #[must_use]
    pub const fn catch(&self) -> Option<CatchDef> {
        self.catch
    }

    /// Whether a guard (a pure function of the state) chooses the target, with no activity.
    #[must_use]
    pub const fn is_guarded(&self) -> bool {
        self.guarded
    }

    /// Whether it is internal: it updates the state's data without leaving the state, and
    /// the state's `after` timer keeps running. (An ordinary transition back to its source
    /// re-enters it, and the timer starts again.)
    #[must_use]
    pub const fn is_internal(&self) -> bool {
        self.internal
    }
}

/// The parts of a transition that runs several activities: `parallel(..)` branches, or
/// `each(..)` item of a `Vec` field. Each part is journaled on its own: after a crash only
/// the unfinished ones run again.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Parts {
    /// Branches that run at the same time, each an activity of its own.
    Branches(&'static [BranchDef]),
    /// One activity per item of the source state's `field`, at most `at_most` at a time,
    /// in the items' order.
    Each(EachDef),
}

impl Parts {
    /// The activity that runs part `part`.
    #[must_use]
    pub fn activity(&self, part: usize) -> &'static str {
        match self {
            Self::Branches(branches) => branches.get(part).map_or("?", |b| b.name),
            Self::Each(each) => each.activity,
        }
    }

    /// The undo of part `part`, if it has one.
    #[must_use]
    pub fn undo(&self, part: usize) -> Option<usize> {
        match self {
            Self::Branches(branches) => branches.get(part).and_then(|b| b.undo),
            Self::Each(each) => each.undo,
        }
    }

    /// How many parts may run at once.
    #[must_use]
    pub const fn at_most(&self) -> usize {
        match self {
            Self::Branches(branches) => branches.len(),
            Self::Each(each) => each.at_most as usize,
        }
    }
}

/// One branch of `parallel(..)`: its activity, undo and policies (its own, else the
/// transition's).
#[derive(Debug)]
pub struct BranchDef {
    name: &'static str,
    undo: Option<usize>,
    retry: Option<RetryPolicy>,
    timeout: Option<Wait>,
}

impl BranchDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        name: &'static str,
        undo: Option<usize>,
        retry: Option<RetryPolicy>,
        timeout: Option<Wait>,
    ) -> Self {
        Self {
            name,
            undo,
            retry,
            timeout,
        }
    }

    /// The branch's name, also the name of its activity method.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The index of its undo, if it has one.
    #[must_use]
    pub const fn undo(&self) -> Option<usize> {
        self.undo
    }

    /// Its own retry policy, if it has one.
    #[must_use]
    pub const fn retry(&self) -> Option<RetryPolicy> {
        self.retry
    }

    /// Its own timeout, if it has one.
    #[must_use]
    pub const fn timeout(&self) -> Option<Wait> {
        self.timeout
    }
}

/// `each(field, at_most, activity)`: one activity per item of a `Vec` field.
#[derive(Debug, Clone, Copy)]
pub struct EachDef {
    field: &'static str,
    at_most: u32,
    activity: &'static str,
    undo: Option<usize>,
}

impl EachDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(
        field: &'static str,
        at_most: u32,
        activity: &'static str,
        undo: Option<usize>,
    ) -> Self {
        Self {
            field,
            at_most,
            activity,
            undo,
        }
    }

    /// The source state's field whose items it runs over.
    #[must_use]
    pub const fn field(&self) -> &'static str {
        self.field
    }

    /// How many items run at once, at most.
    #[must_use]
    pub const fn at_most(&self) -> u32 {
        self.at_most
    }

    /// The activity run for each item.
    #[must_use]
    pub const fn activity(&self) -> &'static str {
        self.activity
    }

    /// The undo of each completed item, if it has one.
    #[must_use]
    pub const fn undo(&self) -> Option<usize> {
        self.undo
    }
}

/// Where a transition's failure for good lands (`catch(ManualReview, ..)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchDef {
    state: usize,
    compensate: bool,
}

impl CatchDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(state: usize, compensate: bool) -> Self {
        Self { state, compensate }
    }

    /// The index of the state it lands in.
    #[must_use]
    pub const fn state(&self) -> usize {
        self.state
    }

    /// Whether the compensation chain is unwound before landing there.
    #[must_use]
    pub const fn compensate(&self) -> bool {
        self.compensate
    }
}

/// A length of time in a flow: written in the `workflow!` block (`after(15min)`), or read
/// from a field of the source state when the timer is armed or the attempt starts
/// (`after(trial)`).
///
/// ```
/// use core::time::Duration;
/// use workflow_core::Wait;
///
/// assert_eq!(Wait::from(Duration::from_secs(30)), Wait::Fixed(Duration::from_secs(30)));
/// assert_eq!(Wait::Field("trial").to_string(), "trial");
/// assert_eq!(Wait::Fixed(Duration::from_secs(90)).to_string(), "90s");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Written in the block.
    Fixed(Duration),
    /// The value of the source state's field of this name.
    Field(&'static str),
}

impl Wait {
    /// The fixed length, if it is one.
    #[must_use]
    pub const fn fixed(self) -> Option<Duration> {
        match self {
            Self::Fixed(duration) => Some(duration),
            Self::Field(_) => None,
        }
    }
}

impl From<Duration> for Wait {
    fn from(duration: Duration) -> Self {
        Self::Fixed(duration)
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(duration) => f.write_str(&crate::runtime::human(*duration)),
            Self::Field(field) => f.write_str(field),
        }
    }
}

/// A state a transition may land in, and the undo recorded when it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetDef {
    state: usize,
    undo: Option<usize>,
}

impl TargetDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(state: usize, undo: Option<usize>) -> Self {
        Self { state, undo }
    }

    /// The index of the target state.
    #[must_use]
    pub const fn state(&self) -> usize {
        self.state
    }

    /// The index of the undo recorded on landing there.
    #[must_use]
    pub const fn undo(&self) -> Option<usize> {
        self.undo
    }
}

/// How a transition is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// As soon as the instance is in the source state.
    Automatic,
    /// When the event with index `event` (in [`Definition::events`]) arrives.
    On {
        /// Index of the event type.
        event: usize,
    },
    /// When the instance has waited this long in the source state.
    After(Wait),
}

/// Exponential backoff: `attempts` tries in all, waiting `min`, then twice as long each time,
/// never more than `max`.
///
/// ```
/// use core::time::Duration;
/// use workflow_core::RetryPolicy;
///
/// let policy = RetryPolicy::new(4, Duration::from_secs(1), Duration::from_secs(3), false);
/// assert_eq!(policy.backoff(1), Duration::from_secs(1)); // before attempt 2
/// assert_eq!(policy.backoff(2), Duration::from_secs(2)); // before attempt 3
/// assert_eq!(policy.backoff(3), Duration::from_secs(3)); // capped at max
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    min: Duration,
    max: Duration,
    jitter: bool,
    /// The source state's fields the bounds are read from, when they are.
    fields: (Option<&'static str>, Option<&'static str>),
}

impl RetryPolicy {
    /// A policy of `attempts` tries in all (the first included).
    #[must_use]
    pub const fn new(attempts: u32, min: Duration, max: Duration, jitter: bool) -> Self {
        Self {
            attempts,
            min,
            max,
            jitter,
            fields: (None, None),
        }
    }

    /// The same policy with its first or longest wait read from a field of the source state
    /// (`retry(3, base..cap)`): the driver [`resolve`](Self::resolve)s it before each wait.
    #[doc(hidden)]
    #[must_use]
    pub const fn __from_fields(
        mut self,
        min: Option<&'static str>,
        max: Option<&'static str>,
    ) -> Self {
        self.fields = (min, max);
        self
    }

    /// The first and the longest wait as written: fixed, or named fields.
    #[must_use]
    pub const fn bounds(&self) -> (Wait, Wait) {
        let min = match self.fields.0 {
            Some(field) => Wait::Field(field),
            None => Wait::Fixed(self.min),
        };
        let max = match self.fields.1 {
            Some(field) => Wait::Field(field),
            None => Wait::Fixed(self.max),
        };
        (min, max)
    }

    /// The policy with its bounds read from fields replaced by what `read` gives for them
    /// (a missing field reads as zero). A policy with fixed bounds is unchanged.
    #[must_use]
    pub fn resolve(self, read: impl Fn(&str) -> Option<Duration>) -> Self {
        let value = |field: Option<&str>, fixed: Duration| {
            field.map_or(fixed, |f| read(f).unwrap_or_default())
        };
        Self {
            min: value(self.fields.0, self.min),
            max: value(self.fields.1, self.max),
            fields: (None, None),
            ..self
        }
    }

    /// Tries in all, the first included.
    #[must_use]
    pub const fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The first wait (zero where it is read from a field and not yet
    /// [`resolve`](Self::resolve)d).
    #[must_use]
    pub const fn min(&self) -> Duration {
        self.min
    }

    /// The longest wait.
    #[must_use]
    pub const fn max(&self) -> Duration {
        self.max
    }

    /// Whether waits are spread by a deterministic jitter.
    #[must_use]
    pub const fn jitter(&self) -> bool {
        self.jitter
    }

    /// The wait after failed attempt `failed` (counting from 1), before any jitter.
    #[must_use]
    pub fn backoff(&self, failed: u32) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        self.min.saturating_mul(1 << doublings).min(self.max)
    }
}

/// An undo step: which transition records it, and for landing in which state.
#[derive(Debug)]
pub struct UndoDef {
    name: &'static str,
    transition: usize,
    state: usize,
    part: Option<usize>,
}

impl UndoDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(name: &'static str, transition: usize, state: usize) -> Self {
        Self {
            name,
            transition,
            state,
            part: None,
        }
    }

    /// The undo of a part (branch `part`, or any item of an `each`): it receives the part's
    /// output, not a state.
    #[doc(hidden)]
    #[must_use]
    pub const fn __part(mut self, part: usize) -> Self {
        self.part = Some(part);
        self
    }

    /// For the undo of a part: which branch (0 for an `each`). It receives that part's
    /// output rather than a state.
    #[must_use]
    pub const fn part(&self) -> Option<usize> {
        self.part
    }

    /// The undo's name (`release`), also the name of its activity method.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The index of the transition whose landing it undoes.
    #[must_use]
    pub const fn transition(&self) -> usize {
        self.transition
    }

    /// The index of the state that landing produced; the undo receives that state.
    #[must_use]
    pub const fn state(&self) -> usize {
        self.state
    }
}

/// An event type named by an `on` option.
#[derive(Debug)]
pub struct EventDef {
    name: &'static str,
    ty: &'static str,
}

impl EventDef {
    #[doc(hidden)]
    #[must_use]
    pub const fn __new(name: &'static str, ty: &'static str) -> Self {
        Self { name, ty }
    }

    /// The variant name in the flow's `Event` enum.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The event type as written.
    #[must_use]
    pub const fn ty(&self) -> &'static str {
        self.ty
    }
}

/// A 64-bit hash of a flow's graph, printed as 16 hex digits.
///
/// ```
/// use workflow_core::Fingerprint;
///
/// assert_eq!(Fingerprint::from_u64(0xabc).to_string(), "0000000000000abc");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// Wraps a hash value.
    #[must_use]
    pub const fn from_u64(hash: u64) -> Self {
        Self(hash)
    }

    /// The hash value.
    #[must_use]
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl core::str::FromStr for Fingerprint {
    type Err = core::num::ParseIntError;

    /// Reads the 16 hex digits [`Display`](fmt::Display) writes.
    ///
    /// ```
    /// use workflow_core::Fingerprint;
    ///
    /// let fingerprint: Fingerprint = "0000000000000abc".parse().unwrap();
    /// assert_eq!(fingerprint, Fingerprint::from_u64(0xabc));
    /// ```
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(text, 16).map(Self)
    }
}

/// Stored as its 16 hex digits, so that every store and every JSON reader keeps all 64 bits.
impl serde::Serialize for Fingerprint {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Fingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
