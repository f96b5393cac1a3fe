//! An instance's history: one [`Record`] per thing that happened to it, in order.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::inbox::MessageId;
use super::snapshot::{Cause, Name, Status};
use crate::Failure;

/// One entry of an instance's history.
///
/// ```
/// use workflow_core::store::{Record, RecordKind};
///
/// let record = Record::new(1, 0, RecordKind::Started, "Placed");
/// assert_eq!(record.kind, RecordKind::Started);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Record {
    /// Its position in the history, from 1.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub kind: RecordKind,
    /// The state after it.
    pub state_name: Name,
}

impl Record {
    /// Record `seq`, written at `at_ms`, leaving the instance in `state_name`.
    pub fn new(seq: u64, at_ms: u64, kind: RecordKind, state_name: impl Into<Name>) -> Self {
        Self {
            seq,
            at_ms,
            kind,
            state_name: state_name.into(),
        }
    }
}

/// What a [`Record`] records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordKind {
    /// The instance started.
    Started,
    /// An event from the inbox was accepted; its transition runs.
    EventAccepted {
        /// The transition it triggers.
        transition: Name,
        /// The event, as JSON.
        event: Arc<str>,
        /// The inbox message it came in.
        message: MessageId,
    },
    /// The `after` timer fired; its transition runs.
    TimerFired {
        /// The transition it triggers.
        transition: Name,
    },
    /// An attempt of a transition or an undo failed.
    AttemptFailed {
        /// What failed, and how.
        failure: Failure,
        /// When the next attempt is due; `None` if it was the last.
        retry_at_ms: Option<u64>,
    },
    /// A part of a transition made of parts (a branch, or an item) succeeded: its output is
    /// kept, and after a crash it does not run again.
    PartDone {
        /// The transition.
        transition: Name,
        /// Which branch, or which item, from 0.
        part: u32,
        /// The attempt that succeeded.
        attempt: u32,
        /// What the part's activity returned, as JSON.
        output: Arc<str>,
    },
    /// A transition that runs a child flow started its child: the step waits for the child
    /// to end, and after a crash does not start another.
    ChildStarted {
        /// The transition.
        transition: Name,
        /// The child instance (of the flow the transition names).
        child: crate::InstanceId,
    },
    /// A transition landed.
    Transition {
        /// The transition.
        transition: Name,
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// A transition that failed for good was caught: it landed in its `catch` state (the
    /// failure is in the `AttemptFailed` record before).
    Caught {
        /// The transition.
        transition: Name,
        /// Its last attempt.
        attempt: u32,
    },
    /// A guard chose where a transition lands, with no activity.
    Decided {
        /// The transition.
        transition: Name,
        /// The state it chose.
        branch: Name,
    },
    /// Compensation starts: a step failed for good, a cancel was accepted, or a compensating
    /// transition succeeded.
    CompensationStarted {
        /// Why.
        cause: Cause,
    },
    /// An undo ran and succeeded.
    Undone {
        /// The undo.
        undo: Name,
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// The instance moved to another definition of its flow: its state, pending work, timer
    /// and compensation chain were rewritten by a typed mapping
    /// ([`Migration`](crate::runtime::Migration)).
    Migrated {
        /// The definition it ran under.
        from: crate::Fingerprint,
        /// The definition it runs under now.
        to: crate::Fingerprint,
        /// The state it was in under the old definition.
        from_state: Name,
    },
    /// An operator paused the instance: no step starts until it is unpaused.
    Paused,
    /// An operator unpaused the instance: it carries on where it stopped.
    Unpaused,
    /// The instance ended failed or cancelled. (A completed instance's last record is the
    /// transition into its final state.)
    Ended {
        /// How.
        status: Status,
    },
}
