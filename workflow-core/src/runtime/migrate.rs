//! Moving stored instances to a new definition of their flow: [`Migration`] rewrites each
//! instance through a typed mapping from the old flow's states to the new one's, in one write
//! per instance, or refuses it with a [`MigrateError`] and changes nothing.

use std::sync::Arc;

use super::codec;
use super::machine::Machine;
use super::{Durable, now_ms};
use crate::store::{
    ChainEntry, Claim, Commit, Lease, Record, RecordKind, Snapshot, Store, StoreError, Timer, Wake,
    Work, WorkerId,
};
use crate::{Definition, FlowState, InstanceId, Wait, Workflow};

/// Where the mapping sends an instance of the old flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped<S> {
    /// To this state of the new flow.
    To(S),
    /// Nowhere: the instance keeps running on the old definition (host it beside the new).
    Keep,
}

/// What [`Migration::instance`] did with one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migrated {
    /// It runs on the new definition now, in this state.
    Moved {
        /// The state of the new flow it is in.
        state: &'static str,
    },
    /// The mapping kept it on the old definition.
    Kept,
    /// It already ran on the new definition: nothing to do.
    AlreadyNew,
}

/// Why an instance was not migrated. Nothing of it was changed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// A worker drives it now (its claim is live): migrate between deploys, or again later.
    #[error("instance `{id}` is being driven by a worker: try again once no worker holds it")]
    Busy {
        /// The instance.
        id: InstanceId,
    },
    /// It has ended: an ended instance never changes.
    #[error("instance `{id}` has ended")]
    Ended {
        /// The instance.
        id: InstanceId,
    },
    /// It runs neither the old definition nor the new.
    #[error("instance `{id}` runs a definition of `{flow}` that is neither the old nor the new")]
    OtherVersion {
        /// The instance.
        id: InstanceId,
        /// Its flow.
        flow: &'static str,
    },
    /// A step is in progress (chosen, being attempted, or waiting to retry) that the new
    /// state does not take: its attempts may have acted, so it is neither dropped nor
    /// carried.
    #[error(
        "instance `{id}` has step `{step}` in progress in `{from}`, and `{to}` of the new flow is not left by `{step}`: let it finish on the old definition, or map `{from}` to a state `{step}` leaves"
    )]
    StepInProgress {
        /// The instance.
        id: InstanceId,
        /// The step in progress.
        step: String,
        /// Its state under the old definition.
        from: String,
        /// The state the mapping gives.
        to: &'static str,
    },
    /// A step made of parts, or one running a child flow, is in progress: its parts or its
    /// child are not carried.
    #[error("instance `{id}` has step `{step}` running parts or a child flow: let it finish first")]
    PartsInProgress {
        /// The instance.
        id: InstanceId,
        /// The step.
        step: String,
    },
    /// It is compensating: the chain being unwound is not rewritten.
    #[error("instance `{id}` is compensating: let its compensation finish on the old definition")]
    Compensating {
        /// The instance.
        id: InstanceId,
    },
    /// The mapping sends it to a final state: an instance does not end by being migrated.
    #[error("instance `{id}` would be moved to final state `{to}`: map it to a state that runs")]
    ToFinal {
        /// The instance.
        id: InstanceId,
        /// The final state.
        to: &'static str,
    },
    /// An undo on its compensation chain cannot be carried.
    #[error("instance `{id}`: the undo `{undo}` on its compensation chain {reason}")]
    Undo {
        /// The instance.
        id: InstanceId,
        /// The undo.
        undo: String,
        /// Why.
        reason: String,
    },
    /// Its stored data cannot be read as the old flow's, or the rewritten instance as the new
    /// flow's.
    #[error("instance `{id}` cannot be migrated: {reason}")]
    Unreadable {
        /// The instance.
        id: InstanceId,
        /// Why.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
}

/// What [`Migration::all`] did.
#[derive(Debug, Clone, Default)]
pub struct MigrationReport {
    /// Instances moved to the new definition.
    pub moved: Vec<InstanceId>,
    /// Instances the mapping kept on the old one.
    pub kept: Vec<InstanceId>,
    /// Instances refused, each with why; nothing of them changed.
    pub refused: Vec<MigrateError>,
}

/// Moves stored instances of flow `Old` to `New`, a new definition of the same flow (kept
/// beside it, say in a `v1` module), through `map`: a function from each old state to a new
/// state, or [`Mapped::Keep`].
///
/// The compiler checks the mapping: write it as a `match` on the old flow's `State` with no
/// wildcard, and a state forgotten is error E0004 naming it, and a new state built from an
/// old one that lacks its data does not compile (a missing field). The two flows must have
/// the same name (checked when the migration is built, at compile time).
///
/// Each instance is moved in one write: its state, its compensation chain (each entry's
/// state mapped the same way), its pending step (kept, with its key and attempts, when the
/// new state is left by a step of the same name) and its timer (kept when the new state has
/// the same timer, else armed afresh), with a [`RecordKind::Migrated`] record. An instance in
/// the middle of something the mapping cannot carry is refused with a [`MigrateError`] that
/// says what, and nothing of it changes. Instances kept or refused go on running on the old
/// definition: host it beside the new (a host of the old flow on the same store).
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::runtime::{Client, Mapped, Migration};
/// use workflow_core::store::{MemoryStore, Store};
/// use std::sync::Arc;
///
/// mod v1 {
///     use workflow_core::prelude::*;
///     workflow! {
///         #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///         pub Door { initial Closed {} final Open {} open: Closed -> Open; }
///     }
/// }
/// mod v2 {
///     use workflow_core::prelude::*;
///     workflow! {
///         #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///         pub Door {
///             initial Closed {}
///             state   Unlocked { by: String }
///             final   Open {}
///             unlock: Closed -> Unlocked;
///             open:   Unlocked -> Open;
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// // An instance of version 1, stored and not driven.
/// let old = Client::<v1::door::Flow>::new(Arc::clone(&store));
/// let id = old.start(v1::door::Closed {}).await.unwrap();
///
/// let migration = Migration::<v1::door::Flow, v2::door::Flow, _>::new(Arc::clone(&store), |state| {
///     match state {
///         v1::door::State::Closed(_) => Mapped::To(v2::door::Closed {}.into()),
///         v1::door::State::Open(_) => Mapped::Keep,
///     }
/// });
/// let report = migration.all().await.unwrap();
/// assert_eq!(report.moved, [id.clone()]);
/// let new = Client::<v2::door::Flow>::new(store);
/// assert_eq!(new.state(&id).await.unwrap(), v2::door::Closed {}.into());
/// # }
/// ```
pub struct Migration<Old: Workflow, New: Workflow, F> {
    store: Arc<dyn Store>,
    map: F,
    worker: WorkerId,
    _flows: core::marker::PhantomData<fn(Old) -> New>,
}

impl<Old: Workflow, New: Workflow, F> core::fmt::Debug for Migration<Old, New, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Migration")
            .field("flow", &Old::DEFINITION.name())
            .field("from", &Old::DEFINITION.fingerprint())
            .field("to", &New::DEFINITION.fingerprint())
            .finish_non_exhaustive()
    }
}

/// How long a migration holds an instance's claim: it writes it at once.
const HOLD_MS: u64 = 30_000;

impl<Old, New, F> Migration<Old, New, F>
where
    Old: Durable,
    New: Durable,
    F: Fn(Old::State) -> Mapped<New::State>,
{
    /// A migration of the instances in `store` from `Old` to `New` through `map`.
    pub fn new(store: Arc<dyn Store>, map: F) -> Self {
        const {
            assert!(
                same_name(Old::DEFINITION, New::DEFINITION),
                "a migration moves instances between two definitions of one flow: the old and the new flow must have the same name"
            );
        }
        Self {
            store,
            map,
            worker: WorkerId::new("migration"),
            _flows: core::marker::PhantomData,
        }
    }

    /// Migrates every unfinished instance of the flow that runs the old definition, one
    /// write each, and says what became of each.
    ///
    /// # Errors
    ///
    /// The store's error if the instances cannot be listed; an instance the store fails to
    /// write is among the refused.
    pub async fn all(&self) -> Result<MigrationReport, StoreError> {
        let def = Old::DEFINITION;
        let mut report = MigrationReport::default();
        for summary in self.store.unfinished(def.name()).await? {
            if summary.fingerprint != def.fingerprint() {
                continue;
            }
            match self.instance(&summary.id).await {
                Ok(Migrated::Moved { .. }) => report.moved.push(summary.id),
                Ok(Migrated::Kept) => report.kept.push(summary.id),
                Ok(Migrated::AlreadyNew) => {}
                Err(error) => report.refused.push(error),
            }
        }
        Ok(report)
    }

    /// Migrates instance `id`, in one write.
    ///
    /// # Errors
    ///
    /// A [`MigrateError`] saying why not; nothing of the instance changed.
    pub async fn instance(&self, id: &InstanceId) -> Result<Migrated, MigrateError> {
        let flow = Old::DEFINITION.name();
        let now = now_ms();
        let lease = Lease::new(self.worker.clone(), now, now + HOLD_MS);
        let store_error = |e: StoreError| MigrateError::Store(Arc::new(e));
        let Some(claimed) = self
            .store
            .claim(flow, id, &lease)
            .await
            .map_err(store_error)?
        else {
            return Err(
                match self.store.load(flow, id).await.map_err(store_error)? {
                    Some(snapshot) if snapshot.status.is_finished() => {
                        MigrateError::Ended { id: id.clone() }
                    }
                    Some(_) => MigrateError::Busy { id: id.clone() },
                    None => MigrateError::Store(Arc::new(StoreError::NotFound {
                        flow: flow.into(),
                        id: id.clone(),
                    })),
                },
            );
        };
        let rewritten = self.rewrite(&claimed.snapshot);
        match rewritten {
            Ok(Some((snapshot, state))) => {
                self.write(&claimed.claim, &claimed.snapshot, snapshot)
                    .await
                    .map_err(store_error)?;
                Ok(Migrated::Moved { state })
            }
            other => {
                self.store
                    .release(&claimed.claim)
                    .await
                    .map_err(store_error)?;
                other.map(|none| match none {
                    None if claimed.snapshot.fingerprint == New::DEFINITION.fingerprint() => {
                        Migrated::AlreadyNew
                    }
                    _ => Migrated::Kept,
                })
            }
        }
    }

    /// Writes `snapshot`, the instance `old` rewritten, with its record, and hands the claim
    /// back: the new definition's workers take it at once.
    async fn write(
        &self,
        claim: &Claim,
        old: &Snapshot,
        mut snapshot: Snapshot,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        snapshot.seq = old.seq + 1;
        snapshot.at_ms = now;
        let record = Record::new(
            snapshot.seq,
            now,
            RecordKind::Migrated {
                from: old.fingerprint,
                to: snapshot.fingerprint,
                from_state: old.state_name.clone(),
            },
            snapshot.state_name.clone(),
        );
        let commit = Commit::new(snapshot, vec![record], Wake::Now)
            .migrating()
            .releasing();
        self.store.commit(claim, commit).await
    }

    /// The instance `old` under the new definition, and the new state's name; `None` when
    /// the mapping keeps it (or it runs the new one already).
    fn rewrite(&self, old: &Snapshot) -> Result<Option<(Snapshot, &'static str)>, MigrateError> {
        let (from, to) = (Old::DEFINITION, New::DEFINITION);
        let id = &old.id;
        if old.fingerprint == to.fingerprint() {
            return Ok(None);
        }
        if old.fingerprint != from.fingerprint() {
            return Err(MigrateError::OtherVersion {
                id: id.clone(),
                flow: from.name(),
            });
        }
        if old.status.is_finished() {
            return Err(MigrateError::Ended { id: id.clone() });
        }
        let unreadable = |reason: String| MigrateError::Unreadable {
            id: id.clone(),
            reason,
        };
        let state = codec::decode::<Old::State>(&old.state)
            .map_err(|e| unreadable(format!("its state is not a state of the old flow: {e}")))?;
        let Mapped::To(state) = (self.map)(state) else {
            return Ok(None);
        };
        let target = &to.states()[state.index()];
        if target.is_final() {
            return Err(MigrateError::ToFinal {
                id: id.clone(),
                to: target.name(),
            });
        }
        let mut snapshot = old.clone();
        snapshot.fingerprint = to.fingerprint();
        snapshot.state_name = target.name().into();
        snapshot.state = codec::encode_state(&state).map_err(|e| unreadable(e.to_string()))?;
        snapshot.work = carry_work(old, state.index(), to)?;
        snapshot.chain = old
            .chain
            .iter()
            .map(|entry| self.carry_undo(id, entry))
            .collect::<Result<_, _>>()?;
        snapshot.timer = carry_timer::<New>(old.timer.as_ref(), &state, now_ms());
        // The new definition must read back what was written, as a worker will.
        Machine::<New>::restore(&snapshot)
            .map_err(|reason| unreadable(format!("the new flow cannot read it: {reason}")))?;
        Ok(Some((snapshot, target.name())))
    }

    /// A compensation chain entry under the new definition: its state mapped as the
    /// instance's is, its undo the new flow's of the same name, for the state it lands in.
    fn carry_undo(&self, id: &InstanceId, entry: &ChainEntry) -> Result<ChainEntry, MigrateError> {
        let (from, to) = (Old::DEFINITION, New::DEFINITION);
        let refuse = |reason: String| MigrateError::Undo {
            id: id.clone(),
            undo: entry.undo.to_string(),
            reason,
        };
        if entry.child.is_some() {
            // A held child is compensated by its own flow: the step keeps its name.
            return Ok(entry.clone());
        }
        let old_undo = from.undos().iter().find(|u| u.name() == entry.undo);
        let Some(new_undo) = to.undos().iter().find(|u| u.name() == entry.undo) else {
            return Err(refuse("is not an undo of the new flow".into()));
        };
        if old_undo.is_some_and(|u| u.part().is_some()) {
            // A part's undo receives the part's output, which no state mapping changes.
            return Ok(entry.clone());
        }
        let state = codec::decode::<Old::State>(&entry.state)
            .map_err(|e| refuse(format!("holds a state the old flow cannot read: {e}")))?;
        let Mapped::To(state) = (self.map)(state) else {
            return Err(refuse(
                "holds a state the mapping keeps on the old flow".into(),
            ));
        };
        if state.index() != new_undo.state() {
            return Err(refuse(format!(
                "undoes `{}` in the new flow, and its state maps to `{}`",
                to.states()[new_undo.state()].name(),
                state.name()
            )));
        }
        let mut carried = entry.clone();
        carried.state = codec::encode_state(&state).map_err(|e| refuse(e.to_string()))?;
        Ok(carried)
    }
}

/// The pending work of `old` under the new definition, in state `state` of `to`.
fn carry_work(
    old: &Snapshot,
    state: usize,
    to: &'static Definition,
) -> Result<Option<Work>, MigrateError> {
    let id = &old.id;
    match &old.work {
        None => Ok(None),
        Some(Work::Compensation(_)) => Err(MigrateError::Compensating { id: id.clone() }),
        Some(Work::Step(step)) => {
            if !step.parts.is_empty() || step.child.is_some() || step.given_up.is_some() {
                return Err(MigrateError::PartsInProgress {
                    id: id.clone(),
                    step: step.transition.to_string(),
                });
            }
            let taken = to
                .transition_index(&step.transition)
                .is_some_and(|t| to.transitions()[t].sources().contains(&state));
            if !taken {
                return Err(MigrateError::StepInProgress {
                    id: id.clone(),
                    step: step.transition.to_string(),
                    from: old.state_name.to_string(),
                    to: to.states()[state].name(),
                });
            }
            // The same step, with its key and its attempts: an attempt cut short is made
            // again under its key.
            Ok(old.work.clone())
        }
    }
}

/// The timer of an instance now in `state` of flow `New`: the old one kept when the new state
/// has a timer of the same transition, else the new state's armed from `now_ms`.
fn carry_timer<New: Durable>(
    old: Option<&Timer>,
    state: &New::State,
    now_ms: u64,
) -> Option<Timer> {
    let def = New::DEFINITION;
    let (transition, wait) = def.timer(state.index())?;
    let name = def.transitions()[transition].name();
    if let Some(old) = old.filter(|t| t.transition == name) {
        return Some(old.clone());
    }
    let wait = match wait {
        Wait::Fixed(duration) => duration,
        Wait::Field(field) => New::duration(state, field).unwrap_or_default(),
    };
    let due = now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
    Some(Timer::new(name, due))
}

/// Whether two definitions have the same name (in a constant).
const fn same_name(a: &Definition, b: &Definition) -> bool {
    let (a, b) = (a.name().as_bytes(), b.name().as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
