//! One timer service per host: whatever waits for a deadline (an instance kept in memory
//! waiting for its `after` timer or a retry, the host's sweep of the store for instances due
//! later) registers it here, and waits on its [`Wakeup`] alone, instead of each holding a
//! tokio `Sleep`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// What a task waiting for something is woken through: a timer, a message posted to its
/// instance, or a request to stop.
#[derive(Debug, Default)]
pub(crate) struct Wakeup {
    notify: Notify,
    posted: AtomicBool,
    stop: AtomicBool,
}

impl Wakeup {
    /// Wakes the task to look at the clock.
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
    }

    /// Wakes the task: a message was posted to its instance.
    pub(crate) fn posted(&self) {
        self.posted.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Wakes the task and asks it to stop.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Whether a message was posted since the last call.
    pub(crate) fn take_posted(&self) -> bool {
        self.posted.swap(false, Ordering::AcqRel)
    }

    /// Whether the task was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Resolves at the next wake (or at once, if one came since the last wait).
    pub(crate) async fn woken(&self) {
        self.notify.notified().await;
    }
}

/// Deadlines, earliest first; the counter keeps equal deadlines apart.
type Queue = BTreeMap<(Instant, u64), Weak<Wakeup>>;

/// Deadlines of waiting tasks, earliest first.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    queue: Mutex<Queue>,
    /// Rung when an earlier deadline is registered.
    changed: Notify,
    next: AtomicU64,
    running: AtomicBool,
}

impl Timers {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // Each critical section is one map operation: a poisoned lock holds a consistent map.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes `wakeup` at `deadline` (or soon after). A wake the task no longer needs is
    /// harmless: it looks at what it waits for, finds nothing due, and waits again.
    pub(crate) fn wake_at(self: &Arc<Self>, deadline: Instant, wakeup: &Arc<Wakeup>) {
        let key = (deadline, self.next.fetch_add(1, Ordering::Relaxed));
        let earliest = {
            let mut queue = self.queue();
            queue.insert(key, Arc::downgrade(wakeup));
            queue
                .first_key_value()
                .is_some_and(|(first, _)| *first == key)
        };
        if !self.running.swap(true, Ordering::AcqRel) {
            tokio::spawn(Arc::clone(self).run());
        } else if earliest {
            self.changed.notify_one();
        }
    }

    /// Sleeps until the earliest deadline, wakes every task that is due, and stops when no
    /// deadline is left (the next registration starts it again).
    async fn run(self: Arc<Self>) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let next = {
                let mut queue = self.queue();
                let now = Instant::now();
                while let Some(entry) = queue.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    if let Some(wakeup) = entry.remove().upgrade() {
                        wakeup.wake();
                    }
                }
                // Tasks that are gone leave their entries behind: drop them once they are
                // most of the queue.
                let next = queue.first_key_value().map(|((deadline, _), _)| *deadline);
                if next.is_none() {
                    // Under the lock: a registration either sees this and starts a new task,
                    // or was already in the queue.
                    self.running.store(false, Ordering::Release);
                }
                next
            };
            let Some(deadline) = next else { return };
            tokio::select! {
                () = sleep_until(deadline) => {}
                () = &mut changed => {}
            }
        }
    }
}
