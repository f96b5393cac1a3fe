//! A client handle for one flow: starts instances, sends them events, cancels them, reads
//! their state, outcome and history. Works from any process on the store, for an instance
//! running anywhere: requests are rows in the store, not calls into the worker that runs it.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::Durable;
use super::codec;
use super::host::HostShared;
use super::machine::{Machine, outcome_of};
use super::outcome::{Outcome, Rejected, RuntimeError};
use super::policy::now_ms;
use crate::store::{
    Answer, Cause, CreatedOrPosted, InboxItem, Message, MessageId, Record, Snapshot, Store,
    StoreError, Summary, Work,
};
use crate::{Definition, FlowEvent, InstanceId, Trigger};

/// Starts, sends to, cancels and reads the instances of flow `W` in a store.
///
/// Cheap to clone. A client from [`Host::client`](super::Host::client) has the instances it
/// starts driven by that host at once; one made with [`Client::new`] only writes to the
/// store, and whichever host runs `W` on it takes them from there.
pub struct Client<W: Durable> {
    store: Arc<dyn Store>,
    host: Option<Arc<HostShared>>,
    _flow: PhantomData<fn() -> W>,
}

impl<W: Durable> Clone for Client<W> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            host: self.host.clone(),
            _flow: PhantomData,
        }
    }
}

impl<W: Durable> fmt::Debug for Client<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("flow", &W::DEFINITION.name())
            .field("hosted", &self.host.is_some())
            .finish_non_exhaustive()
    }
}

/// What [`Client::start_or_send`] did: whether it started the instance, and the event's
/// delivery.
#[derive(Debug)]
#[non_exhaustive]
pub struct StartedOrSent<W: Durable> {
    /// Whether no instance had the id, and this call started it.
    pub started: bool,
    /// The event, posted to the instance's inbox.
    pub delivery: Delivery<W>,
}

/// An event posted to an instance's inbox: durable, and decided by the instance when it is
/// between steps. [`Delivery::applied`] waits for that decision.
pub struct Delivery<W: Durable> {
    store: Arc<dyn Store>,
    id: InstanceId,
    message: MessageId,
    event: W::Event,
}

impl<W: Durable> fmt::Debug for Delivery<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("instance", &self.id)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl<W: Durable> Delivery<W> {
    /// The message's number in the store's inbox.
    #[must_use]
    pub const fn message(&self) -> MessageId {
        self.message
    }

    /// Waits until the instance decides on the event.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::NotAccepted`] if the state the instance then waited in does not take
    /// it, [`RuntimeError::Ended`] if it ended first; the event is handed back.
    pub async fn applied(self) -> Result<(), Rejected<W::Event>> {
        let def = W::DEFINITION;
        let watch = self.store.watch().instance(def.name(), &self.id);
        let poll = self.store.poll_interval();
        loop {
            let notified = watch.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let answer = match self.store.answer(def.name(), &self.id, self.message).await {
                Ok(answer) => answer,
                Err(error) => return Err(Rejected::new(error.into(), self.event)),
            };
            let error = match answer {
                None => {
                    wait(notified, poll).await;
                    continue;
                }
                Some(Answer::Applied) => return Ok(()),
                Some(Answer::NotAccepted { state }) => {
                    not_accepted(def, &self.id, state_name(def, &state), &self.event)
                }
                Some(Answer::Ended { status, state }) => RuntimeError::Ended {
                    id: self.id.clone(),
                    status,
                    state: state_name(def, &state),
                },
                Some(Answer::Unreadable { reason }) => RuntimeError::Corrupt {
                    id: self.id.clone(),
                    reason,
                },
            };
            return Err(Rejected::new(error, self.event));
        }
    }
}

async fn wait(
    notified: std::pin::Pin<&mut tokio::sync::futures::Notified<'_>>,
    poll: Option<core::time::Duration>,
) {
    match poll {
        Some(every) => {
            let _ = tokio::time::timeout(every, notified).await;
        }
        None => notified.await,
    }
}

impl<W: Durable> Client<W> {
    /// A client for flow `W`'s instances in `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::bound(store, None)
    }

    pub(crate) fn bound(store: Arc<dyn Store>, host: Option<Arc<HostShared>>) -> Self {
        Self {
            store,
            host,
            _flow: PhantomData,
        }
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn hosted(&self) -> Option<&Arc<HostShared>> {
        let host = self.host.as_ref()?;
        host.ensure_started();
        Some(host)
    }

    /// Starts an instance in `state`, with a new random id.
    ///
    /// # Errors
    ///
    /// As [`Client::start_with_id`].
    pub async fn start(
        &self,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        self.start_with_id(InstanceId::random(), state).await
    }

    /// Starts an instance called `id` in `state`: its first record is written, then it runs.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Duplicate`] if an instance has this id (running or ended),
    /// [`RuntimeError::Unstorable`] if the state cannot be stored exactly, or the store's
    /// error; the state is handed back and nothing is written.
    pub async fn start_with_id(
        &self,
        id: impl Into<InstanceId>,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        let id = id.into();
        let (mut machine, mut fx) = match Machine::<W>::begin(id.clone(), state.into(), now_ms()) {
            Ok(started) => started,
            Err((why, state)) => {
                let error = unstorable(id, "the initial state", why);
                return Err(Rejected::new(error, state));
            }
        };
        let snapshot = machine.snapshot();
        let record = fx.records.remove(0);
        let wake = machine.wake();
        let host = self.hosted().filter(|host| !host.is_shut_down());
        let lease = host.map(|host| host.lease_now());
        match self
            .store
            .create(snapshot, record, wake, lease.as_ref())
            .await
        {
            Ok(claim) => {
                super::metrics::started(W::DEFINITION.name());
                if let (Some(host), Some(claim)) = (host, claim) {
                    machine.resume(now_ms(), &mut fx);
                    host.adopt(claim, machine, fx, None);
                }
                Ok(id)
            }
            Err(StoreError::Duplicate { .. }) => Err(Rejected::new(
                RuntimeError::Duplicate(id),
                machine.into_state(),
            )),
            Err(error) => Err(Rejected::new(error.into(), machine.into_state())),
        }
    }

    /// Sends `event` to instance `id`, starting it first in `initial` if no instance has that
    /// id: one atomic write, so the id can be a business key (an order number, a customer)
    /// that any number of callers deliver to at once. Of callers racing on a new id, one
    /// starts the instance and every event reaches it; never is an instance started without
    /// its event. A new instance takes the event as soon as its state does, after any
    /// automatic steps it starts with.
    ///
    /// ```
    /// # use workflow_core::prelude::*;
    /// # use workflow_core::runtime::Runtime;
    /// # #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)] pub struct Paid;
    /// # workflow! {
    /// #     #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    /// #     pub Tab { initial Open { items: u32 } final Closed {} pay: Open -> Closed, on Paid; }
    /// # }
    /// # struct Till;
    /// # impl tab::Activities for Till {
    /// #     type Error = std::convert::Infallible;
    /// #     async fn pay(&self, _: &tab::Open, _: &Paid, _: &StepCtx) -> Result<tab::Closed, Self::Error> { Ok(tab::Closed {}) }
    /// # }
    /// # fn main() {
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let runtime = Runtime::<tab::Flow, _>::new(Till);
    /// let sent = runtime.start_or_send("table-7", tab::Open { items: 0 }, Paid).await.unwrap();
    /// assert!(sent.started, "no tab was open for table 7");
    /// sent.delivery.applied().await.unwrap();
    /// # });
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// For an instance that exists, as [`send`](Client::send); for a new one,
    /// [`RuntimeError::Unstorable`] if the state or the event cannot be stored exactly, or
    /// the store's error. The state and the event are handed back and nothing is written.
    pub async fn start_or_send(
        &self,
        id: impl Into<InstanceId>,
        initial: impl Into<W::State>,
        event: impl Into<W::Event>,
    ) -> Result<StartedOrSent<W>, Rejected<(W::State, W::Event)>> {
        let (id, initial, event) = (id.into(), initial.into(), event.into());
        let def = W::DEFINITION;
        let sent = |delivery| StartedOrSent {
            started: false,
            delivery,
        };
        match self.store.load(def.name(), &id).await {
            // It exists: an ordinary send (instances are never removed).
            Ok(Some(_)) => {
                return match self.send(&id, event).await {
                    Ok(delivery) => Ok(sent(delivery)),
                    Err(refused) => Err(Rejected::new(refused.error, (initial, refused.value))),
                };
            }
            Ok(None) => {}
            Err(error) => return Err(Rejected::new(error.into(), (initial, event))),
        }
        let json = match codec::encode(&event) {
            Ok(json) => json,
            Err(why) => {
                let error = unstorable(id, "the event", why);
                return Err(Rejected::new(error, (initial, event)));
            }
        };
        let (mut machine, mut fx) = match Machine::<W>::begin(id.clone(), initial, now_ms()) {
            Ok(begun) => begun,
            Err((why, initial)) => {
                let error = unstorable(id, "the initial state", why);
                return Err(Rejected::new(error, (initial, event)));
            }
        };
        let (snapshot, record, wake) = (machine.snapshot(), fx.records.remove(0), machine.wake());
        let host = self.hosted().filter(|host| !host.is_shut_down());
        let lease = host.map(|host| host.lease_now());
        let message = Message::event(event.name(), Arc::clone(&json));
        let at_ms = now_ms();
        let done = self
            .store
            .create_or_post(snapshot, record, wake, lease.as_ref(), message, at_ms)
            .await;
        let (started, message) = match done {
            Ok(CreatedOrPosted::Created { claim, message }) => {
                if let (Some(host), Some(claim)) = (host, claim) {
                    machine.resume(now_ms(), &mut fx);
                    let first = InboxItem::new(message, Message::event(event.name(), json), at_ms);
                    let fed = super::instance::feed(&mut machine, vec![first], None, &mut fx);
                    host.adopt(claim, machine, fx, fed);
                }
                (true, message)
            }
            Ok(CreatedOrPosted::Posted(message)) => (false, message),
            Err(error) => {
                let error = self.refusal(&id, error).await;
                return Err(Rejected::new(error, (machine.into_state(), event)));
            }
        };
        let delivery = Delivery {
            store: Arc::clone(&self.store),
            id,
            message,
            event,
        };
        Ok(StartedOrSent { started, delivery })
    }

    /// Sends `event` to instance `id`: it is posted to the instance's inbox, and this returns
    /// once it is durable, without waiting for a step in progress. The instance applies it
    /// between steps; [`Delivery::applied`] waits for its decision.
    ///
    /// An instance that waits in a state which does not take the event refuses it at once,
    /// and nothing is posted.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::NotAccepted`] (as above), [`RuntimeError::Ended`],
    /// [`RuntimeError::Unknown`], [`RuntimeError::DefinitionChanged`],
    /// [`RuntimeError::Unstorable`] for an event that cannot be stored exactly, or the
    /// store's error; the event is handed back and nothing changes.
    pub async fn send(
        &self,
        id: &InstanceId,
        event: impl Into<W::Event>,
    ) -> Result<Delivery<W>, Rejected<W::Event>> {
        let event = event.into();
        let def = W::DEFINITION;
        let json = match codec::encode(&event) {
            Ok(json) => json,
            Err(why) => {
                let error = unstorable(id.clone(), "the event", why);
                return Err(Rejected::new(error, event));
            }
        };
        let _ = self.hosted();
        let snapshot = match self.running(id).await {
            Ok(snapshot) => snapshot,
            Err(error) => return Err(Rejected::new(error, event)),
        };
        if let Some(refusal) = self.refuse_at_once(&snapshot, &event).await {
            return Err(Rejected::new(refusal, event));
        }
        let message = Message::event(event.name(), json);
        match self.store.post(def.name(), id, message, now_ms()).await {
            Ok(message) => Ok(Delivery {
                store: Arc::clone(&self.store),
                id: id.clone(),
                message,
                event,
            }),
            Err(error) => Err(Rejected::new(self.refusal(id, error).await, event)),
        }
    }

    /// Whether `event` is refused without being posted: the instance waits (no step in
    /// progress or due, no message before it) in a state that does not take it.
    async fn refuse_at_once(&self, snapshot: &Snapshot, event: &W::Event) -> Option<RuntimeError> {
        let def = W::DEFINITION;
        let state = def.state_index(&snapshot.state_name)?;
        let waits = snapshot.work.is_none() && def.automatic(state).is_none();
        let takes = def.on_event(state, event.index()).is_some();
        if !waits || takes {
            return None;
        }
        match self.store.inbox(def.name(), &snapshot.id).await {
            Ok(inbox) if inbox.is_empty() => Some(not_accepted(
                def,
                &snapshot.id,
                state_name(def, &snapshot.state_name),
                event,
            )),
            _ => None,
        }
    }

    /// Cancels instance `id`: the cancel is posted to its inbox, and this returns once it is
    /// durable. Between steps, the instance's compensation chain unwinds, newest first, and
    /// it ends [`Outcome::Cancelled`]; [`Client::outcome`] waits for the report.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::AlreadyCancelling`] for a second cancel, [`RuntimeError::Ended`],
    /// [`RuntimeError::Unknown`], [`RuntimeError::DefinitionChanged`], or the store's error;
    /// nothing changes.
    pub async fn cancel(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        let _ = self.hosted();
        let snapshot = self.running(id).await?;
        if let Some(Work::Compensation(unwinding)) = &snapshot.work
            && matches!(unwinding.cause, Cause::Cancelled)
        {
            return Err(RuntimeError::AlreadyCancelling(id.clone()));
        }
        match self
            .store
            .post(W::DEFINITION.name(), id, Message::Cancel, now_ms())
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(self.refusal(id, error).await),
        }
    }

    /// Pauses instance `id` (an operator stops it while a downstream system is repaired): the
    /// pause is posted to its inbox, and this returns once it is durable. A step running
    /// finishes; from then on no step starts, timers that come due wait, and events and
    /// cancels queue, until [`unpause`](Client::unpause). Durable: a paused instance stays
    /// paused across restarts. Pausing a paused instance changes nothing.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Ended`], [`RuntimeError::Unknown`], [`RuntimeError::DefinitionChanged`],
    /// or the store's error; nothing changes.
    pub async fn pause(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        self.operate(id, Message::Pause).await
    }

    /// Unpauses instance `id` after a [`pause`](Client::pause): it carries on where it
    /// stopped (timers that came due meanwhile fire, queued events and cancels are taken in
    /// order). Unpausing an instance that is not paused changes nothing.
    ///
    /// # Errors
    ///
    /// As [`pause`](Client::pause).
    pub async fn unpause(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        self.operate(id, Message::Unpause).await
    }

    /// Whether instance `id` is paused, as last recorded (a pause posted and not yet read
    /// is not counted).
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], [`RuntimeError::DefinitionChanged`], or the store's error.
    pub async fn is_paused(&self, id: &InstanceId) -> Result<bool, RuntimeError> {
        let snapshot = self.load(id).await?;
        Self::check_version(&snapshot)?;
        Ok(snapshot.paused)
    }

    /// Posts an operator's `message` to running instance `id`.
    async fn operate(&self, id: &InstanceId, message: Message) -> Result<(), RuntimeError> {
        let _ = self.hosted();
        self.running(id).await?;
        match self
            .store
            .post(W::DEFINITION.name(), id, message, now_ms())
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(self.refusal(id, error).await),
        }
    }

    /// Waits until instance `id` ends, and says how. Works for an instance running in any
    /// process.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], [`RuntimeError::DefinitionChanged`] for an instance this
    /// version does not run, [`RuntimeError::Stalled`] if its store failed to write it here,
    /// [`RuntimeError::ShutDown`] if the host that ran it here shut down, or the store's
    /// error.
    pub async fn outcome(&self, id: &InstanceId) -> Result<Outcome<W::State>, RuntimeError> {
        let def = W::DEFINITION;
        let watch = self.store.watch().instance(def.name(), id);
        let poll = self.store.poll_interval();
        loop {
            let notified = watch.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let snapshot = self.load(id).await?;
            if snapshot.status.is_finished() {
                let state = decode_state::<W>(&snapshot)?;
                if let Some(outcome) =
                    outcome_of(def, snapshot.status, state, snapshot.ending.as_ref())
                {
                    return Ok(outcome);
                }
            }
            Self::check_version(&snapshot)?;
            if let Some(host) = &self.host {
                if host.is_shut_down() {
                    return Err(RuntimeError::ShutDown { id: id.clone() });
                }
                if let Some(error) = host.stalled(def.name(), id) {
                    return Err(RuntimeError::Stalled {
                        id: id.clone(),
                        error,
                    });
                }
            }
            wait(notified, poll).await;
        }
    }

    /// The state instance `id` is in, as last recorded.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], or a store or decoding error.
    pub async fn state(&self, id: &InstanceId) -> Result<W::State, RuntimeError> {
        decode_state::<W>(&self.load(id).await?)
    }

    /// Every instance of the flow in the store, running or ended, by id.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn list(&self) -> Result<Vec<Summary>, RuntimeError> {
        Ok(self.store.list(W::DEFINITION.name()).await?)
    }

    /// Instance `id`'s records, in order.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn history(&self, id: &InstanceId) -> Result<Vec<Record>, RuntimeError> {
        Ok(self.store.history(W::DEFINITION.name(), id).await?)
    }

    async fn load(&self, id: &InstanceId) -> Result<Snapshot, RuntimeError> {
        self.store
            .load(W::DEFINITION.name(), id)
            .await?
            .ok_or_else(|| RuntimeError::Unknown(id.clone()))
    }

    /// Instance `id`'s snapshot, if it runs under this version of the flow.
    async fn running(&self, id: &InstanceId) -> Result<Snapshot, RuntimeError> {
        let snapshot = self.load(id).await?;
        if snapshot.status.is_finished() {
            return Err(RuntimeError::Ended {
                id: id.clone(),
                status: snapshot.status,
                state: state_name(W::DEFINITION, &snapshot.state_name),
            });
        }
        Self::check_version(&snapshot)?;
        Ok(snapshot)
    }

    fn check_version(snapshot: &Snapshot) -> Result<(), RuntimeError> {
        let def = W::DEFINITION;
        if snapshot.fingerprint == def.fingerprint() {
            return Ok(());
        }
        Err(RuntimeError::DefinitionChanged {
            flow: def.name(),
            id: snapshot.id.clone(),
            stored: snapshot.fingerprint,
            current: def.fingerprint(),
        })
    }

    /// A store's refusal of a post, as the runtime's.
    async fn refusal(&self, id: &InstanceId, error: StoreError) -> RuntimeError {
        match error {
            StoreError::NotFound { .. } => RuntimeError::Unknown(id.clone()),
            StoreError::Ended { .. } => match self.running(id).await {
                Err(ended) => ended,
                Ok(_) => RuntimeError::Store(error),
            },
            StoreError::CancelPosted { .. } => RuntimeError::AlreadyCancelling(id.clone()),
            error => error.into(),
        }
    }
}

/// The refusal of a value of instance `id` that JSON cannot hold exactly.
fn unstorable(id: InstanceId, what: &'static str, why: impl fmt::Display) -> RuntimeError {
    RuntimeError::Unstorable {
        id,
        what,
        reason: why.to_string(),
    }
}

fn decode_state<W: Durable>(snapshot: &Snapshot) -> Result<W::State, RuntimeError> {
    codec::decode(&snapshot.state).map_err(|error| RuntimeError::Corrupt {
        id: snapshot.id.clone(),
        reason: format!("state `{}` cannot be decoded: {error}", snapshot.state_name),
    })
}

/// The definition's own `&'static str` for a state name read from a store.
pub(crate) fn state_name(def: &'static Definition, name: &str) -> &'static str {
    def.states()
        .iter()
        .map(crate::StateDef::name)
        .find(|n| *n == name)
        .unwrap_or("(unknown state)")
}

fn not_accepted<E: FlowEvent>(
    def: &'static Definition,
    id: &InstanceId,
    state: &'static str,
    event: &E,
) -> RuntimeError {
    RuntimeError::NotAccepted {
        id: id.clone(),
        state,
        event: event.name(),
        accepted: def
            .state_index(state)
            .map_or_else(|| "no events".to_string(), |s| accepted_events(def, s)),
    }
}

/// Names the events state `state` accepts, for error messages.
fn accepted_events(def: &Definition, state: usize) -> String {
    let names: Vec<String> = def.states()[state]
        .on()
        .iter()
        .filter_map(|&t| match def.transitions()[t].trigger() {
            Trigger::On { event } => Some(format!("`{}`", def.events()[event].name())),
            _ => None,
        })
        .collect();
    if names.is_empty() {
        "no events".to_string()
    } else {
        names.join(", ")
    }
}
