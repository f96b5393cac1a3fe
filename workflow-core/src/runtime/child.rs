//! Child flows: a step that starts an instance of another flow, once, and lands when it
//! ends. The child's id is the step's idempotency key, so a parent resumed after a crash finds
//! the child it started instead of starting a second; the child's snapshot names its parent,
//! and the write that ends the child posts [`ChildEnded`](crate::store::Message::ChildEnded)
//! to the parent's inbox, in the same transaction.
//!
//! The generated `Workflow::start_child` and `Workflow::join_child` of a flow with child
//! steps call [`start_child`] and [`decode_child`] with the child flow's types.

use std::sync::Arc;

use super::Durable;
use super::codec;
use super::machine::Machine;
use crate::store::{Parent, Record, Snapshot, Status, Wake};
use crate::{Failure, InstanceId};

/// The child instance a step is to start: its id and its parent, at `now_ms`.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct ChildOf {
    pub(crate) id: InstanceId,
    pub(crate) parent: Parent,
    pub(crate) now_ms: u64,
}

impl ChildOf {
    pub(crate) const fn new(id: InstanceId, parent: Parent, now_ms: u64) -> Self {
        Self { id, parent, now_ms }
    }
}

/// A child instance as it is created in the store: its first snapshot and record, and when
/// it needs a worker.
#[doc(hidden)]
#[derive(Debug)]
pub struct NewChild {
    pub(crate) snapshot: Snapshot,
    pub(crate) record: Record,
    pub(crate) wake: Wake,
}

/// How a child instance ended, as its parent's step reads it from the store.
#[derive(Debug, Clone)]
pub(crate) struct ChildEnd {
    pub(crate) status: Status,
    /// Its last state, as JSON.
    pub(crate) state: Arc<str>,
    /// Why it failed, for a failed child.
    pub(crate) failure: Option<Failure>,
}

impl ChildEnd {
    /// How the instance `snapshot` describes ended; `None` while it runs.
    pub(crate) fn of(snapshot: &Snapshot) -> Option<Self> {
        snapshot.status.is_finished().then(|| Self {
            status: snapshot.status,
            state: Arc::clone(&snapshot.state),
            failure: snapshot.ending.as_ref().and_then(|e| e.failure.clone()),
        })
    }
}

/// The child instance of flow `C` that `of` describes, starting in `state`: what the store
/// creates. `Err` with the reason if the state cannot be stored.
#[doc(hidden)]
pub fn start_child<C: Durable>(
    state: impl Into<C::State>,
    of: ChildOf,
) -> Result<NewChild, String> {
    let (mut machine, mut fx) =
        Machine::<C>::begin(of.id, state.into(), of.now_ms).map_err(|(why, _)| why.to_string())?;
    machine.set_parent(of.parent);
    let record = fx.records.pop().ok_or("no first record")?;
    Ok(NewChild {
        snapshot: machine.snapshot(),
        record,
        wake: machine.wake(),
    })
}

/// The final state of a child of flow `C`, from its JSON; `Err` with the reason if it cannot
/// be decoded.
#[doc(hidden)]
pub fn decode_child<C: Durable>(json: &str) -> Result<C::State, String> {
    codec::decode::<C::State>(json).map_err(|e| {
        format!(
            "the final state of the `{}` child cannot be decoded: {e}",
            C::DEFINITION.name()
        )
    })
}
