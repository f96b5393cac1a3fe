//! The async driver: runs flow instances on tokio, from their initial state to a final one.
//!
//! A [`Runtime`] hosts the instances of one flow. Each instance is a task that takes automatic
//! transitions as soon as it can, applies events and fires `after` timers between steps, retries
//! failed attempts with exponential backoff and a timeout per attempt, and unwinds its
//! compensation chain when a step fails for good or the instance is cancelled. Every
//! transition is written to the [`Store`] in one record before the
//! instance acts on it.

mod instance;
mod mailbox;
mod outcome;
mod policy;
mod timers;

pub use outcome::{Finished, Rejected, Resumed, RuntimeError};

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::oneshot;

use self::instance::Driver;
use self::mailbox::{End, Mailbox, Message};
use self::timers::Timers;
use crate::store::{MemoryStore, Record, RecordKind, Snapshot, Status, Store, Summary, Timer};
use crate::{Dispatch, FlowState, InstanceId, Workflow};

/// A flow the driver can run with activities `A`: its states and events can be stored, and
/// its activities' errors described. Implemented for every generated `Flow` whose states and
/// events derive `Clone`, `Serialize` and `Deserialize`.
pub trait Runnable<A>: Dispatch<A, Error: fmt::Display + Send> + 'static
where
    Self::State: Clone + Serialize + DeserializeOwned,
    Self::Event: Clone + Serialize + DeserializeOwned,
{
}

impl<W, A> Runnable<A> for W
where
    W: Dispatch<A, Error: fmt::Display + Send> + 'static,
    W::State: Clone + Serialize + DeserializeOwned,
    W::Event: Clone + Serialize + DeserializeOwned,
{
}

/// Runs instances of flow `W` with activities `A`.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::runtime::{Finished, Runtime};
///
/// workflow! {
///     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///     pub Door {
///         initial Closed { opens: u32 }
///         final Open { opens: u32 }
///         open: Closed -> Open;
///     }
/// }
///
/// struct Hinges;
///
/// impl door::Activities for Hinges {
///     type Error = String;
///     async fn open(&self, from: &door::Closed, _: &StepCtx) -> Result<door::Open, String> {
///         Ok(door::Open { opens: from.opens + 1 })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let runtime = Runtime::<door::Flow, _>::new(Hinges);
/// let id = runtime.start_with_id("front", door::Closed { opens: 0 }).await.unwrap();
/// let finished = runtime.outcome(&id).await.unwrap();
/// assert_eq!(finished, Finished::Completed(door::State::Open(door::Open { opens: 1 })));
/// # }
/// ```
pub struct Runtime<W: Workflow, A> {
    shared: Arc<Shared<W, A>>,
}

/// What the runtime and every instance task share.
pub(crate) struct Shared<W: Workflow, A> {
    pub(crate) activities: A,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) timers: Arc<Timers<W>>,
    instances: Mutex<HashMap<InstanceId, Registered<W>>>,
}

/// A running instance: how callers reach it, and its task.
struct Registered<W: Workflow> {
    mailbox: Arc<Mailbox<W>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl<W: Workflow, A> Clone for Runtime<W, A> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<W: Workflow, A> fmt::Debug for Runtime<W, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flow", &W::DEFINITION.name())
            .finish_non_exhaustive()
    }
}

impl<W: Workflow, A> Shared<W, A> {
    fn instances(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceId, Registered<W>>> {
        // Each critical section is one map operation: a poisoned lock holds a consistent map.
        self.instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn mailbox(&self, id: &InstanceId) -> Option<Arc<Mailbox<W>>> {
        self.instances()
            .get(id)
            .map(|registered| Arc::clone(&registered.mailbox))
    }

    pub(crate) fn forget(&self, id: &InstanceId) {
        self.instances().remove(id);
    }
}

impl<W, A> Runtime<W, A>
where
    W: Runnable<A>,
    W::State: Clone + Serialize + DeserializeOwned,
    W::Event: Clone + Serialize + DeserializeOwned,
    A: Send + Sync + 'static,
{
    /// A runtime keeping its instances in memory.
    pub fn new(activities: A) -> Self {
        Self::with_store(activities, Arc::new(MemoryStore::new()))
    }

    /// A runtime keeping its instances in `store`.
    pub fn with_store(activities: A, store: Arc<dyn Store>) -> Self {
        Self {
            shared: Arc::new(Shared {
                activities,
                store,
                instances: Mutex::new(HashMap::new()),
                timers: Arc::new(Timers::new()),
            }),
        }
    }

    /// The activities instances run with.
    #[must_use]
    pub fn activities(&self) -> &A {
        &self.shared.activities
    }

    /// The store instances are kept in.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Carries on with every unfinished instance of the flow in the store, each from its last
    /// record: what a process does when it starts again after a crash, a deploy or a restart.
    ///
    /// An instance resumes as if it had not stopped: an `after` timer fires when it was due
    /// (at once if that time has passed), a retry waits out what is left of its wait, an
    /// attempt that was running is made again with its idempotency key unchanged and with what
    /// was left of its timeout. An instance already running in this runtime is left alone.
    ///
    /// An instance stored under another definition of the flow (its fingerprint differs) is
    /// refused, and left exactly as it was: see [`Resumed::refused`].
    ///
    /// # Errors
    ///
    /// The store's error, if it cannot list the unfinished instances; nothing is resumed.
    pub async fn resume(&self) -> Result<Resumed, RuntimeError> {
        let definition = W::DEFINITION;
        let mut resumed = Resumed::default();
        for snapshot in self.shared.store.unfinished(definition.name()).await? {
            if self.shared.mailbox(&snapshot.id).is_some() {
                continue;
            }
            match resumable::<W>(&snapshot) {
                Ok(state) => {
                    resumed.instances.push(snapshot.id.clone());
                    self.spawn(Driver::resume(Arc::clone(&self.shared), &snapshot, state));
                }
                Err(error) => {
                    tracing::error!(flow = definition.name(), instance = %snapshot.id, %error, "not resumed");
                    resumed.refused.push(error);
                }
            }
        }
        tracing::info!(
            flow = definition.name(),
            resumed = resumed.instances.len(),
            refused = resumed.refused.len(),
            "resumed unfinished instances"
        );
        Ok(resumed)
    }

    /// Starts an instance in `state`, with a new random id.
    ///
    /// # Errors
    ///
    /// The store's error, with the state handed back.
    pub async fn start(
        &self,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        self.start_with_id(InstanceId::random(), state).await
    }

    /// Starts an instance called `id` in `state`.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Duplicate`] if an instance has this id (running or ended), or the
    /// store's error; the state is handed back and nothing is written.
    pub async fn start_with_id(
        &self,
        id: impl Into<InstanceId>,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        let id = id.into();
        let state = state.into();
        let definition = W::DEFINITION;
        let encoded = match outcome::encode(&id, "the initial state", &state) {
            Ok(encoded) => encoded,
            Err(error) => return Err(Rejected::new(error, state)),
        };
        let timer = definition.timer(state.index()).map(|(t, wait)| Timer {
            transition: definition.transitions()[t].name().to_string(),
            due_ms: policy::now_ms()
                .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
        });
        let snapshot = Snapshot {
            flow: definition.name().to_string(),
            fingerprint: definition.fingerprint().as_u64(),
            id: id.clone(),
            seq: 1,
            at_ms: policy::now_ms(),
            status: Status::Running,
            state_name: state.name().to_string(),
            state: encoded,
            chain: Vec::new(),
            timer,
            pending: None,
            ending: None,
        };
        let record = Record {
            seq: 1,
            at_ms: policy::now_ms(),
            kind: RecordKind::Started,
            state_name: state.name().to_string(),
        };
        let driver = Driver::resume(Arc::clone(&self.shared), &snapshot, state);
        match self.shared.store.create(snapshot, record).await {
            Ok(()) => self.spawn(driver),
            Err(crate::store::StoreError::Duplicate { .. }) => {
                return Err(Rejected::new(
                    RuntimeError::Duplicate(id),
                    driver.into_state(),
                ));
            }
            Err(error) => return Err(Rejected::new(error.into(), driver.into_state())),
        }
        Ok(id)
    }

    /// Runs an instance's task, registered so that callers can reach it.
    fn spawn(&self, driver: Driver<W, A>) {
        let id = driver.id().clone();
        let mailbox = Arc::new(Mailbox::new());
        // Registered before it runs, so that it can unregister itself when it ends.
        self.shared.instances().insert(
            id.clone(),
            Registered {
                mailbox: Arc::clone(&mailbox),
                task: None,
            },
        );
        let task = tokio::spawn(driver.run(mailbox));
        if let Some(registered) = self.shared.instances().get_mut(&id) {
            registered.task = Some(task);
        }
    }

    /// Stops every instance where it is, as if the process ended: an attempt in progress is
    /// dropped, and nothing more is recorded. Resolves once every instance task has stopped.
    ///
    /// What each instance recorded stays in the store: a runtime opened on it later (in this
    /// process or the next) carries on with them with [`Runtime::resume`], running a dropped
    /// attempt again with the same idempotency key. Callers waiting on an instance get
    /// [`RuntimeError::Stalled`].
    pub async fn shutdown(&self) {
        let stopping: Vec<(InstanceId, Registered<W>)> = self.shared.instances().drain().collect();
        for (_, registered) in &stopping {
            if let Some(task) = &registered.task {
                task.abort();
            }
        }
        for (id, registered) in stopping {
            if let Some(task) = registered.task {
                // Cancelled, as asked (or it had just ended): either way it has stopped.
                let _ = task.await;
            }
            let reason = "the runtime shut down; it resumes from its last record".to_string();
            for message in registered.mailbox.close(End::Stalled(reason.clone())) {
                let (Message::Event(_, reply) | Message::Cancel(reply)) = message;
                let _ = reply.send(Err(RuntimeError::Stalled {
                    id: id.clone(),
                    reason: reason.clone(),
                }));
            }
        }
    }

    /// Sends `event` to instance `id`. It is applied between steps: if the instance is in the
    /// middle of an attempt, this waits for the attempt to end. Resolves once the event is
    /// accepted (and recorded); its transition then runs.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::NotAccepted`] if the instance's state has no transition for the event,
    /// [`RuntimeError::Ended`] or [`RuntimeError::Unknown`]; the event is handed back and
    /// nothing changes.
    pub async fn send(
        &self,
        id: &InstanceId,
        event: impl Into<W::Event>,
    ) -> Result<(), Rejected<W::Event>> {
        let event = event.into();
        let Some(mailbox) = self.shared.mailbox(id) else {
            return Err(Rejected::new(self.absent(id).await, event));
        };
        // The instance gets a copy; the original comes back with any refusal.
        let (reply, answer) = oneshot::channel();
        if mailbox.post(Message::Event(event.clone(), reply)).is_err() {
            return Err(Rejected::new(self.absent(id).await, event));
        }
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(Rejected::new(error, event)),
            Err(_) => Err(Rejected::new(self.absent(id).await, event)),
        }
    }

    /// Cancels instance `id`: between steps, its compensation chain unwinds, newest first, and
    /// it ends [`Finished::Cancelled`]. Resolves once the cancel is recorded; wait for
    /// [`Runtime::outcome`] to see the unwinding's report.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::AlreadyCancelling`] for a second cancel, [`RuntimeError::Ended`] or
    /// [`RuntimeError::Unknown`]; nothing changes.
    pub async fn cancel(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        let Some(mailbox) = self.shared.mailbox(id) else {
            return Err(self.absent(id).await);
        };
        if !mailbox.start_cancelling() {
            return Err(RuntimeError::AlreadyCancelling(id.clone()));
        }
        let (reply, answer) = oneshot::channel();
        if mailbox.post(Message::Cancel(reply)).is_err() {
            mailbox.stop_cancelling();
            return Err(self.absent(id).await);
        }
        match answer.await {
            Ok(result) => result,
            Err(_) => Err(self.absent(id).await),
        }
    }

    /// Waits until instance `id` ends, and says how.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], [`RuntimeError::Stalled`] if its store failed, or the
    /// store's error.
    pub async fn outcome(&self, id: &InstanceId) -> Result<Finished<W::State>, RuntimeError> {
        if let Some(mailbox) = self.shared.mailbox(id) {
            return match mailbox.ending().await {
                End::Finished(finished) => Ok(finished),
                End::Stalled(reason) => Err(RuntimeError::Stalled {
                    id: id.clone(),
                    reason,
                }),
            };
        }
        let snapshot = self.load(id).await?;
        match outcome::finished_from_snapshot(W::DEFINITION, &snapshot)? {
            Some(finished) => Ok(finished),
            None => Err(not_running::<W>(&snapshot)),
        }
    }

    /// The state instance `id` is in, as last recorded.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], or a store or decoding error.
    pub async fn state(&self, id: &InstanceId) -> Result<W::State, RuntimeError> {
        let snapshot = self.load(id).await?;
        outcome::decode_state(&snapshot)
    }

    /// Every instance of the flow in the store, running or ended.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn list(&self) -> Result<Vec<Summary>, RuntimeError> {
        Ok(self.shared.store.list(W::DEFINITION.name()).await?)
    }

    /// Instance `id`'s records, in order.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn history(&self, id: &InstanceId) -> Result<Vec<Record>, RuntimeError> {
        Ok(self.shared.store.history(W::DEFINITION.name(), id).await?)
    }

    async fn load(&self, id: &InstanceId) -> Result<Snapshot, RuntimeError> {
        self.shared
            .store
            .load(W::DEFINITION.name(), id)
            .await?
            .ok_or_else(|| RuntimeError::Unknown(id.clone()))
    }

    /// Why instance `id` cannot take a request: it ended, or it does not exist.
    async fn absent(&self, id: &InstanceId) -> RuntimeError {
        match self.shared.store.load(W::DEFINITION.name(), id).await {
            Ok(Some(snapshot)) if snapshot.status.is_finished() => RuntimeError::Ended {
                id: id.clone(),
                status: snapshot.status,
                state: outcome::static_state_name(W::DEFINITION, &snapshot.state_name),
            },
            Ok(Some(snapshot)) => not_running::<W>(&snapshot),
            Ok(None) => RuntimeError::Unknown(id.clone()),
            Err(error) => error.into(),
        }
    }
}

/// The state of a stored, unfinished instance, if this version of the flow may resume it.
fn resumable<W: Workflow>(snapshot: &Snapshot) -> Result<W::State, RuntimeError>
where
    W::State: DeserializeOwned,
{
    let definition = W::DEFINITION;
    let current = definition.fingerprint().as_u64();
    if snapshot.fingerprint != current {
        return Err(RuntimeError::DefinitionChanged {
            flow: definition.name(),
            id: snapshot.id.clone(),
            stored: snapshot.fingerprint,
            current,
        });
    }
    outcome::decode_state(snapshot)
}

/// Why a stored instance that has not ended takes no requests here.
fn not_running<W: Workflow>(snapshot: &Snapshot) -> RuntimeError
where
    W::State: DeserializeOwned,
{
    match resumable::<W>(snapshot) {
        Err(refused) => refused,
        Ok(_) => RuntimeError::Stalled {
            id: snapshot.id.clone(),
            reason: "it is not running in this runtime; `Runtime::resume` carries on with it"
                .to_string(),
        },
    }
}

/// Names the events state `state` accepts, for error messages.
pub(crate) fn accepted_events(definition: &crate::Definition, state: usize) -> String {
    let names: Vec<String> = definition.states()[state]
        .on()
        .iter()
        .filter_map(|&t| match definition.transitions()[t].trigger() {
            crate::Trigger::On { event } => {
                Some(format!("`{}`", definition.events()[event].name()))
            }
            _ => None,
        })
        .collect();
    if names.is_empty() {
        "no events".to_string()
    } else {
        names.join(", ")
    }
}
