//! How a store tells hosts and waiting callers that something changed: a [`Notice`] to every
//! host (an instance to claim, a message to deliver), and a wake-up for whoever waits on one
//! instance (its outcome, the answer to a message).
//!
//! Notices are hints, never the only path to correctness: a host that misses one (it lagged,
//! or the store's connection dropped) looks at the store again, and a store shared by
//! several processes is polled too.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::{Notify, broadcast};

use super::claim::{Claim, Commit, Wake};
use super::snapshot::Name;
use crate::InstanceId;

/// Something for a host to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// An instance was created with no worker holding its claim.
    Created {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// A message was posted to an instance's inbox.
    Posted {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
    /// An instance's claim was handed back, with work due at once (a worker that stops).
    Released {
        /// The flow.
        flow: Name,
        /// The instance.
        id: InstanceId,
    },
}

/// Notices for hosts, and wake-ups for callers waiting on one instance. Every store has one.
///
/// ```
/// use workflow_core::InstanceId;
/// use workflow_core::store::{Notice, Watch};
///
/// # futures::executor::block_on(async {
/// let watch = Watch::new();
/// let mut notices = watch.subscribe();
/// watch.notice(Notice::Posted { flow: "Order".into(), id: InstanceId::new("o-1") });
/// assert!(matches!(notices.recv().await, Ok(Notice::Posted { .. })));
/// # });
/// ```
#[derive(Debug)]
pub struct Watch {
    /// Made on the first subscription: a store no host listens to sends nothing.
    notices: std::sync::OnceLock<broadcast::Sender<Notice>>,
    waiters: Mutex<crate::FastMap<Name, crate::FastMap<InstanceId, Weak<Notify>>>>,
    /// How many instances have waiters: a commit with none to wake takes no lock.
    watched: AtomicUsize,
}

impl Default for Watch {
    fn default() -> Self {
        Self::new()
    }
}

/// A registration to be woken when one instance changes. Dropping it unregisters.
#[derive(Debug)]
pub struct InstanceWatch<'a> {
    notify: Arc<Notify>,
    watch: &'a Watch,
    flow: Name,
    id: InstanceId,
}

impl InstanceWatch<'_> {
    /// Resolves at the next change of the instance. Create it (and `enable` it) before
    /// looking at the store, so that a change between the look and the wait is not missed.
    pub fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

impl Watch {
    /// A watch with no subscribers and no waiters.
    #[must_use]
    pub fn new() -> Self {
        Self {
            notices: std::sync::OnceLock::new(),
            waiters: Mutex::new(crate::FastMap::default()),
            watched: AtomicUsize::new(0),
        }
    }

    /// Notices from now on. A receiver that falls behind gets `Lagged`, and should look at
    /// the store as a whole again.
    #[must_use]
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.notices
            .get_or_init(|| broadcast::Sender::new(1024))
            .subscribe()
    }

    /// Sends `notice` to every subscribed host.
    pub fn notice(&self, notice: Notice) {
        // No host subscribed is fine: nothing runs the flow here.
        if let Some(notices) = self.notices.get() {
            let _ = notices.send(notice);
        }
    }

    /// A registration to be woken when instance `id` of `flow` changes.
    #[must_use]
    pub fn instance(&self, flow: &str, id: &InstanceId) -> InstanceWatch<'_> {
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        let instances = match waiters.get_mut(flow) {
            Some(instances) => instances,
            None => waiters.entry(Name::Owned(flow.to_string())).or_default(),
        };
        let notify = if let Some(notify) = instances.get(id).and_then(Weak::upgrade) {
            notify
        } else {
            let notify = Arc::new(Notify::new());
            if instances
                .insert(id.clone(), Arc::downgrade(&notify))
                .is_none()
            {
                self.watched.fetch_add(1, Ordering::Relaxed);
            }
            notify
        };
        InstanceWatch {
            notify,
            watch: self,
            flow: Name::Owned(flow.to_string()),
            id: id.clone(),
        }
    }

    /// Wakes whoever waits on instance `id` of `flow`: stores call it after every write that
    /// concerns it.
    pub fn changed(&self, flow: &str, id: &InstanceId) {
        if self.watched.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(instances) = waiters.get_mut(flow) else {
            return;
        };
        if let Some(entry) = instances.get(id) {
            if let Some(notify) = entry.upgrade() {
                notify.notify_waiters();
            } else {
                // Its waiters are gone: forget it.
                instances.remove(id);
                self.watched.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    /// Tells hosts and waiters that instance `id` of `flow` was created: every host, when it
    /// was created without a claim (for any worker to take), and whoever waits on it.
    pub fn created(&self, flow: &Name, id: &InstanceId, claimed: bool) {
        if !claimed {
            self.notice(Notice::Created {
                flow: flow.clone(),
                id: id.clone(),
            });
        }
        self.changed(flow, id);
    }

    /// Tells hosts and waiters that a message was posted to instance `id` of `flow`.
    pub fn posted(&self, flow: &str, id: &InstanceId) {
        self.notice(Notice::Posted {
            flow: flow.to_string().into(),
            id: id.clone(),
        });
        self.changed(flow, id);
    }

    /// Tells every host that `claim` was handed back with work due at once.
    pub fn released(&self, claim: &Claim) {
        self.notice(Notice::Released {
            flow: claim.flow.clone(),
            id: claim.id.clone(),
        });
    }

    /// Tells hosts and waiters what a commit under `claim` did, once it is written: a claim
    /// handed back with work due now is a notice to every host, and an ending or an answer
    /// wakes whoever waits on the instance. `told` is taken from the commit before it is
    /// written ([`Committed::of`]).
    pub fn committed(&self, claim: &Claim, told: &Committed) {
        if told.released_due {
            self.released(claim);
        }
        if told.wakes {
            self.changed(&claim.flow, &claim.id);
        }
        for (flow, id) in &told.posted {
            self.posted(flow, id);
        }
    }

    /// Wakes every waiter: the store closed, or cannot tell what changed.
    pub fn changed_all(&self) {
        let waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        for notify in waiters.values().flat_map(crate::FastMap::values) {
            if let Some(notify) = notify.upgrade() {
                notify.notify_waiters();
            }
        }
    }
}

impl Drop for InstanceWatch<'_> {
    fn drop(&mut self) {
        let mut waiters = self
            .watch
            .waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The last registration for this instance takes its entry with it.
        if Arc::strong_count(&self.notify) == 1
            && let Some(instances) = waiters.get_mut(&*self.flow)
            && instances.remove(&self.id).is_some()
        {
            self.watch.watched.fetch_sub(1, Ordering::Relaxed);
            if instances.is_empty() {
                waiters.remove(&*self.flow);
            }
        }
    }
}

/// What a commit will tell hosts and waiters once it is written: see [`Watch::committed`].
#[derive(Debug, Clone)]
pub struct Committed {
    pub(crate) released_due: bool,
    pub(crate) wakes: bool,
    /// The instances the commit posts to.
    pub(crate) posted: Vec<(Name, InstanceId)>,
}

impl Committed {
    /// What `commit` will tell.
    #[must_use]
    pub fn of(commit: &Commit) -> Self {
        Self {
            released_due: commit.release && commit.wake == Wake::Now,
            wakes: commit.snapshot.status.is_finished() || !commit.answers.is_empty(),
            posted: commit
                .posts
                .iter()
                .map(|post| (post.flow.clone(), post.id.clone()))
                .collect(),
        }
    }
}
