//! Where instances live: the [`Store`] trait the driver writes every transition through, and
//! the records it writes.
//!
//! A store keeps, per instance, one [`Snapshot`] (everything needed to resume it: state,
//! compensation chain, pending timer, the step in progress) and an append-only history of
//! [`Record`]s. The driver replaces the snapshot and appends the record in one atomic write,
//! before it acts on the transition; [`Snapshot::seq`] guards against two writers.
//!
//! States and events are stored as JSON text, so a store needs no knowledge of any flow.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStats, SqliteStore};

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::InstanceId;

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
}

impl core::fmt::Display for Status {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything needed to resume an instance where it stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The flow's name.
    pub flow: String,
    /// The flow's fingerprint when the instance was last written.
    pub fingerprint: u64,
    /// The instance.
    pub id: InstanceId,
    /// How many records the instance has: 1 after it started, one more per transition.
    pub seq: u64,
    /// When it was written, in milliseconds since the Unix epoch: an attempt interrupted by a
    /// crash started then, and its timeout counts from then.
    pub at_ms: u64,
    /// Running or ended.
    pub status: Status,
    /// The current state's name.
    pub state_name: String,
    /// The current state, as JSON.
    pub state: String,
    /// The compensation chain, oldest first.
    pub chain: Vec<ChainEntry>,
    /// The `after` timer of the current state, if it has one.
    pub timer: Option<Timer>,
    /// Work chosen and not finished: a step being attempted, or compensation running.
    pub pending: Option<Pending>,
    /// How the instance ended, once it has.
    pub ending: Option<Ending>,
}

/// One undo on the compensation chain: which undo, for which step, on which state.
///
/// Its texts are shared (`Arc<str>`): every snapshot carries the whole chain, and copying it
/// is a reference count per entry, not a copy of each state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    /// The undo's name.
    pub undo: Arc<str>,
    /// The sequence number of the transition that recorded it: a snapshot's entries with its
    /// own `seq` are the ones its transition added. The chain is a stack, oldest first.
    pub seq: u64,
    /// The state the transition landed in, which the undo receives, as JSON.
    pub state: Arc<str>,
}

/// A pending `after` transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    /// The transition to take.
    pub transition: String,
    /// When, in milliseconds since the Unix epoch.
    pub due_ms: u64,
}

/// Work chosen and not finished, so that a resumed instance carries on with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// A transition being attempted.
    Step {
        /// The transition.
        transition: String,
        /// The event that triggered it, as JSON, for an `on` transition.
        event: Option<String>,
        /// The idempotency key of every attempt of this step.
        key: String,
        /// Attempts made and failed so far.
        failed_attempts: u32,
        /// When the next attempt is due, in milliseconds since the Unix epoch, after a failure.
        retry_at_ms: Option<u64>,
    },
    /// Compensation running: a step failed for good, a cancel was accepted, or a compensating
    /// transition succeeded and unwinds before landing.
    Compensation {
        /// The failed step and its error, if a step failed.
        cause: Option<(String, String)>,
        /// The undos done so far.
        report: Vec<ReportEntry>,
        /// Where a compensating transition lands once the chain is unwound.
        landing: Option<Landing>,
    },
}

/// Where a compensating transition lands once compensation is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Landing {
    /// The transition.
    pub transition: String,
    /// The attempt that succeeded.
    pub attempt: u32,
    /// The state it produced, as JSON.
    pub state: String,
}

/// How an instance ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ending {
    /// The step that failed, and its error, for a failed instance.
    pub failure: Option<(String, String)>,
    /// Every undo that ran, failed or was skipped.
    pub report: Vec<ReportEntry>,
}

/// One line of a compensation report, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// The undo.
    pub step: String,
    /// `undone`, `failed` or `skipped`.
    pub outcome: String,
    /// The error of a failed undo.
    pub error: Option<String>,
}

/// One entry of an instance's history: what happened, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Its position in the history, from 1.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub kind: RecordKind,
    /// The state after it.
    pub state_name: String,
}

/// What a [`Record`] records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordKind {
    /// The instance started.
    Started,
    /// An event was accepted; its transition is pending.
    EventAccepted {
        /// The transition it triggers.
        transition: String,
        /// The event, as JSON.
        event: String,
    },
    /// The `after` timer fired; its transition is pending.
    TimerFired {
        /// The transition it triggers.
        transition: String,
    },
    /// An attempt failed; another follows after a wait.
    AttemptFailed {
        /// The transition.
        transition: String,
        /// Which attempt, from 1.
        attempt: u32,
        /// Its error.
        error: String,
    },
    /// A transition landed.
    Transition {
        /// The transition.
        transition: String,
        /// The attempt that succeeded.
        attempt: u32,
    },
    /// A step failed for good, or a cancel was accepted: compensation starts.
    CompensationStarted {
        /// The failed step and its error, or `None` for a cancel.
        cause: Option<(String, String)>,
    },
    /// An undo ran.
    Undone {
        /// The undo.
        undo: String,
    },
    /// The instance ended.
    Ended {
        /// How.
        status: Status,
    },
}

/// A line of [`Store::list`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The instance.
    pub id: InstanceId,
    /// Its current state.
    pub state_name: String,
    /// Running or ended.
    pub status: Status,
    /// How many records it has.
    pub seq: u64,
}

/// Why a store refused or failed a request. When a write fails, nothing of it was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `create` for an instance that exists.
    #[error("instance `{id}` of flow `{flow}` already exists")]
    Duplicate {
        /// The flow.
        flow: String,
        /// The instance.
        id: InstanceId,
    },
    /// `save` for an instance that another writer moved on: its stored `seq` is not the one
    /// this write follows.
    #[error(
        "instance `{id}` was written by someone else: expected sequence {expected}, found {found}"
    )]
    Conflict {
        /// The instance.
        id: InstanceId,
        /// The sequence number the write expected to follow.
        expected: u64,
        /// The stored one.
        found: u64,
    },
    /// `save` for an instance the store does not have.
    #[error("no instance `{id}` of flow `{flow}`")]
    NotFound {
        /// The flow.
        flow: String,
        /// The instance.
        id: InstanceId,
    },
    /// The stored data cannot be read back: the file is damaged, truncated or not a database.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The disk, or the size limit the store was opened with, is full. Nothing was written;
    /// the write can be retried once there is room.
    #[error("the store is full, nothing was written: {0}")]
    Full(String),
    /// The store's file cannot be written.
    #[error("the store `{}` is read-only: {reason}", path.display())]
    ReadOnly {
        /// The file.
        path: PathBuf,
        /// Why it cannot be written.
        reason: String,
    },
    /// The file is a database, but not one this library wrote: it is left untouched.
    #[error("`{}` is not a workflow store: {reason}", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
        /// What gives it away.
        reason: String,
    },
    /// The file was written by a newer version of this library.
    #[error(
        "`{}` has store format {found}, and this version reads formats up to {supported}",
        path.display()
    )]
    Version {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: i64,
        /// The newest format this version reads.
        supported: i64,
    },
    /// Another process has the store open: two processes driving the same instances would
    /// run their steps twice.
    #[error("the store `{}` is in use by another process", path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The backend failed (I/O, database, network).
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where instances are kept. Object-safe, so a runtime holds an `Arc<dyn Store>`.
///
/// Implementations must make [`save`](Store::save) atomic: the snapshot and the record are
/// both written, or neither. Writes take their snapshot and record by value, so a store can
/// keep them, or hand them to a writer thread, without copying.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an instance with its first snapshot and record.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if the instance exists; nothing is written.
    async fn create(&self, snapshot: Snapshot, record: Record) -> Result<(), StoreError>;

    /// Replaces the instance's snapshot with `snapshot` and appends `record`, atomically, if
    /// the stored snapshot's `seq` is `snapshot.seq - 1`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Conflict`] if another write came first, [`StoreError::NotFound`] if the
    /// instance does not exist; nothing is written.
    async fn save(&self, snapshot: Snapshot, record: Record) -> Result<(), StoreError>;

    /// The instance's snapshot, if it exists.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError>;

    /// Every instance of `flow`, by id.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError>;

    /// The snapshots of every instance of `flow` that has not ended.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn unfinished(&self, flow: &str) -> Result<Vec<Snapshot>, StoreError>;

    /// The instance's records, in order.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError>;
}
