//! Where instances live, and the work queue every worker takes from: the [`Store`] trait.
//!
//! A store keeps, per instance, its latest [`Snapshot`] (everything needed to carry on with
//! it: state, compensation chain, timer, the work in progress), an append-only history of
//! [`Record`]s, and an inbox of [`Message`]s (events and cancels, durable once posted).
//!
//! It is also the queue of work: an instance is driven only by the worker holding its
//! [`Claim`] (a lease, renewed while the worker works), every write carries the claim's
//! fencing token and is refused once the claim is lost, and
//! [`claim_due`](Store::claim_due) hands out the instances that need a worker: new ones, ones
//! with messages, timers come due, leases ended. The in-memory and SQLite stores are the
//! one-process case of these rules; PostgreSQL is the many-machine one.
//!
//! States and events are stored as JSON text, so a store needs no knowledge of any flow.

mod claim;
pub(crate) mod error;
mod held;
mod inbox;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod snapshot;
#[cfg(feature = "sqlite")]
mod sqlite;
mod watch;

pub use claim::{Claim, Claimed, Commit, CreatedOrPosted, Due, FlowVersion, Lease, Wake, WorkerId};
pub use error::StoreError;
pub use inbox::{Answer, InboxItem, Message, MessageId, Post};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::{PostgresOptions, PostgresStore};
pub use record::{Record, RecordKind};
pub use snapshot::{
    Cause, ChainEntry, CompensationWork, Ending, LandedBy, Landing, Name, Parent, PartWork,
    ReportLine, Snapshot, Status, StepWork, Summary, Timer, UndoWork, Work,
};
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{SqliteOptions, SqliteStats, SqliteStore};
pub use watch::{Committed, InstanceWatch, Notice, Watch};

use async_trait::async_trait;

use crate::InstanceId;

/// Where instances are kept, and the queue workers take them from. Object-safe, so a host
/// holds an `Arc<dyn Store>`.
///
/// Writes are atomic (all of a write, or nothing), and a refused write changes nothing.
/// Writes take their values by value, so a store can keep them, or hand them to a writer
/// thread, without copying.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Creates an instance with its first snapshot and record. With a `lease`, the instance
    /// is created claimed by that worker, which drives it at once; without one, it is due
    /// (as `wake` says) for any worker.
    ///
    /// # Errors
    ///
    /// [`StoreError::Duplicate`] if the instance exists; nothing is written.
    async fn create(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError>;

    /// Creates the instance as [`create`](Store::create) does, with `message` as its first
    /// message; or, if it exists, posts `message` to it as [`post`](Store::post) does. One
    /// atomic write: of two callers racing on one id, one creates and the other posts, and
    /// never is an instance created without its message.
    ///
    /// # Errors
    ///
    /// As [`post`](Store::post) for an instance that exists; nothing is written.
    async fn create_or_post(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
        message: Message,
        at_ms: u64,
    ) -> Result<CreatedOrPosted, StoreError>;

    /// Claims instance `id` of `flow` for `lease`'s worker, if it is running and nobody
    /// holds a live claim on it. `None` if it cannot be claimed now.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], or a backend or corruption error.
    async fn claim(
        &self,
        flow: &str,
        id: &InstanceId,
        lease: &Lease,
    ) -> Result<Option<Claimed>, StoreError>;

    /// Claims up to `limit` running instances of `flows` (under those fingerprints) that
    /// need a worker now: their wake time has come, or they have unanswered messages, and
    /// nobody holds a live claim on them.
    ///
    /// # Errors
    ///
    /// A backend error; nothing is claimed.
    async fn claim_due(
        &self,
        flows: &[FlowVersion],
        lease: &Lease,
        limit: usize,
    ) -> Result<Due, StoreError>;

    /// Writes `commit` under `claim`: the records appended, the snapshot replaced, the
    /// answers given, the wake time set, in one atomic write. When the snapshot says the
    /// instance ended, its remaining messages are answered [`Answer::Ended`] and the claim
    /// ends with it.
    ///
    /// # Errors
    ///
    /// [`StoreError::ClaimLost`] if `claim` is no longer held, [`StoreError::Conflict`] if
    /// the records do not follow the stored ones; nothing is written.
    async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError>;

    /// Extends `claims` to `lease.until_ms`; returns those that were lost.
    ///
    /// # Errors
    ///
    /// A backend error; the claims' leases are unchanged.
    async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError>;

    /// Hands `claim` back: any worker may claim the instance at once. A claim already lost
    /// is not an error.
    ///
    /// # Errors
    ///
    /// A backend error.
    async fn release(&self, claim: &Claim) -> Result<(), StoreError>;

    /// Posts `message` to instance `id`'s inbox. Durable once it returns; the instance
    /// answers it when it decides on it (see [`answer`](Store::answer)).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::Ended`] for an instance that has ended,
    /// [`StoreError::CancelPosted`] for a second cancel; nothing is written.
    async fn post(
        &self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError>;

    /// How instance `id` answered `message`; `None` while it has not decided.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] if there is no such message, or a backend error.
    async fn answer(
        &self,
        flow: &str,
        id: &InstanceId,
        message: MessageId,
    ) -> Result<Option<Answer>, StoreError>;

    /// Instance `id`'s unanswered messages, oldest first.
    ///
    /// # Errors
    ///
    /// A backend error.
    async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError>;

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

    /// Every instance of `flow` that has not ended, by id, whatever its definition.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError>;

    /// The instance's records, in order.
    ///
    /// # Errors
    ///
    /// A backend or corruption error.
    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError>;

    /// Where the store tells hosts and waiting callers about changes: hosts get a
    /// [`Notice`] for each instance created without a claim, each message posted and each
    /// claim handed back with work due; an instance's waiters are woken when it is created,
    /// when a message is posted to it, when it answers a message and when it ends.
    fn watch(&self) -> &Watch;

    /// How often a host should look at the store on its own, for changes made where this
    /// store's [`watch`](Store::watch) cannot see them (other processes). `None` (the
    /// default) for a store only this process writes.
    fn poll_interval(&self) -> Option<core::time::Duration> {
        None
    }
}
