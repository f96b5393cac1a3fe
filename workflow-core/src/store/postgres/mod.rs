//! The store for many workers on many machines: one PostgreSQL database, reached through a
//! pool of connections, with `LISTEN/NOTIFY` to tell every process what the others wrote.

mod errors;
mod notify;
mod queue;
mod reads;
mod schema;
mod sql;
mod writes;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::task::JoinHandle;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{NoTls, Socket};

use self::errors::{backend, pool};
use super::{
    Answer, Claim, Claimed, Commit, Committed, CreatedOrPosted, Due, FlowVersion, InboxItem, Lease,
    Message, MessageId, Notice, Record, Snapshot, Store, StoreError, Summary, Wake, Watch,
};
use crate::InstanceId;

/// Instances in a PostgreSQL database, shared by any number of worker processes on any
/// number of machines.
///
/// Workers take due work with `FOR UPDATE SKIP LOCKED`, hold it under leases their hosts
/// renew, and every write is fenced by the claim's token: once another worker has taken an
/// instance over (because the first one's lease ran out while it was paused or cut off), the
/// first one's writes are refused with [`StoreError::ClaimLost`] and it stops driving the
/// instance. A write is one statement or one transaction: all of it, or nothing.
///
/// Every write another process should hear of sends a notification (`LISTEN/NOTIFY`) in its
/// transaction; each store listens on a connection of its own, reconnecting when it drops.
/// Hosts also poll the store every [`PostgresOptions::poll_interval`], so a lost notification
/// costs a delay, never an instance. Connections that break (a server restart) are dropped
/// by the pool and made again; a write that fails meanwhile fails with
/// [`StoreError::Backend`], and the host retries it.
///
/// The tables live in the schema `workflow`, made and upgraded by numbered migrations when
/// a store connects (under an advisory lock, so that workers starting together do not race).
///
/// Clocks: lease expiries and timers are compared with the workers' own clocks, so the
/// machines' clocks should agree to well within a lease (NTP does). Correctness does not
/// depend on it: fencing refuses the late writes of a worker whatever its clock says.
///
/// ```no_run
/// use std::sync::Arc;
/// use workflow_core::store::{PostgresStore, Store};
///
/// # async fn run() -> Result<(), workflow_core::store::StoreError> {
/// let store = Arc::new(PostgresStore::connect("host=localhost user=app dbname=orders").await?);
/// assert!(store.list("Order").await?.is_empty());
/// // `Host::builder().store(store)...` runs flows on it, in as many processes as needed.
/// # Ok(())
/// # }
/// ```
pub struct PostgresStore {
    pool: Pool,
    watch: Arc<Watch>,
    /// Tells this store's notifications from the others'.
    origin: u64,
    poll: Duration,
    listener: JoinHandle<()>,
}

/// How to connect a [`PostgresStore`].
///
/// ```
/// use std::time::Duration;
/// use workflow_core::store::PostgresOptions;
///
/// let options = PostgresOptions::new().pool_size(32).poll_interval(Duration::from_millis(500));
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pool_size: usize,
    poll_interval: Duration,
    connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: 16,
            poll_interval: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

impl PostgresOptions {
    /// The defaults: 16 connections, a poll every second, 5 seconds to connect.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `connections` connections at once (besides the one that listens).
    #[must_use]
    pub const fn pool_size(mut self, connections: usize) -> Self {
        self.pool_size = connections;
        self
    }

    /// How often hosts look at the database on their own: the longest a lost notification
    /// delays work. Shorter costs a query per host per interval.
    #[must_use]
    pub const fn poll_interval(mut self, every: Duration) -> Self {
        self.poll_interval = every;
        self
    }

    /// How long a connection may take to be made, or a pooled one to be had.
    #[must_use]
    pub const fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
}

impl PostgresStore {
    /// Connects to the database `url` names (a `postgres://` URL or `key=value` pairs, as
    /// libpq takes them), making or upgrading its tables. Must be called inside a tokio
    /// runtime: the store listens for notifications on a task of its own.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] for a connection string that does not parse or a server that
    /// cannot be reached, [`StoreError::SchemaVersion`] for a database a newer version of
    /// this library made (left untouched).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &PostgresOptions::new()).await
    }

    /// Connects to `url` with `options`, without TLS.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`].
    pub async fn connect_with(url: &str, options: &PostgresOptions) -> Result<Self, StoreError> {
        Self::connect_tls(url, options, NoTls).await
    }

    /// Connects to `url` with `options`, through `tls`: any TLS connector tokio-postgres
    /// takes, such as `postgres_native_tls::MakeTlsConnector` or
    /// `tokio_postgres_rustls::MakeRustlsConnect` (the connection string's `sslmode` says
    /// whether TLS is required). The pool and the listening connection both use it.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`].
    pub async fn connect_tls<T>(
        url: &str,
        options: &PostgresOptions,
        tls: T,
    ) -> Result<Self, StoreError>
    where
        T: MakeTlsConnect<Socket> + Clone + Sync + Send + 'static,
        T::Stream: Sync + Send,
        T::TlsConnect: Sync + Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let mut config = tokio_postgres::Config::from_str(url).map_err(backend)?;
        config.connect_timeout(options.connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("workflow");
        }
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.connect_timeout))
            .create_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| StoreError::Backend(Box::new(e)))?;
        {
            let mut client = pool.get().await.map_err(self::errors::pool)?;
            schema::migrate(&mut client).await?;
        }
        let watch = Arc::new(Watch::new());
        let origin = rand_origin();
        let (ready, listening) = tokio::sync::oneshot::channel();
        let listener = tokio::spawn(notify::listen(
            config,
            tls,
            Arc::downgrade(&watch),
            origin,
            ready,
        ));
        // Listening before the store is handed out: nothing written from then on is missed.
        if tokio::time::timeout(options.connect_timeout, listening)
            .await
            .is_err()
        {
            listener.abort();
            return Err(StoreError::Backend(
                "cannot listen for notifications: the server did not answer in time".into(),
            ));
        }
        Ok(Self {
            pool,
            watch,
            origin,
            poll: options.poll_interval,
            listener,
        })
    }

    /// The database's schema version, and the newest this library knows.
    ///
    /// # Errors
    ///
    /// A backend error.
    pub async fn schema_version(&self) -> Result<(i64, i64), StoreError> {
        let client = self.client().await?;
        Ok((schema::version(&client).await?, schema::latest()))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool)
    }
}

/// A number telling this store's notifications from those of every other store.
fn rand_origin() -> u64 {
    uuid::Uuid::now_v7().as_u64_pair().1
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
        self.watch.changed_all();
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PostgresStore")
            .field("connections", &status.size)
            .field("idle", &status.available)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError> {
        let client = self.client().await?;
        let token = writes::create(&client, self.origin, &snapshot, &record, wake, lease).await?;
        let Some(token) = token else {
            return Err(StoreError::Duplicate {
                flow: snapshot.flow,
                id: snapshot.id,
            });
        };
        let claim = claim_of(&snapshot, lease, token);
        self.watch
            .created(&snapshot.flow, &snapshot.id, claim.is_some());
        Ok(claim)
    }

    async fn create_or_post(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
        message: Message,
        at_ms: u64,
    ) -> Result<CreatedOrPosted, StoreError> {
        let (flow, id) = (&*snapshot.flow, &snapshot.id);
        let mut client = self.client().await?;
        // One transaction: the create waits for a racing one on the same id, and then
        // finds it (and posts to it) instead.
        let tx = client.transaction().await.map_err(backend)?;
        let token = writes::create(&tx, self.origin, &snapshot, &record, wake, lease).await?;
        let posted = writes::post(&tx, self.origin, flow, id, &message, at_ms).await?;
        tx.commit().await.map_err(backend)?;
        let done = match token {
            Some(token) => {
                let claim = claim_of(&snapshot, lease, token);
                self.watch
                    .created(&snapshot.flow, &snapshot.id, claim.is_some());
                CreatedOrPosted::Created {
                    claim,
                    message: posted,
                }
            }
            None => CreatedOrPosted::Posted(posted),
        };
        self.watch.posted(flow, id);
        Ok(done)
    }

    async fn claim(
        &self,
        flow: &str,
        id: &InstanceId,
        lease: &Lease,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let claimed = queue::claim(&tx, flow, id, lease).await?;
        tx.commit().await.map_err(backend)?;
        Ok(claimed)
    }

    async fn claim_due(
        &self,
        flows: &[FlowVersion],
        lease: &Lease,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let due = queue::claim_due(&tx, flows, lease, limit).await?;
        tx.commit().await.map_err(backend)?;
        // Messages for instances held here whose notification was lost reach them now.
        for (flow, id) in queue::held_with_messages(&client, lease).await? {
            self.watch.notice(Notice::Posted { flow, id });
        }
        Ok(due)
    }

    async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError> {
        let told = Committed::of(&commit);
        let client = self.client().await?;
        writes::commit(&client, self.origin, claim, &commit).await?;
        drop(client);
        self.watch.committed(claim, &told);
        Ok(())
    }

    async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError> {
        let client = self.client().await?;
        queue::renew(&client, claims, lease).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let client = self.client().await?;
        if queue::release(&client, self.origin, claim).await? {
            self.watch.released(claim);
        }
        Ok(())
    }

    async fn post(
        &self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError> {
        let client = self.client().await?;
        let posted = writes::post(&client, self.origin, flow, id, &message, at_ms).await?;
        self.watch.posted(flow, id);
        Ok(posted)
    }

    async fn answer(
        &self,
        flow: &str,
        id: &InstanceId,
        message: MessageId,
    ) -> Result<Option<Answer>, StoreError> {
        let client = self.client().await?;
        reads::answer(&client, flow, id, message).await
    }

    async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError> {
        let client = self.client().await?;
        reads::inbox(&client, flow, id.as_str()).await
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        let client = self.client().await?;
        reads::load(&client, flow, id.as_str()).await
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let client = self.client().await?;
        reads::summaries(&client, flow, false).await
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let client = self.client().await?;
        reads::summaries(&client, flow, true).await
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        let client = self.client().await?;
        reads::history(&client, flow, id.as_str()).await
    }

    fn watch(&self) -> &Watch {
        &self.watch
    }

    fn poll_interval(&self) -> Option<Duration> {
        Some(self.poll)
    }
}

/// The claim an instance created with `lease` starts under, with its fencing `token`.
fn claim_of(snapshot: &Snapshot, lease: Option<&Lease>, token: i64) -> Option<Claim> {
    lease.map(|lease| {
        Claim::new(
            snapshot.flow.clone(),
            snapshot.id.clone(),
            lease.worker.clone(),
            u64::try_from(token).unwrap_or_default(),
        )
    })
}
