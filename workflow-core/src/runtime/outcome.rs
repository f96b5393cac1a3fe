//! What the runtime answers: how an instance ended, and why a request was refused.

use std::sync::Arc;

use crate::store::{Status, StoreError};
use crate::{Failure, Fingerprint, InstanceId, Report};

/// How an instance ended: what [`Client::outcome`](super::Client::outcome) returns.
///
/// Failures are data: a failed instance says which step failed, at which attempt, what
/// happened ([`FailureKind`](crate::FailureKind)) and the activity's message, and the report
/// lists every undo that ran, failed or was skipped. It reads the same whether the instance
/// ended in this process or before a restart.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<S> {
    /// It reached a final state.
    Completed(S),
    /// A step failed after its retries (or an undo of a compensating transition failed);
    /// compensation ran.
    Failed {
        /// The state it failed in.
        state: S,
        /// The attempt that failed for good.
        failure: Failure,
        /// Every undo that ran, failed or was skipped, newest first.
        report: Report<Failure>,
    },
    /// It was cancelled; compensation ran.
    Cancelled {
        /// The state it was cancelled in.
        state: S,
        /// Every undo that ran, failed or was skipped, newest first.
        report: Report<Failure>,
    },
}

/// The name this type had before it was called [`Outcome`].
#[deprecated(since = "0.1.0", note = "renamed `Outcome`")]
pub type Finished<S> = Outcome<S>;

impl<S> Outcome<S> {
    /// The state the instance ended in.
    pub const fn state(&self) -> &S {
        match self {
            Self::Completed(state) | Self::Failed { state, .. } | Self::Cancelled { state, .. } => {
                state
            }
        }
    }

    /// The state the instance ended in, taken out.
    pub fn into_state(self) -> S {
        match self {
            Self::Completed(state) | Self::Failed { state, .. } | Self::Cancelled { state, .. } => {
                state
            }
        }
    }

    /// Completed, failed or cancelled.
    pub const fn status(&self) -> Status {
        match self {
            Self::Completed(_) => Status::Completed,
            Self::Failed { .. } => Status::Failed,
            Self::Cancelled { .. } => Status::Cancelled,
        }
    }

    /// The failure that ended it, for a failed instance.
    pub const fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed { failure, .. } => Some(failure),
            Self::Completed(_) | Self::Cancelled { .. } => None,
        }
    }

    /// The compensation report, for a failed or cancelled instance.
    pub const fn report(&self) -> Option<&Report<Failure>> {
        match self {
            Self::Completed(_) => None,
            Self::Failed { report, .. } | Self::Cancelled { report, .. } => Some(report),
        }
    }
}

/// Why the runtime refused a request. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// `start` with an id that is taken.
    #[error("instance `{0}` already exists")]
    Duplicate(InstanceId),
    /// No instance has this id.
    #[error("no instance `{0}`")]
    Unknown(InstanceId),
    /// The instance has ended and takes no more events or cancels.
    #[error("instance `{id}` has already ended, {status}, in state `{state}`")]
    Ended {
        /// The instance.
        id: InstanceId,
        /// How it ended.
        status: Status,
        /// The state it ended in.
        state: &'static str,
    },
    /// The instance's current state has no transition for this event.
    #[error(
        "instance `{id}` is in state `{state}`, which does not accept event `{event}`; it accepts {accepted}"
    )]
    NotAccepted {
        /// The instance.
        id: InstanceId,
        /// Its current state.
        state: &'static str,
        /// The event sent.
        event: &'static str,
        /// The events it accepts, in prose.
        accepted: String,
    },
    /// `cancel` for an instance that is already being cancelled.
    #[error("instance `{0}` is already being cancelled")]
    AlreadyCancelling(InstanceId),
    /// The instance was stored under another version of the flow.
    #[error(
        "instance `{id}` of flow `{flow}` was stored under a definition with fingerprint \
         {stored}, but the flow's fingerprint is now {current}: refusing to resume it"
    )]
    DefinitionChanged {
        /// The flow.
        flow: &'static str,
        /// The instance.
        id: InstanceId,
        /// The fingerprint it was stored with.
        stored: Fingerprint,
        /// The flow's fingerprint now.
        current: Fingerprint,
    },
    /// A state or an event cannot be stored exactly (a `NaN` in a float, a value that does
    /// not read back as it was written): it is handed back, and nothing was written.
    #[error("instance `{id}`: {what} cannot be stored: {reason}")]
    Unstorable {
        /// The instance.
        id: InstanceId,
        /// What: the initial state, the event.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Stored data cannot be read back as this flow's types.
    #[error("instance `{id}`: {reason}")]
    Corrupt {
        /// The instance.
        id: InstanceId,
        /// What cannot be read.
        reason: String,
    },
    /// The instance stopped because its store failed to write it; it stays where its last
    /// record left it, and carries on when the host tries again (see
    /// [`Host::resume`](super::Host::resume)).
    #[error("instance `{id}` stopped: {error}")]
    Stalled {
        /// The instance.
        id: InstanceId,
        /// The store's error.
        error: Arc<StoreError>,
    },
    /// The host that ran the instance in this process was shut down; the instance carries
    /// on, from its last record, wherever a host runs its flow next.
    #[error("instance `{id}` is not running: its host shut down")]
    ShutDown {
        /// The instance.
        id: InstanceId,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`Host::resume`](super::Host::resume) did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Resumed {
    /// Every unfinished instance of the host's flows that it now carries on with, by id:
    /// those due now run at once, the others when their timer is due or a message arrives.
    pub instances: Vec<InstanceId>,
    /// The instances left as they were, and why: stored under another definition of the flow
    /// ([`RuntimeError::DefinitionChanged`]), or unreadable ([`RuntimeError::Corrupt`]).
    pub refused: Vec<RuntimeError>,
}

/// A refused request, with what was sent handed back: nothing is lost.
///
/// ```
/// use workflow_core::InstanceId;
/// use workflow_core::runtime::{Rejected, RuntimeError};
///
/// let rejected = Rejected::new(RuntimeError::Unknown(InstanceId::new("o-9")), "event");
/// assert_eq!(rejected.to_string(), "no instance `o-9`");
/// assert_eq!(rejected.into_value(), "event");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct Rejected<T> {
    /// Why.
    #[source]
    pub error: RuntimeError,
    /// What was sent: the event, or the initial state.
    pub value: T,
}

impl<T> Rejected<T> {
    /// A refusal of `value`.
    pub const fn new(error: RuntimeError, value: T) -> Self {
        Self { error, value }
    }

    /// What was sent, handed back.
    pub fn into_value(self) -> T {
        self.value
    }
}
