//! An instance as a store keeps it: its [`Snapshot`] (everything needed to carry on with it)
//! and what a snapshot is made of.
//!
//! States and events are JSON text, so a store needs no knowledge of any flow. Every type is
//! `#[non_exhaustive]`: later versions add fields, and stores built outside this crate create
//! them through their constructors.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{Failure, Fingerprint, InstanceId};

/// A name from a flow's definition: borrowed from the definition when the driver writes it,
/// owned when a store reads it back.
pub type Name = Cow<'static, str>;

/// Whether an instance still runs, and if not, how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Taking steps, or waiting for an event or a timer.
    Running,
    /// Reached a final state.
    Completed,
    /// A step failed after its retries; compensation ran.
    Failed,
    /// Cancelled; compensation ran.
    Cancelled,
}

impl Status {
    /// Whether the instance has ended.
    #[must_use]
    pub const fn is_finished(self) -> bool {
        !matches!(self, Self::Running)
    }

    /// The status in lower case, as stores write it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The status [`as_str`](Self::as_str) wrote.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Running,
            Self::Completed,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to carry on with an instance where it stopped.
///
/// ```
/// use workflow_core::{Fingerprint, InstanceId};
/// use workflow_core::store::{Snapshot, Status};
///
/// let snapshot = Snapshot::new("Order", InstanceId::new("o-1"), Fingerprint::from_u64(7), "Placed", r#"{"Placed":{}}"#);
/// assert_eq!((snapshot.seq, snapshot.status), (1, Status::Running));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The flow's name.
    pub flow: Name,
    /// The instance.
    pub id: InstanceId,
    /// The definition of the flow the instance runs under.
    pub fingerprint: Fingerprint,
    /// How many records the instance has: 1 after it started, one more per record.
    pub seq: u64,
    /// When its last record was written, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Running or ended.
    pub status: Status,
    /// The current state's name.
    pub state_name: Name,
    /// The current state, as JSON.
    pub state: Arc<str>,
    /// The compensation chain, oldest first.
    pub chain: Vec<ChainEntry>,
    /// The `after` timer of the current state, if it has one.
    pub timer: Option<Timer>,
    /// Work chosen and not finished: a step being attempted, or compensation running.
    pub work: Option<Work>,
    /// How the instance ended, once it has.
    pub ending: Option<Ending>,
    /// The instance that started this one as a child, told when this one ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Parent>,
    /// Paused by an operator: no step starts, timers that come due wait and events queue
    /// until it is resumed.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub paused: bool,
}

/// The instance that started an instance as a child flow: one of its steps waits for the
/// child to end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Parent {
    /// The parent's flow.
    pub flow: Name,
    /// The parent.
    pub id: InstanceId,
}

impl Parent {
    /// Instance `id` of `flow`.
    pub fn new(flow: impl Into<Name>, id: InstanceId) -> Self {
        Self {
            flow: flow.into(),
            id,
        }
    }
}

impl Snapshot {
    /// The snapshot of an instance that has just started in state `state_name`, whose JSON
    /// is `state`: sequence 1, running, nothing else yet.
    pub fn new(
        flow: impl Into<Name>,
        id: InstanceId,
        fingerprint: Fingerprint,
        state_name: impl Into<Name>,
        state: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            flow: flow.into(),
            id,
            fingerprint,
            seq: 1,
            at_ms: 0,
            status: Status::Running,
            state_name: state_name.into(),
            state: state.into(),
            chain: Vec::new(),
            timer: None,
            work: None,
            ending: None,
            parent: None,
            paused: false,
        }
    }
}

/// One undo on the compensation chain: which undo, recorded by which record, on which state.
///
/// The state is the one the transition landed in: the state of the record `seq`, which a
/// store may keep once, in that record, and share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChainEntry {
    /// The undo's name.
    pub undo: Name,
    /// The sequence number of the transition's record.
    pub seq: u64,
    /// The state the undo receives, as JSON.
    pub state: Arc<str>,
    /// For a step that ran a child flow (`undo` is then the step's name): the child, held
    /// in its final state, which the undo compensates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<InstanceId>,
    /// For a part of a step whose parts are undone all at once (`undo(parallel)`): the
    /// step's key, which the newest entries undone together share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub together: Option<Arc<str>>,
}

impl ChainEntry {
    /// Undo `undo`, recorded by record `seq`, for state `state`.
    pub fn new(undo: impl Into<Name>, seq: u64, state: impl Into<Arc<str>>) -> Self {
        Self {
            undo: undo.into(),
            seq,
            state: state.into(),
            child: None,
            together: None,
        }
    }

    /// The entry of step `step`, recorded by record `seq` in state `state`, which ran
    /// `child`: undone by compensating the child.
    pub fn of_child(
        step: impl Into<Name>,
        seq: u64,
        state: impl Into<Arc<str>>,
        child: InstanceId,
    ) -> Self {
        Self {
            child: Some(child),
            ..Self::new(step, seq, state)
        }
    }
}

/// The current state's `after` timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Timer {
    /// The transition it takes.
    pub transition: Name,
    /// When, in milliseconds since the Unix epoch: computed when the timer was armed.
    pub due_ms: u64,
}

impl Timer {
    /// A timer taking `transition` at `due_ms`.
    pub fn new(transition: impl Into<Name>, due_ms: u64) -> Self {
        Self {
            transition: transition.into(),
            due_ms,
        }
    }
}

/// Work chosen and not finished, so that an instance carries on with it after a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Work {
    /// A transition being attempted, or waiting to be attempted again.
    Step(StepWork),
    /// Compensation running.
    Compensation(CompensationWork),
}

/// A transition being attempted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepWork {
    /// The transition.
    pub transition: Name,
    /// The event that triggered it, as JSON, for an `on` transition.
    pub event: Option<Arc<str>>,
    /// The idempotency key of every attempt of this step.
    pub key: Arc<str>,
    /// When its first attempt started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// Attempts made and failed so far.
    pub failed: u32,
    /// When the next attempt is (or was) due, after a failure.
    pub retry_at_ms: Option<u64>,
    /// For a transition made of parts: the parts done or tried so far (the others have not
    /// started), by part number.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartWork>,
    /// For a transition made of parts: the failure of a part that failed for good, while the
    /// parts still running are awaited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_up: Option<Failure>,
    /// For a transition that runs a child flow: the child, once it is started (the step
    /// then waits for it to end, with no attempt running).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child: Option<InstanceId>,
}

/// One part of a step made of parts (a branch, or an item), once it has been tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PartWork {
    /// Which branch, or which item, from 0.
    pub part: u32,
    /// Its output as JSON, once it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Arc<str>>,
    /// Attempts made and failed so far.
    #[serde(default)]
    pub failed: u32,
    /// When its next attempt is (or was) due, after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
    /// An attempt of it was started and has not ended: written before the attempt starts,
    /// so that a worker resuming after a crash knows the part may have acted.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub running: bool,
}

impl PartWork {
    /// Part `part`, not tried yet.
    #[must_use]
    pub const fn new(part: u32) -> Self {
        Self {
            part,
            output: None,
            failed: 0,
            retry_at_ms: None,
            running: false,
        }
    }
}

/// Compensation running: why, what it did so far, and the undo in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompensationWork {
    /// Why the chain is being unwound.
    pub cause: Cause,
    /// The undos done so far, newest first.
    pub report: Vec<ReportLine>,
    /// When the newest undo's first attempt started.
    pub started_ms: u64,
    /// Attempts of the newest undo made and failed so far.
    pub failed: u32,
    /// When its next attempt is (or was) due, after a failure.
    pub retry_at_ms: Option<u64>,
    /// How many of the oldest chain entries it leaves: a caught failure of a transition made
    /// of parts undoes only that transition's completed parts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub keep: usize,
    /// For parts undone at once (`undo(parallel)`): each of those undos that has failed an
    /// attempt, with its retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub batch: Vec<UndoWork>,
}

/// One undo of a batch undone at once that has failed an attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UndoWork {
    /// The record number of its chain entry.
    pub seq: u64,
    /// Attempts made and failed so far.
    pub failed: u32,
    /// When its next attempt is (or was) due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at_ms: Option<u64>,
}

impl UndoWork {
    /// The undo of chain entry `seq`, after `failed` failed attempts, next due at `retry_at_ms`.
    #[must_use]
    pub const fn new(seq: u64, failed: u32, retry_at_ms: Option<u64>) -> Self {
        Self {
            seq,
            failed,
            retry_at_ms,
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes a reference
const fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why compensation runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Cause {
    /// A step failed for good: the instance ends failed.
    Failed(Failure),
    /// The instance was cancelled.
    Cancelled,
    /// A transition marked `compensate` succeeded; it lands once the chain is unwound.
    Transition(Landing),
}

/// Where a compensating transition lands once compensation is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Landing {
    /// The transition.
    pub transition: Name,
    /// The attempt that succeeded (for a caught failure: the last attempt; for a guard: 0).
    pub attempt: u32,
    /// The state it produced, as JSON.
    pub state: Arc<str>,
    /// What produced the state.
    #[serde(default)]
    pub by: LandedBy,
}

/// What produced the state a transition lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LandedBy {
    /// The transition's activity.
    #[default]
    Activity,
    /// The transition's `catch`, from the failure of its last attempt.
    Catch,
    /// The transition's guard, with no activity.
    Guard,
}

/// How an instance ended.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Ending {
    /// The failure that ended it, for a failed instance.
    pub failure: Option<Failure>,
    /// Every undo that ran, failed or was skipped, newest first.
    pub report: Vec<ReportLine>,
}

impl Ending {
    /// An ending with `failure` (for a failed instance) and the compensation `report`.
    #[must_use]
    pub const fn new(failure: Option<Failure>, report: Vec<ReportLine>) -> Self {
        Self { failure, report }
    }
}

/// One line of a compensation report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ReportLine {
    /// The undo ran and succeeded.
    Undone {
        /// The undo.
        undo: Name,
    },
    /// The undo failed after its retries; the older ones were skipped.
    UndoFailed {
        /// The undo.
        undo: Name,
        /// Its last failure.
        failure: Failure,
    },
    /// The undo did not run.
    Skipped {
        /// The undo.
        undo: Name,
    },
}

/// A line of [`Store::list`](super::Store::list).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Summary {
    /// The instance.
    pub id: InstanceId,
    /// Its current state.
    pub state_name: Name,
    /// Running or ended.
    pub status: Status,
    /// How many records it has.
    pub seq: u64,
    /// The definition it runs under.
    pub fingerprint: Fingerprint,
}

impl Summary {
    /// The summary of `snapshot`.
    #[must_use]
    pub fn of(snapshot: &Snapshot) -> Self {
        Self {
            id: snapshot.id.clone(),
            state_name: snapshot.state_name.clone(),
            status: snapshot.status,
            seq: snapshot.seq,
            fingerprint: snapshot.fingerprint,
        }
    }
}
