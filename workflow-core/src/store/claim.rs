//! Claims: an instance is driven only by the worker holding its claim, a lease with an expiry
//! that the worker renews while it works. Every write under a claim carries its token, and
//! a store refuses the write once the claim has been lost, so a worker that was paused or cut
//! off cannot overwrite the work of the one that took over.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::StoreError;
use super::inbox::{Answer, InboxItem, MessageId, Post};
use super::record::Record;
use super::snapshot::{Name, Snapshot};
use crate::{Fingerprint, InstanceId};

/// Who holds a claim: one worker process (or one host in a process).
///
/// ```
/// use workflow_core::store::WorkerId;
///
/// assert_ne!(WorkerId::random(), WorkerId::random());
/// assert_eq!(WorkerId::new("api-1").as_str(), "api-1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WorkerId(Arc<str>);

impl WorkerId {
    /// A worker called `name`.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// A new worker id, unique to this process and this moment.
    #[must_use]
    pub fn random() -> Self {
        Self::new(format!("worker-{}", uuid::Uuid::now_v7()))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A request for claims: who asks, the time now, and until when the claims hold unless
/// renewed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lease {
    /// The worker asking.
    pub worker: WorkerId,
    /// Now, in milliseconds since the Unix epoch: claims whose lease ended before it may be
    /// taken over.
    pub now_ms: u64,
    /// When the claims end unless renewed.
    pub until_ms: u64,
}

impl Lease {
    /// A lease for `worker` from `now_ms` to `until_ms`.
    #[must_use]
    pub const fn new(worker: WorkerId, now_ms: u64, until_ms: u64) -> Self {
        Self {
            worker,
            now_ms,
            until_ms,
        }
    }
}

/// The right to drive one instance, until the lease ends or another worker takes it over.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Claim {
    /// The flow.
    pub flow: Name,
    /// The instance.
    pub id: InstanceId,
    /// Who holds it.
    pub worker: WorkerId,
    /// The fencing token: it grows every time the instance is claimed, and every write
    /// carries it.
    pub token: u64,
}

impl Claim {
    /// A claim on instance `id` of `flow` for `worker`, with fencing token `token`.
    pub fn new(flow: impl Into<Name>, id: InstanceId, worker: WorkerId, token: u64) -> Self {
        Self {
            flow: flow.into(),
            id,
            worker,
            token,
        }
    }
}

/// A claim, with what the worker needs to drive the instance: its snapshot and its
/// unanswered messages, oldest first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Claimed {
    /// The claim.
    pub claim: Claim,
    /// The instance as last written.
    pub snapshot: Snapshot,
    /// Its inbox: the messages it has not answered, oldest first.
    pub inbox: Vec<InboxItem>,
}

impl Claimed {
    /// `claim`, on the instance `snapshot` describes, with `inbox`.
    #[must_use]
    pub const fn new(claim: Claim, snapshot: Snapshot, inbox: Vec<InboxItem>) -> Self {
        Self {
            claim,
            snapshot,
            inbox,
        }
    }
}

/// When an instance needs a worker without any message arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wake {
    /// At once: it has work in progress (a worker that loses its claim leaves it due).
    Now,
    /// At this time, in milliseconds since the Unix epoch: a timer, or a retry.
    At(u64),
    /// Only when a message arrives.
    OnMessage,
}

impl Wake {
    /// The time it is due, with [`Wake::Now`] as 0.
    #[must_use]
    pub const fn due_ms(self) -> Option<u64> {
        match self {
            Self::Now => Some(0),
            Self::At(at) => Some(at),
            Self::OnMessage => None,
        }
    }
}

/// What a worker writes under its claim, atomically: the new snapshot, the records that led
/// to it, the answers to messages it decided on, when the instance next needs a worker, and
/// whether the claim is handed back.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Commit {
    /// The instance after the records. Boxed: a commit passes through several hands on its
    /// way to the store, and a pointer moves cheaper than a snapshot.
    pub snapshot: Box<Snapshot>,
    /// The records, in order, numbered after the stored ones.
    pub records: Vec<Record>,
    /// The messages decided on.
    pub answers: Vec<(MessageId, Answer)>,
    /// When the instance next needs a worker.
    pub wake: Wake,
    /// Whether the claim ends with this write.
    pub release: bool,
    /// Messages to other instances, posted with this write (see [`Post`]).
    pub posts: Vec<Post>,
    /// Whether the snapshot is under another definition of its flow than the one stored (a
    /// migration): the store then keeps the snapshot's fingerprint as the instance's, so the
    /// workers of the new definition claim it.
    pub migrated: bool,
}

impl Commit {
    /// A write of `snapshot`, after `records`.
    #[must_use]
    pub fn new(snapshot: impl Into<Box<Snapshot>>, records: Vec<Record>, wake: Wake) -> Self {
        Self {
            snapshot: snapshot.into(),
            records,
            answers: Vec::new(),
            wake,
            release: false,
            posts: Vec::new(),
            migrated: false,
        }
    }

    /// Posts `posts` with this write.
    #[must_use]
    pub fn posting(mut self, posts: Vec<Post>) -> Self {
        self.posts = posts;
        self
    }

    /// Answers `answers` too.
    #[must_use]
    pub fn answering(mut self, answers: Vec<(MessageId, Answer)>) -> Self {
        self.answers = answers;
        self
    }

    /// Hands the claim back with this write.
    #[must_use]
    pub const fn releasing(mut self) -> Self {
        self.release = true;
        self
    }

    /// Moves the instance to the definition its snapshot's fingerprint names (see
    /// [`migrated`](Self::migrated)).
    #[must_use]
    pub const fn migrating(mut self) -> Self {
        self.migrated = true;
        self
    }
}

/// A flow as a worker runs it: its name and the fingerprint of the definition it runs.
/// Instances stored under another fingerprint are left for the version that wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FlowVersion {
    /// The flow's name.
    pub name: Name,
    /// Its definition's fingerprint.
    pub fingerprint: Fingerprint,
}

impl FlowVersion {
    /// Flow `name` under the definition with `fingerprint`.
    pub fn new(name: impl Into<Name>, fingerprint: Fingerprint) -> Self {
        Self {
            name: name.into(),
            fingerprint,
        }
    }
}

/// What [`Store::create_or_post`](super::Store::create_or_post) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreatedOrPosted {
    /// The instance did not exist: it was created with the message as its first, and, when
    /// created with a lease, claimed.
    Created {
        /// The claim, if the instance was created with a lease.
        claim: Option<Claim>,
        /// The message's number.
        message: MessageId,
    },
    /// The instance existed: the message was posted to it.
    Posted(MessageId),
}

/// What [`Store::claim_due`](super::Store::claim_due) found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Due {
    /// The instances now claimed, with their snapshots and inboxes.
    pub claimed: Vec<Claimed>,
    /// Instances claimed whose stored data cannot be read: the worker keeps the claim (so
    /// that nobody loops on them) and reports them.
    pub unreadable: Vec<(Claim, StoreError)>,
    /// When the next instance not claimed now becomes due, if any: the earliest timer, retry
    /// or lease expiry.
    pub next_ms: Option<u64>,
}
