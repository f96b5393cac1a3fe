//! The host: one worker process's side of the store. It runs any number of flows on one store,
//! with one timer service, and drives each instance it holds the claim of: those it starts,
//! and those it claims from the store when they need a worker (a message arrives, a timer
//! comes due, a lease ends). Instances that wait leave its memory once it keeps as many as
//! it may; the store keeps them until an input arrives.

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::client::Client;
use super::control::{Control, FlowControl};
use super::instance::{Driven, Exit, restored};
use super::machine::{Effects, Machine};
use super::outcome::{Resumed, RuntimeError};
use super::policy::{due_in, instant_of, now_ms};
use super::timers::{Timers, Wakeup};
use super::{Durable, Runnable};
use crate::InstanceId;
use crate::store::{
    Claim, Claimed, FlowVersion, Lease, MemoryStore, Notice, Store, StoreError, WorkerId,
};

/// How many instances a sweep claims at a time.
const SWEEP_BATCH: usize = 256;

/// Runs flows on a store: any number of flows, one store, one timer service.
///
/// Cheap to clone: clones share the host. Hand out a [`Client`] per flow with
/// [`Host::client`].
///
/// ```
/// use std::sync::Arc;
/// use workflow_core::prelude::*;
/// use workflow_core::runtime::{Host, Outcome};
/// use workflow_core::store::MemoryStore;
///
/// workflow! {
///     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///     pub Door {
///         initial Closed {}
///         final Open {}
///         open: Closed -> Open;
///     }
/// }
///
/// struct Hinges;
///
/// impl door::Activities for Hinges {
///     type Error = String;
///     async fn open(&self, _: &door::Closed, _: &StepCtx) -> Result<door::Open, String> {
///         Ok(door::Open {})
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let host = Host::builder()
///     .store(Arc::new(MemoryStore::new()))
///     .flow(door::Flow, Hinges)
///     .build();
/// let doors = host.client::<door::Flow>();
/// let id = doors.start(door::Closed {}).await.unwrap();
/// assert_eq!(doors.outcome(&id).await.unwrap(), Outcome::Completed(door::State::Open(door::Open {})));
/// host.shutdown().await;
/// # }
/// ```
#[derive(Clone)]
pub struct Host {
    shared: Arc<HostShared>,
}

/// Builds a [`Host`]: its store, its flows, its worker id and lease.
#[must_use = "a builder does nothing until `build` is called"]
pub struct HostBuilder {
    store: Option<Arc<dyn Store>>,
    flows: Vec<Arc<dyn Hosted>>,
    controls: Vec<(&'static str, &'static str, FlowControl)>,
    worker: Option<WorkerId>,
    lease: Duration,
    keep_waiting: usize,
}

/// What a host's tasks share.
pub(crate) struct HostShared {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) worker: WorkerId,
    pub(crate) timers: Arc<Timers>,
    lease: Duration,
    keep_waiting: usize,
    waiting: AtomicUsize,
    flows: crate::FastMap<&'static str, Arc<dyn Hosted>>,
    versions: Vec<FlowVersion>,
    active: Mutex<crate::FastMap<Key, Active>>,
    stalled: Mutex<crate::FastMap<Key, Arc<StoreError>>>,
    unreadable: Mutex<crate::FastMap<Key, (Claim, String)>>,
    /// Instances this host handed back because another version of their flow wrote them:
    /// their hand-back is not claimed again here (it would be handed back again, forever).
    other_versions: Mutex<crate::FastSet<Key>>,
    background: Mutex<Vec<JoinHandle<()>>>,
    started: AtomicBool,
    shut_down: AtomicBool,
    sweep: Arc<Wakeup>,
    /// The earliest time a sweep is registered with the timers for (`u64::MAX`: none), so
    /// that instances handed back with later timers do not each register one: the sweep
    /// then finds the next due time in the store.
    sweep_armed_ms: AtomicU64,
    /// Flow control by flow and step.
    controls: crate::FastMap<(&'static str, &'static str), Arc<Control>>,
}

/// An instance by flow and id.
type Key = (String, InstanceId);

/// An instance driven here.
struct Active {
    claim: Claim,
    wakeup: Arc<Wakeup>,
    task: Option<JoinHandle<()>>,
}

/// One flow a host runs, with its activities, with the flow's types erased.
pub(crate) trait Hosted: Send + Sync + 'static {
    fn version(&self) -> FlowVersion;

    fn definition(&self) -> &'static crate::Definition;

    /// Restores a claimed instance and runs it; `Err` with the reason if its stored data
    /// cannot be read as this flow's.
    fn activate(self: Arc<Self>, host: &Arc<HostShared>, claimed: Claimed) -> Result<(), String>;

    /// Runs an instance just started here: `started` is its `Machine<W>` and `Effects`.
    fn adopt(self: Arc<Self>, host: &Arc<HostShared>, claim: Claim, started: Box<dyn Any + Send>);
}

/// A flow and its activities.
pub(crate) struct FlowRunner<W, A> {
    pub(crate) activities: Arc<A>,
    _flow: std::marker::PhantomData<fn() -> W>,
}

impl<W, A> FlowRunner<W, A>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    fn spawn(
        self: Arc<Self>,
        host: &Arc<HostShared>,
        claim: Claim,
        machine: Machine<W>,
        fx: Effects,
        fed: Option<crate::store::MessageId>,
    ) {
        let wakeup = Arc::new(Wakeup::default());
        let key = (claim.flow.to_string(), claim.id.clone());
        let driven = Driven {
            host: Arc::clone(host),
            flow: self,
            claim: claim.clone(),
            machine,
            wakeup: Arc::clone(&wakeup),
            fx,
            fed,
            hot: false,
            waking_at: None,
            parts: None,
        };
        let replaced = host.active().insert(
            key.clone(),
            Active {
                claim,
                wakeup,
                task: None,
            },
        );
        if let Some(old) = replaced {
            // Our own earlier claim, lost: its writes are refused from now on.
            old.wakeup.stop();
        }
        let task = tokio::spawn(driven.run());
        if let Some(active) = host.active().get_mut(&key) {
            active.task = Some(task);
        }
    }
}

/// Warns of each child flow a hosted flow starts and this host does not run: the parent's
/// step waits until a host that runs it drives the child.
fn warn_of_children_run_elsewhere(flows: &crate::FastMap<&'static str, Arc<dyn Hosted>>) {
    for flow in flows.values() {
        let parent = flow.definition();
        for step in parent.transitions() {
            let Some(child) = step.child() else {
                continue;
            };
            if !flows.contains_key(child.name()) {
                tracing::warn!(
                    flow = parent.name(),
                    step = step.name(),
                    child_flow = child.name(),
                    "this host does not run the child flow: the step waits until a host that runs it drives the child"
                );
            }
        }
    }
}

impl<W, A> Hosted for FlowRunner<W, A>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    fn version(&self) -> FlowVersion {
        FlowVersion::new(W::DEFINITION.name(), W::DEFINITION.fingerprint())
    }

    fn definition(&self) -> &'static crate::Definition {
        W::DEFINITION
    }

    fn activate(self: Arc<Self>, host: &Arc<HostShared>, claimed: Claimed) -> Result<(), String> {
        let Claimed {
            claim,
            snapshot,
            inbox,
        } = claimed;
        let (machine, fx, fed) = restored::<W>(&snapshot, inbox)?;
        self.spawn(host, claim, machine, fx, fed);
        Ok(())
    }

    fn adopt(self: Arc<Self>, host: &Arc<HostShared>, claim: Claim, started: Box<dyn Any + Send>) {
        if let Ok(started) =
            started.downcast::<(Machine<W>, Effects, Option<crate::store::MessageId>)>()
        {
            let (machine, fx, fed) = *started;
            self.spawn(host, claim, machine, fx, fed);
        }
    }
}

impl Default for HostBuilder {
    fn default() -> Self {
        Self {
            store: None,
            flows: Vec::new(),
            controls: Vec::new(),
            worker: None,
            lease: Duration::from_secs(30),
            keep_waiting: 10_000,
        }
    }
}

impl HostBuilder {
    /// The store the host's instances live in (a [`MemoryStore`] if none is given).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Runs flow `W` (its generated `Flow` marker) with `activities`. Activities can be
    /// shared between flows and hosts: pass an `Arc` of them.
    ///
    /// # Panics
    ///
    /// If the host already runs a flow with `W`'s name.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the flow's marker value names the flow, so that `W` is inferred"
    )]
    pub fn flow<W, A>(mut self, flow: W, activities: A) -> Self
    where
        W: Runnable<A>,
        A: Send + Sync + 'static,
    {
        let _ = flow;
        self.flows.push(Arc::new(FlowRunner::<W, A> {
            activities: Arc::new(activities),
            _flow: std::marker::PhantomData,
        }));
        self
    }

    /// Runs flow `W` with activities already in an `Arc`: the caller keeps a handle on them.
    pub(crate) fn flow_shared<W, A>(mut self, activities: Arc<A>) -> Self
    where
        W: Runnable<A>,
        A: Send + Sync + 'static,
    {
        self.flows.push(Arc::new(FlowRunner::<W, A> {
            activities,
            _flow: std::marker::PhantomData,
        }));
        self
    }

    /// The worker id its claims are held under (a new random one by default). Give each
    /// worker process its own.
    pub fn worker(mut self, worker: WorkerId) -> Self {
        self.worker = Some(worker);
        self
    }

    /// How long a claim holds without renewal (30 seconds by default): after a worker dies,
    /// its instances wait this long before another worker takes them over. The host renews
    /// its claims three times per lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(30));
        self
    }

    /// How many waiting instances (for an event, a timer, a retry) the host keeps in memory
    /// (10,000 by default); the others wait in the store alone and are loaded when an input
    /// arrives. 0 keeps none.
    pub fn keep_waiting(mut self, instances: usize) -> Self {
        self.keep_waiting = instances;
        self
    }

    /// Limits the attempts of `step` (a transition or an undo) of flow `W` on this host:
    /// how many run at once, how many start per period, and a circuit breaker. The limits
    /// hold per host process: on a shared store, each worker process has its own.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use workflow_core::prelude::*;
    /// # use workflow_core::runtime::{FlowControl, Host};
    /// # workflow! {
    /// #     #[derive(Clone, serde::Serialize, serde::Deserialize)]
    /// #     pub Pay { initial Due {} final Paid {} charge: Due -> Paid; }
    /// # }
    /// let builder = Host::builder().control(
    ///     pay::Flow,
    ///     "charge",
    ///     FlowControl::new().concurrency(4).breaker(5, Duration::from_secs(30)),
    /// );
    /// # let _ = builder;
    /// ```
    ///
    /// # Panics
    ///
    /// If `W` has no transition or undo called `step`, or it already has limits here.
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the flow's marker value names the flow, so that `W` is inferred"
    )]
    pub fn control<W: Durable>(mut self, flow: W, step: &str, control: FlowControl) -> Self {
        let _ = flow;
        let def = W::DEFINITION;
        let named = def
            .transitions()
            .iter()
            .map(crate::TransitionDef::name)
            .chain(def.undos().iter().map(crate::UndoDef::name))
            .find(|name| *name == step);
        let Some(step) = named else {
            panic!(
                "flow `{}` has no transition or undo called `{step}`",
                def.name()
            );
        };
        assert!(
            !self
                .controls
                .iter()
                .any(|(f, s, _)| *f == def.name() && *s == step),
            "step `{step}` of flow `{}` is given limits twice",
            def.name()
        );
        self.controls.push((def.name(), step, control));
        self
    }

    /// The host. Its tasks start with its first use, in the tokio runtime it is used in.
    ///
    /// # Panics
    ///
    /// If two flows share a name.
    #[must_use]
    pub fn build(self) -> Host {
        let mut flows = crate::FastMap::default();
        let mut versions = Vec::new();
        for flow in self.flows {
            let version = flow.version();
            let name: &'static str = match &version.name {
                std::borrow::Cow::Borrowed(name) => name,
                std::borrow::Cow::Owned(name) => name.clone().leak(),
            };
            assert!(
                flows.insert(name, flow).is_none(),
                "the host runs two flows called `{name}`: give each flow its own name"
            );
            versions.push(version);
        }
        warn_of_children_run_elsewhere(&flows);
        Host {
            shared: Arc::new(HostShared {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                worker: self.worker.unwrap_or_else(WorkerId::random),
                timers: Arc::new(Timers::default()),
                lease: self.lease,
                keep_waiting: self.keep_waiting,
                waiting: AtomicUsize::new(0),
                flows,
                versions,
                active: Mutex::new(crate::FastMap::default()),
                stalled: Mutex::new(crate::FastMap::default()),
                unreadable: Mutex::new(crate::FastMap::default()),
                other_versions: Mutex::new(crate::FastSet::default()),
                background: Mutex::new(Vec::new()),
                started: AtomicBool::new(false),
                shut_down: AtomicBool::new(false),
                sweep: Arc::new(Wakeup::default()),
                sweep_armed_ms: AtomicU64::new(u64::MAX),
                controls: self
                    .controls
                    .iter()
                    .map(|(flow, step, config)| ((*flow, *step), Arc::new(Control::new(config))))
                    .collect(),
            }),
        }
    }
}

impl Host {
    /// A builder.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// A client for flow `W`: starts, sends to, cancels and reads its instances. Instances it
    /// starts are driven by this host at once, if it runs `W`.
    #[must_use]
    pub fn client<W: Durable>(&self) -> Client<W> {
        let runs = self
            .shared
            .flows
            .get(W::DEFINITION.name())
            .is_some_and(|flow| flow.version().fingerprint == W::DEFINITION.fingerprint());
        Client::bound(
            Arc::clone(&self.shared.store),
            runs.then(|| Arc::clone(&self.shared)),
        )
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// The worker id the host's claims are held under.
    #[must_use]
    pub fn worker(&self) -> &WorkerId {
        &self.shared.worker
    }

    /// Tells instance `id` of `flow`, if it is driven here, that a message was posted, at
    /// once rather than through the store's notice (which the host reads when its task next
    /// runs): the path runner posts a cancel while an activity runs that returns without
    /// yielding, and the instance must read it as that activity lands.
    pub(crate) fn posted_now(&self, flow: &str, id: &crate::InstanceId) {
        let key = (flow.to_string(), id.clone());
        if let Some(active) = self.shared.active().get(&key) {
            active.wakeup.posted();
        }
    }

    /// Carries on with every unfinished instance of the host's flows in the store: those
    /// due now (an interrupted attempt, an unanswered message, a timer that came due while
    /// nothing ran) are claimed and run at once, each from its last record; the others when
    /// their timer comes due or a message arrives. Instances another worker holds stay with
    /// it. Safe to call at any time and from several places at once: an instance is only
    /// ever driven by the holder of its claim.
    ///
    /// An instance stored under another definition of its flow (its fingerprint differs) is
    /// refused and left exactly as it was; so is one whose stored data cannot be read.
    ///
    /// # Errors
    ///
    /// The store's error, if it cannot be read.
    pub async fn resume(&self) -> Result<Resumed, RuntimeError> {
        self.shared.ensure_started();
        let mut resumed = Resumed {
            // What this call claimed may end before the store is listed: it is reported too.
            instances: self.shared.sweep_now().await?,
            refused: Vec::new(),
        };
        let mut listed: crate::FastSet<InstanceId> = resumed.instances.iter().cloned().collect();
        for version in &self.shared.versions {
            for summary in self.shared.store.unfinished(&version.name).await? {
                let key = (version.name.to_string(), summary.id.clone());
                if summary.fingerprint != version.fingerprint {
                    resumed.refused.push(RuntimeError::DefinitionChanged {
                        flow: static_name(&version.name),
                        id: summary.id,
                        stored: summary.fingerprint,
                        current: version.fingerprint,
                    });
                } else if let Some((_, reason)) = self.shared.unreadable().get(&key) {
                    resumed.refused.push(RuntimeError::Corrupt {
                        id: summary.id,
                        reason: reason.clone(),
                    });
                } else if listed.insert(summary.id.clone()) {
                    resumed.instances.push(summary.id);
                }
            }
        }
        resumed.instances.sort();
        // Stalled instances try their write again now.
        for key in self.shared.stalled_keys() {
            if let Some(active) = self.shared.active().get(&key) {
                active.wakeup.wake();
            }
        }
        for refused in &resumed.refused {
            warn!(%refused, "not resumed");
        }
        info!(
            resumed = resumed.instances.len(),
            refused = resumed.refused.len(),
            "resumed unfinished instances"
        );
        Ok(resumed)
    }

    /// Stops every instance where it is, as if the process ended, and hands their claims
    /// back: an attempt in progress is dropped, nothing more is recorded. Resolves once every
    /// task of the host has stopped.
    ///
    /// What each instance recorded stays in the store: a host on it later (in this process or
    /// the next) carries on with them, running a dropped attempt again with the same
    /// idempotency key. Callers waiting on an instance through this host get
    /// [`RuntimeError::ShutDown`].
    pub async fn shutdown(&self) {
        self.shared.shutdown().await;
    }
}

impl fmt::Debug for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("worker", &self.shared.worker)
            .field("flows", &self.shared.versions)
            .finish_non_exhaustive()
    }
}

fn static_name(name: &crate::store::Name) -> &'static str {
    match name {
        std::borrow::Cow::Borrowed(name) => name,
        std::borrow::Cow::Owned(_) => "(flow)",
    }
}

impl HostShared {
    fn active(&self) -> MutexGuard<'_, crate::FastMap<Key, Active>> {
        // Each critical section is one map operation: a poisoned lock holds a consistent map.
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn unreadable(&self) -> MutexGuard<'_, crate::FastMap<Key, (Claim, String)>> {
        self.unreadable
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn stalled_map(&self) -> MutexGuard<'_, crate::FastMap<Key, Arc<StoreError>>> {
        self.stalled.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stalled_keys(&self) -> Vec<Key> {
        self.stalled_map().keys().cloned().collect()
    }

    /// A lease starting now.
    pub(crate) fn lease_now(&self) -> Lease {
        let now = now_ms();
        Lease::new(self.worker.clone(), now, due_in(now, self.lease))
    }

    pub(crate) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::Acquire)
    }

    /// Why instance `id` of `flow` is stopped here, if it is.
    pub(crate) fn stalled(&self, flow: &str, id: &InstanceId) -> Option<Arc<StoreError>> {
        self.stalled_map()
            .get(&(flow.to_string(), id.clone()))
            .cloned()
    }

    pub(crate) fn stall(&self, claim: &Claim, error: StoreError) {
        let key = (claim.flow.to_string(), claim.id.clone());
        self.stalled_map().insert(key, Arc::new(error));
        self.store.watch().changed(&claim.flow, &claim.id);
    }

    pub(crate) fn unstall(&self, claim: &Claim) {
        let mut stalled = self.stalled_map();
        if !stalled.is_empty() {
            stalled.remove(&(claim.flow.to_string(), claim.id.clone()));
        }
    }

    /// Counts one more instance kept waiting in memory, if there is room.
    pub(crate) fn try_stay_hot(&self) -> bool {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.keep_waiting).then_some(n + 1)
            })
            .is_ok()
    }

    /// Sweeps the store at `at_ms`: an instance handed back waits there for its timer.
    /// The instance must be in the store already: a sweep registered for earlier finds it.
    pub(crate) fn sweep_at(&self, at_ms: u64) {
        if self.sweep_armed_ms.fetch_min(at_ms, Ordering::AcqRel) > at_ms {
            self.timers.wake_at(instant_of(at_ms), &self.sweep);
        }
    }

    pub(crate) fn leave_hot(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    /// An instance's task left.
    pub(crate) fn finished(self: &Arc<Self>, claim: &Claim, wakeup: &Arc<Wakeup>, exit: Exit) {
        let key = (claim.flow.to_string(), claim.id.clone());
        {
            let mut active = self.active();
            if active
                .get(&key)
                .is_some_and(|a| Arc::ptr_eq(&a.wakeup, wakeup))
            {
                active.remove(&key);
            }
        }
        // A message posted while the task was leaving reached it (under the same lock):
        // claim the instance again to deliver it.
        if matches!(exit, Exit::Released) && wakeup.take_posted() && !self.is_shut_down() {
            let host = Arc::clone(self);
            let (flow, id) = (claim.flow.to_string(), claim.id.clone());
            tokio::spawn(async move { host.claim_one(&flow, &id).await });
        }
    }

    /// Starts the host's background tasks, once, in the current tokio runtime.
    pub(crate) fn ensure_started(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) || self.is_shut_down() {
            return;
        }
        // Subscribed now, not when the task first runs: a message posted in between is seen.
        // The tasks hold the host weakly: when its last handle (and its last instance task)
        // is gone, the host and its store close, and the tasks end.
        let notices = self.store.watch().subscribe();
        let weak = Arc::downgrade(self);
        let tasks = vec![
            tokio::spawn(listen(weak.clone(), notices)),
            tokio::spawn(sweep_forever(
                weak.clone(),
                Arc::clone(&self.sweep),
                self.store.poll_interval(),
            )),
            tokio::spawn(renew_forever(weak, self.lease)),
        ];
        self.background
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(tasks);
    }

    /// Runs an instance just started here, under `claim`.
    /// The flow control of `step` of `flow` on this host, if it has any.
    pub(crate) fn control(&self, flow: &'static str, step: &'static str) -> Option<Arc<Control>> {
        if self.controls.is_empty() {
            return None;
        }
        self.controls.get(&(flow, step)).cloned()
    }

    pub(crate) fn adopt<W: Durable>(
        self: &Arc<Self>,
        claim: Claim,
        machine: Machine<W>,
        fx: Effects,
        fed: Option<crate::store::MessageId>,
    ) {
        if let Some(flow) = self.flows.get(W::DEFINITION.name()) {
            Arc::clone(flow).adopt(self, claim, Box::new((machine, fx, fed)));
        }
    }

    /// Drives a claimed instance, unless it is not this host's to run.
    async fn activate(self: &Arc<Self>, claimed: Claimed) {
        let claim = claimed.claim.clone();
        let runs = self
            .flows
            .get(&*claim.flow)
            .filter(|flow| flow.version().fingerprint == claimed.snapshot.fingerprint);
        let Some(flow) = runs else {
            // Another version's instance: leave it for the version that wrote it.
            self.other_versions
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert((claim.flow.to_string(), claim.id.clone()));
            let _ = self.store.release(&claim).await;
            return;
        };
        if let Err(reason) = Arc::clone(flow).activate(self, claimed) {
            self.park_unreadable(claim, reason);
        }
    }

    /// Keeps the claim of an instance whose stored data cannot be read, so that nobody loops
    /// on it, and reports it.
    fn park_unreadable(&self, claim: Claim, reason: String) {
        tracing::error!(flow = %claim.flow, instance = %claim.id, %reason, "instance cannot be read; it is left as it was");
        let key = (claim.flow.to_string(), claim.id.clone());
        self.unreadable().insert(key, (claim, reason));
    }

    /// Claims instance `id` of `flow`, if nobody holds it, and drives it.
    async fn claim_one(self: &Arc<Self>, flow: &str, id: &InstanceId) {
        if self.is_shut_down() || !self.flows.contains_key(flow) {
            return;
        }
        match self.store.claim(flow, id, &self.lease_now()).await {
            Ok(Some(claimed)) => self.activate(claimed).await,
            Ok(None) | Err(StoreError::NotFound { .. }) => {}
            Err(error) => warn!(%error, %flow, instance = %id, "cannot claim the instance"),
        }
    }

    /// Claims and drives every instance due now; returns those it claimed.
    async fn sweep_now(self: &Arc<Self>) -> Result<Vec<InstanceId>, StoreError> {
        let mut claimed = Vec::new();
        if self.versions.is_empty() {
            return Ok(claimed);
        }
        // This sweep reads the store after this point, and registers the next one itself.
        self.sweep_armed_ms.store(u64::MAX, Ordering::Release);
        loop {
            let due = self
                .store
                .claim_due(&self.versions, &self.lease_now(), SWEEP_BATCH)
                .await?;
            for (claim, error) in due.unreadable {
                self.park_unreadable(claim, error.to_string());
            }
            let full = due.claimed.len() == SWEEP_BATCH;
            for due in due.claimed {
                claimed.push(due.claim.id.clone());
                self.activate(due).await;
            }
            if !full {
                if let Some(next) = due.next_ms {
                    self.sweep_at(next);
                }
                return Ok(claimed);
            }
        }
    }

    async fn shutdown(self: &Arc<Self>) {
        self.shut_down.store(true, Ordering::Release);
        let background: Vec<JoinHandle<()>> = std::mem::take(
            &mut *self
                .background
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for task in &background {
            task.abort();
        }
        for task in background {
            let _ = task.await;
        }
        let stopping: Vec<Active> = self.active().drain().map(|(_, active)| active).collect();
        for active in &stopping {
            if let Some(task) = &active.task {
                task.abort();
            }
        }
        let mut claims = Vec::new();
        for active in stopping {
            if let Some(task) = active.task {
                // Cancelled, as asked (or it had just ended): either way it has stopped.
                let _ = task.await;
            }
            claims.push(active.claim);
        }
        claims.extend(self.unreadable().drain().map(|(_, (claim, _))| claim));
        for claim in &claims {
            let _ = self.store.release(claim).await;
            self.store.watch().changed(&claim.flow, &claim.id);
        }
        self.waiting.store(0, Ordering::Release);
    }
}

impl Drop for HostShared {
    fn drop(&mut self) {
        // Ends the sweeping task, which waits on this alone.
        self.sweep.stop();
        for task in self
            .background
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            task.abort();
        }
    }
}

/// Sweeps when woken (by the timer service, a lost notice, or a store that must be polled),
/// until the host is gone.
async fn sweep_forever(host: Weak<HostShared>, sweep: Arc<Wakeup>, poll: Option<Duration>) {
    loop {
        // The first sweep is `Host::resume`'s, which reports what it claimed: a host that is
        // never resumed takes new work (notices, its own instances' timers) but not what was
        // already due in the store when it started.
        match poll {
            Some(every) => {
                let _ = tokio::time::timeout(every, sweep.woken()).await;
            }
            None => sweep.woken().await,
        }
        if sweep.stopping() {
            return;
        }
        {
            let Some(host) = host.upgrade() else { return };
            if let Err(error) = host.sweep_now().await {
                warn!(%error, "cannot look for due instances; trying again");
                host.timers
                    .wake_at(tokio::time::Instant::now() + Duration::from_secs(1), &sweep);
            }
        }
    }
}

/// Acts on the store's notices: delivers messages to instances driven here, claims
/// instances created or handed back for any worker. Ends with the host.
async fn listen(host: Weak<HostShared>, mut notices: tokio::sync::broadcast::Receiver<Notice>) {
    loop {
        let notice = notices.recv().await;
        let Some(host) = host.upgrade() else { return };
        match notice {
            Ok(Notice::Posted { flow, id }) => {
                let key = (flow.to_string(), id);
                let delivered = match host.active().get(&key) {
                    Some(active) => {
                        active.wakeup.posted();
                        true
                    }
                    None => false,
                };
                if !delivered {
                    host.claim_one(&key.0, &key.1).await;
                }
            }
            Ok(Notice::Created { flow, id }) => host.claim_one(&flow, &id).await,
            Ok(Notice::Released { flow, id }) => {
                let key = (flow.to_string(), id);
                let ours = !host
                    .other_versions
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains(&key);
                if ours {
                    host.claim_one(&key.0, &key.1).await;
                }
            }
            Err(RecvError::Lagged(_)) => host.sweep.wake(),
            Err(RecvError::Closed) => return,
        }
    }
}

/// Renews the claims of the instances driven here, three times per lease; an instance
/// whose claim was lost is stopped. Ends with the host.
async fn renew_forever(host: Weak<HostShared>, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        let Some(host) = host.upgrade() else { return };
        let claims: Vec<Claim> = {
            let active = host.active();
            let unreadable = host.unreadable();
            active
                .values()
                .map(|a| a.claim.clone())
                .chain(unreadable.values().map(|(claim, _)| claim.clone()))
                .collect()
        };
        if claims.is_empty() {
            continue;
        }
        match host.store.renew(&claims, &host.lease_now()).await {
            Ok(lost) => {
                for claim in lost {
                    let key = (claim.flow.to_string(), claim.id.clone());
                    // Only the claim that was lost: since the renewal was asked for, the
                    // instance may have been handed back, or claimed here again under a new
                    // token.
                    let mut stopped = false;
                    if let Some(active) = host.active().get(&key)
                        && active.claim == claim
                    {
                        active.wakeup.stop();
                        stopped = true;
                    }
                    let mut unreadable = host.unreadable();
                    if unreadable.get(&key).is_some_and(|(held, _)| *held == claim) {
                        unreadable.remove(&key);
                        stopped = true;
                    }
                    if stopped {
                        warn!(flow = %claim.flow, instance = %claim.id, "claim lost; another worker drives the instance");
                    }
                }
            }
            Err(error) => warn!(%error, "cannot renew claims; trying again"),
        }
    }
}
