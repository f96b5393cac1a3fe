//! What the runtime answers: how an instance ended, and why a request was refused.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{Ending, ReportEntry, Snapshot, Status, StoreError};
use crate::{Definition, InstanceId, Report};

/// How an instance ended. Errors are kept as text, so an outcome reads the same whether the
/// instance ended in this process or before a restart.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished<S> {
    /// It reached a final state.
    Completed(S),
    /// A step failed after its retries (or an undo of a compensating transition failed);
    /// compensation ran.
    Failed {
        /// The step that failed.
        step: String,
        /// Its error.
        error: String,
        /// The state it failed in.
        state: S,
        /// Every undo that ran, failed or was skipped, newest first.
        report: Report<String>,
    },
    /// It was cancelled; compensation ran.
    Cancelled {
        /// The state it was cancelled in.
        state: S,
        /// Every undo that ran, failed or was skipped, newest first.
        report: Report<String>,
    },
}

impl<S> Finished<S> {
    /// The state the instance ended in.
    pub const fn state(&self) -> &S {
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

    /// The compensation report, for a failed or cancelled instance.
    pub const fn report(&self) -> Option<&Report<String>> {
        match self {
            Self::Completed(_) => None,
            Self::Failed { report, .. } | Self::Cancelled { report, .. } => Some(report),
        }
    }
}

/// A report as stored, with undo names matched to the definition's.
pub(crate) fn report_from_entries(
    definition: &Definition,
    entries: &[ReportEntry],
) -> Report<String> {
    let mut report = Report::new();
    for entry in entries {
        let name = static_name(definition, &entry.step);
        match (entry.outcome.as_str(), &entry.error) {
            ("undone", _) => report.undone(name),
            ("failed", error) => report.undo_failed(name, error.clone().unwrap_or_default()),
            _ => report.skipped(name),
        }
    }
    report
}

/// A report, as stored.
pub(crate) fn entries_from_report(report: &Report<String>) -> Vec<ReportEntry> {
    report
        .entries()
        .iter()
        .map(|entry| {
            let (outcome, error) = match &entry.outcome {
                crate::Outcome::Undone => ("undone", None),
                crate::Outcome::UndoFailed(error) | crate::Outcome::AlsoFailed(error) => {
                    ("failed", Some(error.clone()))
                }
                crate::Outcome::Skipped => ("skipped", None),
            };
            ReportEntry {
                step: entry.step.to_string(),
                outcome: outcome.to_string(),
                error,
            }
        })
        .collect()
}

/// The definition's own `&'static str` for an undo or transition name read from a store.
pub(crate) fn static_name(definition: &Definition, name: &str) -> &'static str {
    definition
        .undos()
        .iter()
        .map(crate::UndoDef::name)
        .chain(
            definition
                .transitions()
                .iter()
                .map(crate::TransitionDef::name),
        )
        .find(|n| *n == name)
        .unwrap_or("(unknown step)")
}

/// The definition's own `&'static str` for a state name read from a store.
pub(crate) fn static_state_name(definition: &Definition, name: &str) -> &'static str {
    definition
        .states()
        .iter()
        .map(crate::StateDef::name)
        .find(|n| *n == name)
        .unwrap_or("(unknown state)")
}

/// How a stored instance ended.
pub(crate) fn finished_from_snapshot<S: DeserializeOwned>(
    definition: &Definition,
    snapshot: &Snapshot,
) -> Result<Option<Finished<S>>, RuntimeError> {
    if !snapshot.status.is_finished() {
        return Ok(None);
    }
    let state = decode_state::<S>(snapshot)?;
    let Ending { failure, report } = snapshot.ending.clone().unwrap_or(Ending {
        failure: None,
        report: Vec::new(),
    });
    let report = report_from_entries(definition, &report);
    Ok(Some(match (snapshot.status, failure) {
        (Status::Failed, Some((step, error))) => Finished::Failed {
            step,
            error,
            state,
            report,
        },
        (Status::Failed, None) => Finished::Failed {
            step: String::new(),
            error: String::new(),
            state,
            report,
        },
        (Status::Cancelled, _) => Finished::Cancelled { state, report },
        _ => Finished::Completed(state),
    }))
}

/// The stored state of an instance, decoded.
pub(crate) fn decode_state<S: DeserializeOwned>(snapshot: &Snapshot) -> Result<S, RuntimeError> {
    serde_json::from_str(&snapshot.state).map_err(|error| RuntimeError::Corrupt {
        id: snapshot.id.clone(),
        reason: format!("state `{}` cannot be decoded: {error}", snapshot.state_name),
    })
}

/// A value as JSON, for a store.
pub(crate) fn encode<T: Serialize>(
    id: &InstanceId,
    what: &str,
    value: &T,
) -> Result<String, RuntimeError> {
    serde_json::to_string(value).map_err(|error| RuntimeError::Corrupt {
        id: id.clone(),
        reason: format!("{what} cannot be encoded: {error}"),
    })
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
        "instance `{id}` of flow `{flow}` was stored under a definition with fingerprint {stored:016x}, \
         but the flow's fingerprint is now {current:016x}: refusing to resume it"
    )]
    DefinitionChanged {
        /// The flow.
        flow: &'static str,
        /// The instance.
        id: InstanceId,
        /// The fingerprint it was stored with.
        stored: u64,
        /// The flow's fingerprint now.
        current: u64,
    },
    /// Stored data cannot be read back as this flow's types.
    #[error("instance `{id}`: {reason}")]
    Corrupt {
        /// The instance.
        id: InstanceId,
        /// What cannot be read.
        reason: String,
    },
    /// The instance stopped because its store failed; it resumes from its last record.
    #[error("instance `{id}` stopped: {reason}")]
    Stalled {
        /// The instance.
        id: InstanceId,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What [`Runtime::resume`](super::Runtime::resume) did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Resumed {
    /// The instances now running again, by id.
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
