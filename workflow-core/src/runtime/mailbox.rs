//! The mailbox between a runtime's callers and one instance's task: requests in, the ending out.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{Notify, oneshot};

use super::{Outcome, RuntimeError};
use crate::Workflow;

/// Where an instance answers a request.
pub(crate) type Reply = oneshot::Sender<Result<(), RuntimeError>>;

/// A request to an instance, with where to answer.
pub(crate) enum Message<W: Workflow> {
    /// Apply this event between steps.
    Event(W::Event, Reply),
    /// Cancel: compensate and end.
    Cancel(Reply),
}

/// How an instance's task stopped.
#[derive(Clone)]
pub(crate) enum End<S> {
    /// The instance ended.
    Outcome(Outcome<S>),
    /// The store failed; the instance can be resumed from its last record.
    Stalled(String),
}

/// What callers and the instance's task share. Small on purpose: one per waiting instance.
pub(crate) struct Mailbox<W: Workflow> {
    inbox: Mutex<Inbox<W>>,
    wake: Notify,
    end: Mutex<Option<Box<End<W::State>>>>,
    ended: Notify,
    cancelling: AtomicBool,
}

struct Inbox<W: Workflow> {
    messages: VecDeque<Message<W>>,
    closed: bool,
}

impl<W: Workflow> Mailbox<W> {
    pub(crate) fn new() -> Self {
        Self {
            inbox: Mutex::new(Inbox {
                messages: VecDeque::new(),
                closed: false,
            }),
            wake: Notify::new(),
            end: Mutex::new(None),
            ended: Notify::new(),
            cancelling: AtomicBool::new(false),
        }
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox<W>> {
        // Every critical section below is a push, a pop or a flag: a panic cannot leave the
        // inbox half-changed, so a poisoned lock is safe to use.
        self.inbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Posts a request and wakes the instance; gives the request back if it has ended.
    pub(crate) fn post(&self, message: Message<W>) -> Result<(), Message<W>> {
        let mut inbox = self.inbox();
        if inbox.closed {
            return Err(message);
        }
        inbox.messages.push_back(message);
        drop(inbox);
        self.wake.notify_one();
        Ok(())
    }

    /// The oldest request, if any.
    pub(crate) fn pop(&self) -> Option<Message<W>> {
        self.inbox().messages.pop_front()
    }

    /// Wakes the instance to look at its deadlines.
    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when a request is posted (or was posted since the last wait).
    pub(crate) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Marks a cancel as requested; `false` if one was already.
    pub(crate) fn start_cancelling(&self) -> bool {
        !self.cancelling.swap(true, Ordering::AcqRel)
    }

    /// Takes back a cancel request that could not be delivered.
    pub(crate) fn stop_cancelling(&self) {
        self.cancelling.store(false, Ordering::Release);
    }

    /// Records how the instance ended, closes the inbox and returns what was left in it.
    pub(crate) fn close(&self, end: End<W::State>) -> Vec<Message<W>> {
        *self
            .end
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Box::new(end));
        let left = {
            let mut inbox = self.inbox();
            inbox.closed = true;
            inbox.messages.drain(..).collect()
        };
        self.ended.notify_waiters();
        left
    }

    /// Waits until the instance ends.
    pub(crate) async fn ending(&self) -> End<W::State>
    where
        W::State: Clone,
    {
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if let Some(end) = self
                .end
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_deref()
            {
                return end.clone();
            }
            ended.await;
        }
    }
}
