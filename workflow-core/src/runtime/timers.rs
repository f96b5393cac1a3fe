//! One timer task per runtime: instances waiting for a deadline (an `after` timer, a retry)
//! register it here and wait on their mailbox alone, instead of each holding a tokio `Sleep`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use super::mailbox::Mailbox;
use crate::Workflow;

/// Deadlines, earliest first; the counter keeps equal deadlines apart.
type Queue<W> = BTreeMap<(Instant, u64), Weak<Mailbox<W>>>;

/// Deadlines of waiting instances, earliest first.
pub(crate) struct Timers<W: Workflow> {
    queue: Mutex<Queue<W>>,
    /// Rung when an earlier deadline is registered.
    changed: Notify,
    next: AtomicU64,
    running: AtomicBool,
}

impl<W: Workflow> Timers<W> {
    pub(crate) fn new() -> Self {
        Self {
            queue: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            next: AtomicU64::new(0),
            running: AtomicBool::new(false),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<W>> {
        // Each critical section is one map operation: a poisoned lock holds a consistent map.
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Wakes `mailbox` at `deadline` (or soon after). A wake the instance no longer needs is
    /// harmless: it looks at its state, finds nothing due, and waits again.
    pub(crate) fn wake_at(self: &Arc<Self>, deadline: Instant, mailbox: &Arc<Mailbox<W>>) {
        let key = (deadline, self.next.fetch_add(1, Ordering::Relaxed));
        let earliest = {
            let mut queue = self.queue();
            queue.insert(key, Arc::downgrade(mailbox));
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

    /// Sleeps until the earliest deadline, wakes every instance that is due, and stops when no
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
                    if let Some(mailbox) = entry.remove().upgrade() {
                        mailbox.wake();
                    }
                }
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
