//! Why a store refused or failed a request. When a write fails, nothing of it was written.

use std::path::PathBuf;

use super::snapshot::{Name, Status};
use crate::InstanceId;

/// Why a store refused or failed a request. When a write fails, nothing of it was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// `create` for an instance that exists.
    #[error("instance `{id}` of flow `{flow}` already exists")]
    Duplicate {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// A write that does not follow the stored history: its first record is not the one
    /// after the stored ones.
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
    /// A request for an instance the store does not have.
    #[error("no instance `{id}` of flow `{flow}`")]
    NotFound {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// A write under a claim that is no longer held: the lease ended and another worker
    /// claimed the instance, or the claim was handed back. Nothing was written; the writer
    /// must stop driving the instance.
    #[error("the claim on instance `{id}` of flow `{flow}` was lost: nothing was written")]
    ClaimLost {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// A message posted to an instance that has ended.
    #[error("instance `{id}` of flow `{flow}` has ended, {status}")]
    Ended {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
        /// How it ended.
        status: Status,
    },
    /// A second cancel posted to an instance: one is already in its inbox or was accepted.
    #[error("instance `{id}` of flow `{flow}` has a cancel already")]
    CancelPosted {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// A value the store cannot hold: a number beyond its range (a due time past the year
    /// 292,000,000), for example. Nothing was written, and the other writes committed with
    /// it went ahead.
    #[error("the store cannot hold {0}: nothing was written")]
    Unstorable(String),
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
    /// The database's tables were made by a newer version of this library: it is left
    /// untouched.
    #[error(
        "the database has schema version {found}, and this version knows versions up to {supported}"
    )]
    SchemaVersion {
        /// The database's version.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// Another process has the store open: two processes driving the same instances would
    /// run their steps twice.
    #[error("the store `{}` is in use by another process", path.display())]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The store was closed: it takes no more requests.
    #[error("the store is closed")]
    Closed,
    /// The backend failed (I/O, database, network).
    #[error("store backend failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A stored value of instance `id` that cannot be what it claims to be.
pub(crate) fn corrupt(
    flow: &str,
    id: &str,
    what: &str,
    error: impl std::fmt::Display,
) -> StoreError {
    StoreError::Corrupt(format!("instance `{id}` of flow `{flow}`: {what}: {error}"))
}
