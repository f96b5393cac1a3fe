//! An instance's inbox: events and cancels as rows, durable once posted, each answered by the
//! instance when it decides on it.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::snapshot::{Name, Status};
use crate::InstanceId;

/// The number of a message in a store's inbox: unique in the store, and increasing in the
/// order messages were posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A request to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Message {
    /// Apply this event between steps.
    Event {
        /// The event's variant name in the flow's `Event` enum.
        name: Name,
        /// The event, as JSON.
        event: Arc<str>,
    },
    /// Cancel: compensate and end.
    Cancel,
    /// A child instance this one started has ended: the step waiting for it reads how.
    ChildEnded {
        /// The child.
        child: InstanceId,
    },
    /// From the parent of a child held in its final state: the parent compensates, so the
    /// child undoes its steps, newest first, and ends cancelled.
    Compensate,
    /// From the parent of a child held in its final state: the parent will not compensate
    /// it any more, so the child completes.
    Release,
    /// From an operator: start no step until unpaused (a step running finishes); timers that
    /// come due wait and events queue.
    Pause,
    /// From an operator: carry on after a pause.
    Unpause,
}

impl Message {
    /// An event message.
    pub fn event(name: impl Into<Name>, event: impl Into<Arc<str>>) -> Self {
        Self::Event {
            name: name.into(),
            event: event.into(),
        }
    }

    /// Whether this is a cancel.
    #[must_use]
    pub const fn is_cancel(&self) -> bool {
        matches!(self, Self::Cancel)
    }

    /// The columns a table-backed store keeps a message in: its kind (`event` or `cancel`),
    /// the event's name and the event as JSON.
    pub(crate) fn columns(&self) -> (&'static str, Option<&str>, Option<&str>) {
        match self {
            Self::Event { name, event } => ("event", Some(&**name), Some(&**event)),
            Self::Cancel => ("cancel", None, None),
            Self::ChildEnded { child } => ("child", Some(child.as_str()), None),
            Self::Compensate => ("compensate", None, None),
            Self::Release => ("release", None, None),
            Self::Pause => ("pause", None, None),
            Self::Unpause => ("unpause", None, None),
        }
    }

    /// The message kept in those columns; `None` if they do not make one.
    pub(crate) fn from_columns(
        kind: &str,
        name: Option<String>,
        event: Option<String>,
    ) -> Option<Self> {
        match (kind, name, event) {
            ("cancel", _, _) => Some(Self::Cancel),
            ("compensate", _, _) => Some(Self::Compensate),
            ("release", _, _) => Some(Self::Release),
            ("pause", _, _) => Some(Self::Pause),
            ("unpause", _, _) => Some(Self::Unpause),
            ("event", Some(name), Some(event)) => Some(Self::event(name, event)),
            ("child", Some(child), _) => Some(Self::ChildEnded {
                child: InstanceId::new(child),
            }),
            _ => None,
        }
    }
}

/// A message an instance sends with one of its writes, posted in the same atomic write: a
/// child's end to its parent, a parent's cancel to its child. Posted only to an instance
/// that runs, and a second cancel is dropped: the sender never waits on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Post {
    /// The flow of the instance it goes to.
    pub flow: Name,
    /// The instance it goes to.
    pub id: InstanceId,
    /// The message.
    pub message: Message,
}

impl Post {
    /// `message`, to instance `id` of `flow`.
    pub fn new(flow: impl Into<Name>, id: InstanceId, message: Message) -> Self {
        Self {
            flow: flow.into(),
            id,
            message,
        }
    }
}

/// A message in an inbox, not yet answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InboxItem {
    /// Its number.
    pub id: MessageId,
    /// The request.
    pub message: Message,
    /// When it was posted, in milliseconds since the Unix epoch.
    pub posted_ms: u64,
}

impl InboxItem {
    /// Message `id`, posted at `posted_ms`.
    #[must_use]
    pub const fn new(id: MessageId, message: Message, posted_ms: u64) -> Self {
        Self {
            id,
            message,
            posted_ms,
        }
    }
}

/// How an instance decided on a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Answer {
    /// The event was accepted and its transition runs; the cancel was accepted and the
    /// instance compensates.
    Applied,
    /// The state the instance was in, and then waited in, does not take this event.
    NotAccepted {
        /// That state.
        state: Name,
    },
    /// The message cannot be read as one of the flow's events (it was posted by another
    /// version of the flow, or damaged).
    Unreadable {
        /// Why.
        reason: String,
    },
    /// The instance ended before it could take the message.
    Ended {
        /// How it ended.
        status: Status,
        /// The state it ended in.
        state: Name,
    },
}
