//! Scenario S7, crash and resume: S1 (order fulfilment) runs on the SQLite store, then on
//! the PostgreSQL store (a throwaway cluster, a database per run), in a child process, which is killed (SIGKILL) at every point between two records in turn, then run
//! again to resume. For every kill point the order must end exactly as an uninterrupted run
//! does, every forward effect must have happened once, and no undo may run that the
//! uninterrupted run did not run.
//!
//! The points: after each record is committed, and after each effect an activity performs
//! (before the driver learns of it). At each, the child tells the parent where it is and waits
//! for a word; the parent either lets it go on or kills it there.
//!
//! The child's activities stand for outside systems with their own database (a second SQLite
//! file): each call is logged, and each effect is stored under its idempotency key, so a call
//! repeated after a crash is recognised instead of performed twice.
//!
//! On PostgreSQL the killed child's claim outlives it, until its lease (half a second here)
//! runs out; the resumed child takes the order over then, as another worker would.
//!
//! Not a libtest harness (`harness = false`): the same binary is the parent, and, with
//! `S7_ROLE=child`, the child.

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the child uses the flow, not the narrating shop")]
mod shop;

#[path = "support/postgres.rs"]
mod pg_server;

use std::collections::BTreeMap;
use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use async_trait::async_trait;
use shop::{Money, ShopError, order, request};
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};
use workflow_core::store::{Record, Snapshot, SqliteStore, Store, StoreError, Summary};
use workflow_core::{InstanceId, StepCtx};

const ORDER: &str = "order-1";

/// The S1 cases, by the order each places.
fn placed(case: &str) -> order::Placed {
    match case {
        "happy" => request(ORDER, "espresso-machine", 1, 49_900),
        "declined" => request(ORDER, "grand-piano", 1, 1_250_000),
        _ => request(ORDER, "out_of_stock", 2, 1_990),
    }
}

fn main() -> ExitCode {
    let outcome = if std::env::var("S7_ROLE").as_deref() == Ok("child") {
        child::run()
    } else {
        parent::run()
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("S7: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The child: runs (or resumes) order `ORDER` to its end, pausing at every point.
mod child {
    use super::{
        Arc, AtomicU32, BufRead, Error, InstanceId, Money, Mutex, ORDER, Ordering, Outcome, Path,
        PathBuf, Record, Runtime, RuntimeError, ShopError, Snapshot, SqliteStore, StepCtx, Store,
        StoreError, Summary, Write, async_trait, order, placed,
    };
    use std::time::Duration;
    use workflow_core::runtime::Host;
    use workflow_core::store::{
        Answer, Claim, Claimed, Commit, CreatedOrPosted, Due, FlowVersion, InboxItem, Lease,
        Message, MessageId, Wake, Watch,
    };
    use workflow_core::store::{PostgresOptions, PostgresStore};

    /// Tells the parent where the child is, and waits for its word (or its kill).
    #[derive(Default)]
    pub struct Pauses {
        next: AtomicU32,
    }

    impl Pauses {
        pub fn pause(&self, what: &str) {
            let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            let mut out = std::io::stdout().lock();
            // The parent reads these; if it is gone, so is the reason to go on.
            writeln!(out, "pause {n} {what}")
                .and_then(|()| out.flush())
                .ok();
            let mut word = String::new();
            std::io::stdin().lock().read_line(&mut word).ok();
        }
    }

    /// What a record is, the same in every run (no times).
    fn kind(kind: &workflow_core::store::RecordKind) -> String {
        use workflow_core::store::RecordKind;
        match kind {
            RecordKind::AttemptFailed { failure, .. } => format!(
                "AttemptFailed {} attempt {}",
                failure.step(),
                failure.attempt()
            ),
            other => format!("{other:?}"),
        }
    }

    /// A store, pausing after each record it commits.
    pub struct PausingStore {
        pub inner: Arc<dyn Store>,
        pub pauses: Arc<Pauses>,
    }

    #[async_trait]
    impl Store for PausingStore {
        async fn create(
            &self,
            snapshot: Snapshot,
            record: Record,
            wake: Wake,
            lease: Option<&Lease>,
        ) -> Result<Option<Claim>, StoreError> {
            let what = format!("record {} {}", record.seq, kind(&record.kind));
            let claim = self.inner.create(snapshot, record, wake, lease).await?;
            self.pauses.pause(&what);
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
            let what = format!("record {} {}", record.seq, kind(&record.kind));
            let done = self
                .inner
                .create_or_post(snapshot, record, wake, lease, message, at_ms)
                .await?;
            self.pauses.pause(&what);
            Ok(done)
        }
        async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError> {
            let what = commit
                .records
                .iter()
                .map(|r| format!("record {} {}", r.seq, kind(&r.kind)))
                .collect::<Vec<_>>()
                .join(", ");
            let records = !commit.records.is_empty();
            self.inner.commit(claim, commit).await?;
            if records {
                self.pauses.pause(&what);
            }
            Ok(())
        }
        async fn claim(
            &self,
            flow: &str,
            id: &InstanceId,
            lease: &Lease,
        ) -> Result<Option<Claimed>, StoreError> {
            self.inner.claim(flow, id, lease).await
        }
        async fn claim_due(
            &self,
            flows: &[FlowVersion],
            lease: &Lease,
            limit: usize,
        ) -> Result<Due, StoreError> {
            self.inner.claim_due(flows, lease, limit).await
        }
        async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError> {
            self.inner.renew(claims, lease).await
        }
        async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
            self.inner.release(claim).await
        }
        async fn post(
            &self,
            flow: &str,
            id: &InstanceId,
            message: Message,
            at_ms: u64,
        ) -> Result<MessageId, StoreError> {
            self.inner.post(flow, id, message, at_ms).await
        }
        async fn answer(
            &self,
            flow: &str,
            id: &InstanceId,
            message: MessageId,
        ) -> Result<Option<Answer>, StoreError> {
            self.inner.answer(flow, id, message).await
        }
        async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError> {
            self.inner.inbox(flow, id).await
        }
        async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
            self.inner.load(flow, id).await
        }
        async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
            self.inner.list(flow).await
        }
        async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
            self.inner.unfinished(flow).await
        }
        async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
            self.inner.history(flow, id).await
        }
        fn watch(&self) -> &Watch {
            self.inner.watch()
        }
        fn poll_interval(&self) -> Option<Duration> {
            self.inner.poll_interval()
        }
    }

    /// The warehouse, the payment provider and the carrier, with their own database.
    pub struct Outside {
        db: Mutex<rusqlite::Connection>,
        pauses: Arc<Pauses>,
    }

    impl Outside {
        pub fn open(path: &Path, pauses: Arc<Pauses>) -> Result<Self, Box<dyn Error>> {
            let db = rusqlite::Connection::open(path)?;
            db.execute_batch(
                "CREATE TABLE IF NOT EXISTS calls (n INTEGER PRIMARY KEY, step TEXT, key TEXT);
                 CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, step TEXT);",
            )?;
            Ok(Self {
                db: Mutex::new(db),
                pauses,
            })
        }

        /// Logs the call, and performs its effect unless one with its key exists. Returns a
        /// reference derived from the key: a repeated call gets the same one.
        fn perform(&self, ctx: &StepCtx, effect: bool) -> String {
            let key = ctx.idempotency_key().unwrap_or("no-key").to_string();
            {
                let db = self.db.lock().unwrap();
                db.execute(
                    "INSERT INTO calls (step, key) VALUES (?1, ?2)",
                    (ctx.step(), &key),
                )
                .unwrap();
                if effect {
                    db.execute(
                        "INSERT OR IGNORE INTO effects (key, step) VALUES (?1, ?2)",
                        (&key, ctx.step()),
                    )
                    .unwrap();
                }
            }
            if effect {
                self.pauses.pause(&format!("effect {}", ctx.step()));
            }
            format!("{}#{}", ctx.step(), key)
        }
    }

    impl order::Activities for Outside {
        type Error = ShopError;

        async fn check_inventory(
            &self,
            from: &order::Placed,
            ctx: &StepCtx,
        ) -> Result<order::CheckInventoryTo, ShopError> {
            if from.order.product == "out_of_stock" {
                self.perform(ctx, false);
                return Ok(order::Cancelled {
                    order_id: from.order.id.clone(),
                    reason: "out of stock".into(),
                }
                .into());
            }
            let hold = self.perform(ctx, true);
            Ok(order::InStock {
                order: from.order.clone(),
                hold,
            }
            .into())
        }
        async fn release_hold(&self, _: &order::InStock, ctx: &StepCtx) -> Result<(), ShopError> {
            self.perform(ctx, true);
            Ok(())
        }
        async fn pay(
            &self,
            from: &order::InStock,
            ctx: &StepCtx,
        ) -> Result<order::Paid, ShopError> {
            if from.order.amount > Money(100_000) {
                self.perform(ctx, false);
                return Err(ShopError::Declined {
                    amount: from.order.amount,
                });
            }
            let charge = self.perform(ctx, true);
            Ok(order::Paid {
                order: from.order.clone(),
                hold: from.hold.clone(),
                charge,
            })
        }
        async fn refund(&self, _: &order::Paid, ctx: &StepCtx) -> Result<(), ShopError> {
            self.perform(ctx, true);
            Ok(())
        }
        async fn reserve_stock(
            &self,
            from: &order::Paid,
            ctx: &StepCtx,
        ) -> Result<order::Reserved, ShopError> {
            let reservation = self.perform(ctx, true);
            Ok(order::Reserved {
                order: from.order.clone(),
                charge: from.charge.clone(),
                reservation,
            })
        }
        async fn unreserve_stock(
            &self,
            _: &order::Reserved,
            ctx: &StepCtx,
        ) -> Result<(), ShopError> {
            self.perform(ctx, true);
            Ok(())
        }
        async fn create_shipping_note(
            &self,
            from: &order::Reserved,
            ctx: &StepCtx,
        ) -> Result<order::Shipped, ShopError> {
            let tracking = self.perform(ctx, true);
            Ok(order::Shipped {
                order: from.order.clone(),
                tracking,
            })
        }
    }

    /// How the order ended, as one line the parent compares.
    fn describe(finished: &Outcome<order::State>) -> String {
        let state = serde_json::to_string(finished.state()).unwrap_or_default();
        match finished {
            Outcome::Completed(_) => format!("completed {state}"),
            Outcome::Failed {
                failure, report, ..
            } => format!(
                "failed at {} attempt {} ({}), undone {:?}, {state}",
                failure.step(),
                failure.attempt(),
                failure.kind(),
                report.undone_steps()
            ),
            Outcome::Cancelled { report, .. } => {
                format!("cancelled, undone {:?}, {state}", report.undone_steps())
            }
        }
    }

    pub fn run() -> Result<(), Box<dyn Error>> {
        let db = PathBuf::from(std::env::var("S7_DB")?);
        let outside = PathBuf::from(std::env::var("S7_OUTSIDE")?);
        let case = std::env::var("S7_CASE")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            let pauses = Arc::new(Pauses::default());
            let inner: Arc<dyn Store> = match std::env::var("S7_POSTGRES") {
                Ok(url) => {
                    let options = PostgresOptions::new().poll_interval(Duration::from_millis(100));
                    Arc::new(PostgresStore::connect_with(&url, &options).await?)
                }
                Err(_) => Arc::new(SqliteStore::open(&db)?),
            };
            let store = PausingStore {
                inner,
                pauses: Arc::clone(&pauses),
            };
            let runtime = Runtime::<order::Flow, _>::with_host(
                Outside::open(&outside, Arc::clone(&pauses))?,
                Host::builder()
                    .store(Arc::new(store))
                    .lease(Duration::from_millis(500)),
            );
            let resumed = runtime.resume().await?;
            let id = InstanceId::new(ORDER);
            if resumed.instances.is_empty() {
                match runtime.start_with_id(ORDER, placed(&case)).await {
                    // Not there yet: a fresh start.
                    Ok(_) => {}
                    // It ended before the last run was killed.
                    Err(rejected) if matches!(rejected.error, RuntimeError::Duplicate(_)) => {}
                    Err(rejected) => return Err(rejected.error.into()),
                }
            }
            let finished = runtime.outcome(&id).await?;
            println!("end {}", describe(&finished));
            Ok(())
        })
    }
}

/// The parent: runs each case uninterrupted, then killed at each point in turn.
mod parent {
    use super::pg_server;
    use super::{
        BTreeMap, BufRead, BufReader, Child, ChildStdin, Command, Duration, Error, Path, Stdio,
        Write, mpsc,
    };

    /// What one child run did.
    struct ChildRun {
        /// The points it paused at, in order.
        pauses: Vec<String>,
        /// How the order ended, unless the child was killed.
        end: Option<String>,
    }

    /// What the outside systems saw, by step: (effects, calls).
    type Effects = BTreeMap<String, (u32, u32)>;

    fn effects(path: &Path) -> Result<Effects, Box<dyn Error>> {
        let db = rusqlite::Connection::open(path)?;
        let mut seen = Effects::new();
        let mut calls = db.prepare("SELECT step, count(*) FROM calls GROUP BY step")?;
        for row in calls.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?))
        })? {
            let (step, n) = row?;
            seen.entry(step).or_default().1 = n;
        }
        let mut done = db.prepare("SELECT step, count(*) FROM effects GROUP BY step")?;
        for row in done.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, u32>(1)?))
        })? {
            let (step, n) = row?;
            seen.entry(step).or_default().0 = n;
        }
        Ok(seen)
    }

    fn tell(stdin: &mut ChildStdin) {
        // A child that died on its own is noticed when its output ends.
        writeln!(stdin, "go").and_then(|()| stdin.flush()).ok();
    }

    /// Where a run keeps the order: a SQLite file in its directory, or a PostgreSQL
    /// database.
    #[derive(Clone, Copy)]
    enum Backend<'a> {
        Sqlite,
        Postgres(&'a pg_server::Server),
    }

    /// A fresh place for one run's order: a directory, and a database on PostgreSQL.
    fn place(backend: Backend<'_>, name: &str) -> Result<Place, Box<dyn Error>> {
        let dir = tempfile::tempdir()?;
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres(server) => {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                Some(rt.block_on(server.database(name)).url)
            }
        };
        Ok(Place { dir, postgres })
    }

    struct Place {
        dir: tempfile::TempDir,
        postgres: Option<String>,
    }

    /// Runs the child at `place` for `case`, killing it at pause `kill_at`, if given.
    fn run_child(
        place: &Place,
        case: &str,
        kill_at: Option<usize>,
    ) -> Result<ChildRun, Box<dyn Error>> {
        let dir = place.dir.path();
        let mut command = Command::new(std::env::current_exe()?);
        if let Some(url) = &place.postgres {
            command.env("S7_POSTGRES", url);
        }
        let mut child: Child = command
            .env("S7_ROLE", "child")
            .env("S7_DB", dir.join("orders.sqlite"))
            .env("S7_OUTSIDE", dir.join("outside.sqlite"))
            .env("S7_CASE", case)
            .env("RUST_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (lines, next_line) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let mut run = ChildRun {
            pauses: Vec::new(),
            end: None,
        };
        loop {
            let line = match next_line.recv_timeout(Duration::from_mins(1)) {
                Ok(line) => line?,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    child.kill().ok();
                    return Err(
                        format!("{case}: the child hung after {:?}", run.pauses.last()).into(),
                    );
                }
            };
            if let Some(point) = line.strip_prefix("pause ") {
                run.pauses.push(point.to_string());
                if Some(run.pauses.len()) == kill_at {
                    child.kill()?; // SIGKILL
                    child.wait()?;
                    return Ok(run);
                }
                tell(&mut stdin);
            } else if let Some(end) = line.strip_prefix("end ") {
                run.end = Some(end.to_string());
            }
        }
        let status = child.wait()?;
        if !status.success() {
            return Err(format!(
                "{case}: the child failed ({status}) after {:?}",
                run.pauses.last()
            )
            .into());
        }
        Ok(run)
    }

    pub fn run() -> Result<(), Box<dyn Error>> {
        run_on(Backend::Sqlite, "SQLite")?;
        if let Some(server) = pg_server::Server::shared() {
            run_on(Backend::Postgres(server), "PostgreSQL")
        } else {
            // `Server::shared` panics instead when CI is set; this says so where it skips.
            assert!(
                std::env::var_os("CI").is_none(),
                "S7 on PostgreSQL: no server, with CI set"
            );
            println!("S7 on PostgreSQL skipped: no server");
            Ok(())
        }
    }

    fn run_on(backend: Backend<'_>, store: &str) -> Result<(), Box<dyn Error>> {
        let mut points = 0;
        for case in ["happy", "declined", "out_of_stock"] {
            let baseline_place = place(backend, &format!("s7_{case}"))?;
            let dir = baseline_place.dir.path();
            let baseline = run_child(&baseline_place, case, None)?;
            let expected_end = baseline
                .end
                .clone()
                .ok_or("the uninterrupted run did not end")?;
            let uninterrupted = effects(&dir.join("outside.sqlite"))?;
            let expected_effects: BTreeMap<String, u32> = uninterrupted
                .iter()
                .map(|(step, (done, _))| (step.clone(), *done))
                .collect();
            println!(
                "S7 {store} {case}: {} points; uninterrupted: {expected_end}",
                baseline.pauses.len()
            );
            println!("S7 {store} {case}: effects {expected_effects:?}");
            for (at, point) in baseline.pauses.iter().enumerate() {
                let kill_at = at + 1;
                let place = place(backend, &format!("s7_{case}_{kill_at}"))?;
                let killed = run_child(&place, case, Some(kill_at))?;
                if killed.pauses.last() != Some(point) {
                    return Err(format!(
                        "{case}: point {kill_at} was `{point}` uninterrupted but `{:?}` this time",
                        killed.pauses.last()
                    )
                    .into());
                }
                let resumed = run_child(&place, case, None)?;
                let end = resumed.end.ok_or("the resumed run did not end")?;
                let seen = effects(&place.dir.path().join("outside.sqlite"))?;
                let done: BTreeMap<String, u32> = seen
                    .iter()
                    .map(|(step, (done, _))| (step.clone(), *done))
                    .collect();
                let mut problems = Vec::new();
                if end != expected_end {
                    problems.push(format!("ended `{end}`, expected `{expected_end}`"));
                }
                if done != expected_effects {
                    problems.push(format!("effects {done:?}, expected {expected_effects:?}"));
                }
                if let Some((step, _)) = seen.iter().find(|(_, (effects, _))| *effects > 1) {
                    problems.push(format!("`{step}` took effect more than once"));
                }
                if !problems.is_empty() {
                    return Err(format!(
                        "{store} {case}, killed after `{point}` (point {kill_at}): {}",
                        problems.join("; ")
                    )
                    .into());
                }
                // Calls made again after the restart, recognised by their key.
                let repeated: Vec<&String> = seen
                    .iter()
                    .filter(|(step, (_, calls))| {
                        *calls > uninterrupted.get(*step).map_or(0, |(_, calls)| *calls)
                    })
                    .map(|(step, _)| step)
                    .collect();
                println!(
                    "S7 {store} {case}: killed after `{point}`: same end, same effects; called again: {repeated:?}"
                );
                points += 1;
            }
        }
        println!(
            "S7 on {store}: {points} kill points, every one resumed to the same end with every \
             effect once"
        );
        Ok(())
    }
}
