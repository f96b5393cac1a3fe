//! Child flows: a step that starts an instance of another flow, once, and lands when it
//! ends. The child's id is the step's idempotency key, so a parent resumed after a crash finds
//! the child it started instead of starting a second; the child's snapshot names its parent,
//! and the write that ends the child posts [`ChildEnded`](crate::store::Message::ChildEnded)
//! to the parent's inbox, in the same transaction.
//!
//! A child whose chain holds undos when it reaches its final state is *held* there: the
//! parent joins on it as completed, puts it on its own chain, and later either compensates
//! it ([`Compensate`](crate::store::Message::Compensate): the child unwinds and ends
//! cancelled) or, once the parent ends without needing to, releases it
//! ([`Release`](crate::store::Message::Release): the child completes). An ended instance
//! never changes, so the child stays running while it is held.
//!
//! The generated `Workflow::start_child` and `Workflow::join_child` of a flow with child
//! steps call [`start_child`] and [`decode_child`] with the child flow's types.

use std::sync::Arc;

use super::Durable;
use super::codec;
use super::machine::Machine;
use crate::store::{Parent, Record, ReportLine, Snapshot, Status, Wake};
use crate::{Definition, Failure, InstanceId};

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
    /// How it ended: [`Status::Completed`] for a child held in its final state.
    pub(crate) status: Status,
    /// Its last state, as JSON.
    pub(crate) state: Arc<str>,
    /// Why it failed, for a failed child; for a compensated child, the undo that failed.
    pub(crate) failure: Option<Failure>,
    /// It reached its final state with undos on its chain, and waits there for its parent
    /// to compensate or release it.
    pub(crate) held: bool,
}

impl ChildEnd {
    /// How the instance of `flow` that `snapshot` describes ended; `None` while it runs
    /// (or unwinds).
    pub(crate) fn of(flow: &Definition, snapshot: &Snapshot) -> Option<Self> {
        let in_final = flow
            .state_index(&snapshot.state_name)
            .is_some_and(|state| flow.states()[state].is_final());
        let held = snapshot.status == Status::Running && in_final && snapshot.work.is_none();
        let ending = snapshot.ending.as_ref();
        let undo_failed = ending.and_then(|ending| {
            ending.report.iter().find_map(|line| match line {
                ReportLine::UndoFailed { failure, .. } => Some(failure.clone()),
                _ => None,
            })
        });
        (held || snapshot.status.is_finished()).then(|| Self {
            status: if held {
                Status::Completed
            } else {
                snapshot.status
            },
            state: Arc::clone(&snapshot.state),
            failure: ending.and_then(|e| e.failure.clone()).or(undo_failed),
            held,
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
