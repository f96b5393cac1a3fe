//! The durable driver: runs flow instances on tokio, from their initial state to a final one,
//! with the store as the work queue.
//!
//! - A [`Host`] runs any number of flows on one [`Store`], with one timer service. It drives
//!   each instance it holds the claim of: it takes automatic transitions as soon as it can,
//!   applies events and fires `after` timers between steps, retries failed attempts with
//!   exponential backoff and a timeout per attempt, and unwinds the compensation chain when a
//!   step fails for good or the instance is cancelled. Every change is written to the store
//!   under the claim before the instance acts on it.
//! - A [`Client`] per flow starts instances, sends events, cancels, and reads state, outcome
//!   and history, from any process on the store, for an instance running anywhere.
//! - [`Runtime`] is both for one flow: the simple case.
//!
//! Inside, an instance's logic is a pure machine (`machine`), fed its inputs by a task per
//! instance (`instance`), each attempt going through a stack of layers (`attempt`).

mod attempt;
mod child;
mod client;
pub(crate) mod codec;
mod control;
mod host;
mod instance;
mod machine;
mod metrics;
mod migrate;
mod outcome;
mod policy;
mod timers;

pub(crate) use policy::{human, now_ms};

#[doc(hidden)]
pub use child::{ChildOf, NewChild, decode_child, start_child};
pub use client::{Client, Delivery, StartedOrSent};
pub use control::FlowControl;
pub use host::{Host, HostBuilder};
pub use migrate::{Mapped, MigrateError, Migrated, Migration, MigrationReport};
#[allow(deprecated)]
pub use outcome::Finished;
pub use outcome::{Outcome, Rejected, Resumed, RuntimeError};

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::plumbing::Dispatch;
use crate::store::{MemoryStore, Record, Store, Summary};
use crate::{InstanceId, Workflow};

/// A value a store can keep: a flow's states and events, as JSON.
pub trait Storable: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static> Storable for T {}

/// A flow whose states and events can be stored: every generated `Flow` whose state and
/// event types derive `Clone`, `Serialize` and `Deserialize`.
pub trait Durable: Workflow<State: Storable, Event: Storable> {}

impl<W: Workflow<State: Storable, Event: Storable>> Durable for W {}

/// A flow the driver can run with activities `A`: it is [`Durable`], and its activities'
/// errors can be described.
pub trait Runnable<A>: Durable + Dispatch<A, Error: fmt::Display + Send> {}

impl<W, A> Runnable<A> for W where W: Durable + Dispatch<A, Error: fmt::Display + Send> {}

/// Runs instances of flow `W` with activities `A`: a [`Host`] with one flow and its
/// [`Client`].
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::runtime::{Outcome, Runtime};
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
/// let outcome = runtime.outcome(&id).await.unwrap();
/// assert_eq!(outcome, Outcome::Completed(door::State::Open(door::Open { opens: 1 })));
/// # }
/// ```
pub struct Runtime<W: Durable, A> {
    host: Host,
    client: Client<W>,
    activities: Arc<A>,
}

impl<W: Durable, A> Clone for Runtime<W, A> {
    fn clone(&self) -> Self {
        Self {
            host: self.host.clone(),
            client: self.client.clone(),
            activities: Arc::clone(&self.activities),
        }
    }
}

impl<W: Durable, A> fmt::Debug for Runtime<W, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flow", &W::DEFINITION.name())
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl<W, A> Runtime<W, A>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    /// A runtime keeping its instances in memory.
    pub fn new(activities: A) -> Self {
        Self::with_store(activities, Arc::new(MemoryStore::new()))
    }

    /// A runtime keeping its instances in `store`.
    pub fn with_store(activities: A, store: Arc<dyn Store>) -> Self {
        Self::with_host(activities, Host::builder().store(store))
    }

    /// A runtime on a host built from `builder` (its store, worker id, lease), running flow
    /// `W` with `activities`.
    pub fn with_host(activities: A, builder: HostBuilder) -> Self {
        let activities = Arc::new(activities);
        let host = builder.flow_shared::<W, A>(Arc::clone(&activities)).build();
        let client = host.client::<W>();
        Self {
            host,
            client,
            activities,
        }
    }

    /// The activities instances run with.
    #[must_use]
    pub fn activities(&self) -> &A {
        &self.activities
    }

    /// The store instances are kept in.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn Store> {
        self.host.store()
    }

    /// The host that drives the instances.
    #[must_use]
    pub const fn host(&self) -> &Host {
        &self.host
    }

    /// The flow's client.
    #[must_use]
    pub const fn client(&self) -> &Client<W> {
        &self.client
    }

    /// Carries on with every unfinished instance of the flow in the store: see
    /// [`Host::resume`].
    ///
    /// # Errors
    ///
    /// The store's error, if it cannot be read; nothing is resumed.
    pub async fn resume(&self) -> Result<Resumed, RuntimeError> {
        self.host.resume().await
    }

    /// Starts an instance in `state`, with a new random id: see [`Client::start`].
    ///
    /// # Errors
    ///
    /// As [`Client::start_with_id`].
    pub async fn start(
        &self,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        self.client.start(state).await
    }

    /// Starts an instance called `id` in `state`: see [`Client::start_with_id`].
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Duplicate`] if an instance has this id, or the store's error; the
    /// state is handed back and nothing is written.
    pub async fn start_with_id(
        &self,
        id: impl Into<InstanceId>,
        state: impl Into<W::State>,
    ) -> Result<InstanceId, Rejected<W::State>> {
        self.client.start_with_id(id, state).await
    }

    /// Sends `event` to instance `id`, starting it in `initial` if none has that id: see
    /// [`Client::start_or_send`].
    ///
    /// # Errors
    ///
    /// As [`Client::start_or_send`]; the state and the event are handed back and nothing is
    /// written.
    pub async fn start_or_send(
        &self,
        id: impl Into<InstanceId>,
        initial: impl Into<W::State>,
        event: impl Into<W::Event>,
    ) -> Result<StartedOrSent<W>, Rejected<(W::State, W::Event)>> {
        self.client.start_or_send(id, initial, event).await
    }

    /// Sends `event` to instance `id`: see [`Client::send`].
    ///
    /// # Errors
    ///
    /// [`RuntimeError::NotAccepted`], [`RuntimeError::Ended`] or [`RuntimeError::Unknown`];
    /// the event is handed back and nothing changes.
    pub async fn send(
        &self,
        id: &InstanceId,
        event: impl Into<W::Event>,
    ) -> Result<Delivery<W>, Rejected<W::Event>> {
        self.client.send(id, event).await
    }

    /// Cancels instance `id`: see [`Client::cancel`].
    ///
    /// # Errors
    ///
    /// [`RuntimeError::AlreadyCancelling`] for a second cancel, [`RuntimeError::Ended`] or
    /// [`RuntimeError::Unknown`]; nothing changes.
    pub async fn cancel(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        self.client.cancel(id).await
    }

    /// Pauses instance `id`: see [`Client::pause`].
    ///
    /// # Errors
    ///
    /// As [`Client::pause`].
    pub async fn pause(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        self.client.pause(id).await
    }

    /// Unpauses instance `id` after a pause: see [`Client::unpause`].
    ///
    /// # Errors
    ///
    /// As [`Client::unpause`].
    pub async fn unpause(&self, id: &InstanceId) -> Result<(), RuntimeError> {
        self.client.unpause(id).await
    }

    /// Waits until instance `id` ends, and says how: see [`Client::outcome`].
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], [`RuntimeError::Stalled`] if its store failed, or the
    /// store's error.
    pub async fn outcome(&self, id: &InstanceId) -> Result<Outcome<W::State>, RuntimeError> {
        self.client.outcome(id).await
    }

    /// The state instance `id` is in, as last recorded.
    ///
    /// # Errors
    ///
    /// [`RuntimeError::Unknown`], or a store or decoding error.
    pub async fn state(&self, id: &InstanceId) -> Result<W::State, RuntimeError> {
        self.client.state(id).await
    }

    /// Every instance of the flow in the store, running or ended.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn list(&self) -> Result<Vec<Summary>, RuntimeError> {
        self.client.list().await
    }

    /// Instance `id`'s records, in order.
    ///
    /// # Errors
    ///
    /// The store's error.
    pub async fn history(&self, id: &InstanceId) -> Result<Vec<Record>, RuntimeError> {
        self.client.history(id).await
    }

    /// Stops every instance where it is, as if the process ended: see [`Host::shutdown`].
    pub async fn shutdown(&self) {
        self.host.shutdown().await;
    }
}
