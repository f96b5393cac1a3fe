//! Scenario S14's flow and its outside systems, shared by the `workers` example and the S14
//! test: S1's order fulfilment with an event and a timer (the customer confirms the delivery
//! address after paying; an order not confirmed in time is cancelled and compensated), run by
//! worker processes on one PostgreSQL database.
//!
//! The outside systems (warehouse, payment provider, carrier) keep their own database, a
//! SQLite file every worker process shares: each call is counted, and each effect is stored
//! once under the step's idempotency key, as a payment provider does, so a call repeated after
//! a worker died is recognised instead of performed twice.
//!
//! Order `n` of a run: `n % 10 == 0` is out of stock (cancelled at once), `n % 10 == 1` is
//! declined (three attempts, then the hold is released and the order fails), `n % 10 == 2` is
//! never confirmed (after the timer: refund, release the hold, cancelled); every other order
//! is confirmed and shipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host};
use workflow_core::store::{PostgresOptions, PostgresStore, Status, Store, WorkerId};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub id: String,
    pub product: String,
    pub cents: u64,
}

/// The customer confirmed the delivery address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddressConfirmed {
    pub address: String,
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Fulfilment {
        initial Placed    { order: OrderRequest }
        state   InStock   { order: OrderRequest, hold: String }
        state   Paid      { order: OrderRequest, charge: String }
        state   Confirmed { order: OrderRequest, address: String }
        state   Reserved  { order: OrderRequest, address: String }
        final   Shipped   { order_id: String, tracking: String }
        final   Cancelled { order_id: String, reason: String }

        check_inventory: Placed    -> InStock undo release_hold | Cancelled;
        pay:             InStock   -> Paid undo refund, retry(3, 20ms..100ms), timeout(10s);
        confirm:         Paid      -> Confirmed, on AddressConfirmed;
        expire:          Paid      -> Cancelled, after(8s), compensate;
        reserve_stock:   Confirmed -> Reserved undo unreserve_stock;
        ship:            Reserved  -> Shipped;
    }
}

/// How long each outside call takes, after its effect is stored: a worker killed meanwhile
/// dies in the middle of a step, its effect made and not yet recorded by the flow.
const LATENCY: Duration = Duration::from_millis(3);

/// The outside systems' database: one SQLite file for every worker process.
pub struct Outside {
    db: Arc<Mutex<rusqlite::Connection>>,
    /// The worker calling, recorded with each effect.
    worker: String,
    /// After this many effects, every call hangs once its effect is made: a worker about to
    /// be killed in the middle of its steps.
    hang_after: Option<u64>,
    made: std::sync::atomic::AtomicU64,
}

/// The effects made, by order, then by step and whether it took effect: how many calls.
pub type Effects = BTreeMap<String, BTreeMap<(String, bool), u32>>;

/// Why an outside call failed.
#[derive(Debug, thiserror::Error)]
pub enum OutsideError {
    #[error("card declined: {0} cents is above the limit")]
    Declined(u64),
    #[error("the outside systems' database failed: {0}")]
    Db(String),
}

impl Outside {
    /// Opens (making it if need be) the outside systems' database at `path`.
    ///
    /// # Errors
    ///
    /// When SQLite cannot open or set up the file.
    pub fn open(path: &Path, worker: &str) -> rusqlite::Result<Self> {
        let db = rusqlite::Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(30))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS effects (
                 key      TEXT PRIMARY KEY,
                 order_id TEXT NOT NULL,
                 step     TEXT NOT NULL,
                 applied  INTEGER NOT NULL,
                 calls    INTEGER NOT NULL,
                 worker   TEXT NOT NULL
             )",
        )?;
        Ok(Self {
            db: Arc::new(Mutex::new(db)),
            worker: worker.to_string(),
            hang_after: None,
            made: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Makes every call after the first `effects` hang once its effect is made.
    #[must_use]
    pub const fn hang_after(mut self, effects: u64) -> Self {
        self.hang_after = Some(effects);
        self
    }

    /// Performs `step` for `order`: stored once under the call's idempotency key (`applied`
    /// says whether it took effect), counted at every call. Returns the calls so far.
    async fn call(&self, ctx: &StepCtx, order: &str, applied: bool) -> Result<u32, OutsideError> {
        let key = ctx.idempotency_key().unwrap_or("none").to_string();
        let (order, step, worker) = (order.to_string(), ctx.step(), self.worker.clone());
        let db = Arc::clone(&self.db);
        let calls = tokio::task::spawn_blocking(move || {
            let db = db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            db.query_row(
                "INSERT INTO effects (key, order_id, step, applied, calls, worker)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5)
                 ON CONFLICT (key) DO UPDATE SET calls = calls + 1 RETURNING calls",
                rusqlite::params![key, order, step, applied, worker],
                |row| row.get::<_, u32>(0),
            )
        })
        .await
        .map_err(|e| OutsideError::Db(e.to_string()))?
        .map_err(|e| OutsideError::Db(e.to_string()))?;
        let made = self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if self.hang_after.is_some_and(|after| made >= after) {
            tokio::time::sleep(Duration::from_hours(1)).await;
        }
        tokio::time::sleep(LATENCY).await;
        Ok(calls)
    }

    /// Every effect stored: order id -> (step, applied) -> calls.
    ///
    /// # Errors
    ///
    /// When SQLite fails.
    pub fn effects(path: &Path) -> rusqlite::Result<Effects> {
        let db = rusqlite::Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(30))?;
        let mut statement = db.prepare("SELECT order_id, step, applied, calls FROM effects")?;
        let mut effects = Effects::new();
        let rows = statement.query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
        for row in rows {
            let (order, step, applied, calls): (String, String, bool, u32) = row?;
            let steps = effects.entry(order).or_default();
            // Two keys for one step of one order would be two effects: kept apart.
            let slot = steps.entry((step.clone(), applied)).or_insert(0);
            if *slot != 0 {
                steps.insert((format!("{step} (a second key)"), applied), calls);
            } else {
                *slot = calls;
            }
        }
        Ok(effects)
    }

    /// How many effects are stored so far, by all workers or by `worker`.
    ///
    /// # Errors
    ///
    /// When SQLite fails.
    pub fn count(path: &Path, worker: Option<&str>) -> rusqlite::Result<u64> {
        let db = rusqlite::Connection::open(path)?;
        db.busy_timeout(Duration::from_secs(30))?;
        db.query_row(
            "SELECT count(*) FROM effects WHERE worker = ?1 OR ?1 IS NULL",
            [worker],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| u64::try_from(n).unwrap_or_default())
    }
}

impl fulfilment::Activities for Outside {
    type Error = OutsideError;

    async fn check_inventory(
        &self,
        from: &fulfilment::Placed,
        ctx: &StepCtx,
    ) -> Result<fulfilment::CheckInventoryTo, OutsideError> {
        let order = &from.order;
        self.call(ctx, &order.id, true).await?;
        if order.product == "out_of_stock" {
            return Ok(fulfilment::Cancelled {
                order_id: order.id.clone(),
                reason: "out of stock".into(),
            }
            .into());
        }
        Ok(fulfilment::InStock {
            order: order.clone(),
            hold: format!("hold-{}", order.id),
        }
        .into())
    }

    async fn release_hold(
        &self,
        state: &fulfilment::InStock,
        ctx: &StepCtx,
    ) -> Result<(), OutsideError> {
        self.call(ctx, &state.order.id, true).await.map(drop)
    }

    async fn pay(
        &self,
        from: &fulfilment::InStock,
        ctx: &StepCtx,
    ) -> Result<fulfilment::Paid, OutsideError> {
        let order = &from.order;
        let approved = order.cents <= 100_000;
        self.call(ctx, &order.id, approved).await?;
        if !approved {
            return Err(OutsideError::Declined(order.cents));
        }
        Ok(fulfilment::Paid {
            order: order.clone(),
            charge: format!("charge-{}", order.id),
        })
    }

    async fn refund(&self, state: &fulfilment::Paid, ctx: &StepCtx) -> Result<(), OutsideError> {
        self.call(ctx, &state.order.id, true).await.map(drop)
    }

    async fn confirm(
        &self,
        from: &fulfilment::Paid,
        event: &AddressConfirmed,
        ctx: &StepCtx,
    ) -> Result<fulfilment::Confirmed, OutsideError> {
        self.call(ctx, &from.order.id, true).await?;
        Ok(fulfilment::Confirmed {
            order: from.order.clone(),
            address: event.address.clone(),
        })
    }

    async fn expire(
        &self,
        from: &fulfilment::Paid,
        ctx: &StepCtx,
    ) -> Result<fulfilment::Cancelled, OutsideError> {
        self.call(ctx, &from.order.id, true).await?;
        Ok(fulfilment::Cancelled {
            order_id: from.order.id.clone(),
            reason: "the address was not confirmed in time".into(),
        })
    }

    async fn reserve_stock(
        &self,
        from: &fulfilment::Confirmed,
        ctx: &StepCtx,
    ) -> Result<fulfilment::Reserved, OutsideError> {
        self.call(ctx, &from.order.id, true).await?;
        Ok(fulfilment::Reserved {
            order: from.order.clone(),
            address: from.address.clone(),
        })
    }

    async fn unreserve_stock(
        &self,
        state: &fulfilment::Reserved,
        ctx: &StepCtx,
    ) -> Result<(), OutsideError> {
        self.call(ctx, &state.order.id, true).await.map(drop)
    }

    async fn ship(
        &self,
        from: &fulfilment::Reserved,
        ctx: &StepCtx,
    ) -> Result<fulfilment::Shipped, OutsideError> {
        let calls = self.call(ctx, &from.order.id, true).await?;
        if from.order.product == "slow" && calls == 1 {
            // The carrier is slow the first time: long enough for a lease to run out.
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        Ok(fulfilment::Shipped {
            order_id: from.order.id.clone(),
            tracking: format!("TRACK-{}", from.order.id),
        })
    }
}

/// Order `n` of a run, as described in the module's docs.
pub fn order(n: usize) -> fulfilment::Placed {
    let id = format!("order-{n:05}");
    let (product, cents) = match n % 10 {
        0 => ("out_of_stock", 1_990),
        1 => ("grand-piano", 1_250_000),
        _ => ("espresso-machine", 49_900),
    };
    fulfilment::Placed {
        order: OrderRequest {
            id,
            product: product.into(),
            cents,
        },
    }
}

/// Whether the customer of order `n` confirms the address.
pub fn confirms(n: usize) -> bool {
    n % 10 != 2
}

/// How order `n` ends in a run with one worker and no faults: its status, final state, and
/// the effects made for it (step, whether it took effect).
pub fn expected(n: usize) -> (Status, &'static str, BTreeSet<(String, bool)>) {
    let steps = |list: &[(&str, bool)]| -> BTreeSet<(String, bool)> {
        list.iter().map(|(s, a)| ((*s).to_string(), *a)).collect()
    };
    match n % 10 {
        0 => (
            Status::Completed,
            "Cancelled",
            steps(&[("check_inventory", true)]),
        ),
        1 => (
            Status::Failed,
            "InStock",
            steps(&[
                ("check_inventory", true),
                ("pay", false),
                ("release_hold", true),
            ]),
        ),
        2 => (
            Status::Completed,
            "Cancelled",
            steps(&[
                ("check_inventory", true),
                ("pay", true),
                ("expire", true),
                ("refund", true),
                ("release_hold", true),
            ]),
        ),
        _ => (
            Status::Completed,
            "Shipped",
            steps(&[
                ("check_inventory", true),
                ("pay", true),
                ("confirm", true),
                ("reserve_stock", true),
                ("ship", true),
            ]),
        ),
    }
}

/// A store on the database at `url`, as each process of a run has it.
///
/// # Errors
///
/// When the database cannot be reached.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, workflow_core::store::StoreError> {
    let options = PostgresOptions::new()
        .pool_size(8)
        .poll_interval(Duration::from_millis(250));
    Ok(Arc::new(PostgresStore::connect_with(url, &options).await?))
}

/// A worker process: hosts the flow on `url` as `name`, with claims of `lease`, calling
/// `outside`, until the process is killed or its standard input closes (then it shuts down,
/// handing its claims back).
///
/// # Errors
///
/// When the database cannot be reached.
pub async fn work(
    url: &str,
    outside: Outside,
    name: &str,
    lease: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let host = Host::builder()
        .store(connect(url).await?)
        .flow(fulfilment::Flow, outside)
        .worker(WorkerId::new(name))
        .lease(lease)
        .build();
    let resumed = host.resume().await?;
    eprintln!("{name}: ready ({} resumed)", resumed.instances.len());
    println!("ready");
    // Until the parent closes our standard input.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {
            sink.clear();
        }
    })
    .await?;
    host.shutdown().await;
    eprintln!("{name}: shut down, claims handed back");
    Ok(())
}

/// Starts orders `0..count` on `url`, confirms the address of each order that should be
/// confirmed once it is paid, and waits until every order has ended (at most `bound`).
/// `during` is called after each look at the orders with how many have ended and how many
/// effects the outside systems have made; it may act (kill a worker, restart the server).
///
/// # Errors
///
/// When the database fails, or the orders do not all end within `bound`.
pub async fn run_orders(
    url: &str,
    effects: &Path,
    count: usize,
    bound: Duration,
    mut during: impl FnMut(usize, u64),
) -> Result<BTreeMap<String, (Status, String)>, Box<dyn std::error::Error>> {
    let client = Client::<fulfilment::Flow>::new(connect(url).await?);
    for n in 0..count {
        let placed = order(n);
        let id = placed.order.id.clone();
        retrying(|| client.start_with_id(id.clone(), placed.clone())).await?;
    }
    let deadline = tokio::time::Instant::now() + bound;
    let mut confirmed = BTreeSet::new();
    loop {
        let Ok(list) = client.list().await else {
            // The database is away (restarting): look again.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let ended: BTreeMap<String, (Status, String)> = list
            .iter()
            .filter(|s| s.status.is_finished())
            .map(|s| (s.id.to_string(), (s.status, s.state_name.to_string())))
            .collect();
        for summary in list.iter().filter(|s| s.state_name == "Paid") {
            let n: usize = summary.id.as_str()["order-".len()..].parse()?;
            if confirms(n) && confirmed.insert(n) {
                let event = AddressConfirmed {
                    address: format!("{n} Main Street"),
                };
                if retrying(|| client.send(&summary.id, event.clone()))
                    .await
                    .is_err()
                {
                    confirmed.remove(&n);
                }
            }
        }
        during(ended.len(), Outside::count(effects, None).unwrap_or(0));
        if ended.len() == count {
            return Ok(ended);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("only {} of {count} orders ended in time", ended.len()).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `call` until it succeeds, a bounded number of times, waiting while the database is
/// away.
async fn retrying<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    mut call: impl FnMut() -> F,
) -> Result<T, E> {
    let mut tries = 0;
    loop {
        match call().await {
            Ok(value) => return Ok(value),
            Err(error) if tries < 100 => {
                tries += 1;
                eprintln!("retrying: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

/// What went wrong in a run, order by order, against [`expected`]: an empty list when every
/// order ended as with one worker and each effect was made once.
pub fn check(
    ended: &BTreeMap<String, (Status, String)>,
    effects: &Effects,
    count: usize,
) -> Vec<String> {
    let mut wrong = Vec::new();
    for n in 0..count {
        let id = format!("order-{n:05}");
        let (status, state, steps) = expected(n);
        match ended.get(&id) {
            Some((s, st)) if *s == status && st == state => {}
            other => wrong.push(format!(
                "{id}: ended {other:?}, expected {status:?} in {state}"
            )),
        }
        let made: BTreeSet<(String, bool)> = effects
            .get(&id)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        if made != steps {
            wrong.push(format!("{id}: effects {made:?}, expected {steps:?}"));
        }
    }
    wrong
}

/// A fresh outside systems' file in `dir`.
pub fn effects_file(dir: &Path) -> PathBuf {
    dir.join("outside.sqlite")
}
