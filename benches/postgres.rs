//! Durable transitions on the PostgreSQL store, on a throwaway cluster the benchmark starts
//! (or the server `WORKFLOW_TEST_POSTGRES` names), with the server's durability settings
//! (fsync on, a synchronous commit per transaction):
//!
//! - `one_instance/driver`: one instance of the flow of ten automatic transitions, started
//!   and awaited from a task on a running host, on a `PostgresStore` (eleven commits: the
//!   start is one);
//! - `one_instance/plain_loop`: a loop inserting one row per transition into a table of the
//!   same server, each its own committed statement: the least any durable engine must do.
//!
//! Then, without criterion (whole processes):
//!
//! - **workers**: 1,000 instances of the same flow, started from a process that runs no flow,
//!   run by 1, 2 and 3 worker processes (this binary again): instances per second, and how it
//!   scales;
//! - **failover**: a worker holding an instance that waits for an event is killed (SIGKILL);
//!   the event is sent; the time until another worker has ended the instance, against the
//!   lease length.
//!
//! The last lines are `ratio driver/plain_loop X.XX` and the workers and failover figures.
//!
//! `cargo bench --bench postgres`

#[path = "../tests/support/postgres.rs"]
mod pg_server;

#[path = "common/ten.rs"]
mod flow;

#[path = "common/acts.rs"]
mod acts;

#[path = "common/timed.rs"]
mod timed;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acts::Acts;
use criterion::{Criterion, Throughput};
use flow::ten;
use timed::{driver_runs, tokio};
use tokio::runtime::Runtime as Tokio;
use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host, Runtime};
use workflow_core::store::{PostgresOptions, PostgresStore, Store, WorkerId};

const ACTS: Acts = Acts {
    work: Duration::ZERO,
};
const TRANSITIONS: u64 = 10;
const INSTANCES: usize = 1_000;
const LEASE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Knock;

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Door {
        initial Closed {}
        final   Open {}
        open: Closed -> Open, on Knock;
    }
}

impl door::Activities for Acts {
    type Error = std::convert::Infallible;
    async fn open(
        &self,
        _: &door::Closed,
        _: &Knock,
        _: &StepCtx,
    ) -> Result<door::Open, std::convert::Infallible> {
        Ok(door::Open {})
    }
}

async fn store(url: &str) -> Arc<dyn Store> {
    let options = PostgresOptions::new().poll_interval(Duration::from_millis(250));
    Arc::new(PostgresStore::connect_with(url, &options).await.unwrap())
}

/// `runs` times, one row inserted and committed per transition.
fn plain_loop(rt: &Tokio, plain: &tokio_postgres::Client, runs: u64) -> Duration {
    rt.block_on(async {
        let insert = plain
            .prepare("INSERT INTO transitions (instance, seq, state) VALUES ($1, $2, $3)")
            .await
            .unwrap();
        let start = Instant::now();
        for _ in 0..runs {
            for seq in 1..=TRANSITIONS.cast_signed() {
                let state = format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#);
                plain
                    .execute(&insert, &[&"instance", &seq, &state])
                    .await
                    .unwrap();
            }
        }
        start.elapsed()
    })
}

fn one_instance(c: &mut Criterion, rt: &Tokio, server: &pg_server::Server) -> f64 {
    let (runtime, plain) = rt.block_on(async {
        let db = server.database("bench_one").await;
        let runtime = Runtime::with_store(ACTS, store(&db.url).await);
        runtime.resume().await.unwrap();
        let plain = db.connect().await;
        plain
            .batch_execute(
                "CREATE TABLE transitions (id bigserial PRIMARY KEY, instance text, seq bigint, \
                 state text)",
            )
            .await
            .unwrap();
        (runtime, plain)
    });
    let mut one = c.benchmark_group("postgres_one_instance");
    one.throughput(Throughput::Elements(TRANSITIONS));
    one.bench_function("driver", |b| {
        b.iter_custom(|runs| driver_runs(rt, &runtime, runs));
    });
    one.bench_function("plain_loop", |b| {
        b.iter_custom(|runs| plain_loop(rt, &plain, runs));
    });
    one.finish();
    // Taken again interleaved, so that both see the same disk.
    let (mut driver, mut looped, mut rounds) = (Duration::ZERO, Duration::ZERO, 0_u32);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        driver += driver_runs(rt, &runtime, 10);
        looped += plain_loop(rt, &plain, 10);
        rounds += 1;
    }
    let transitions = f64::from(rounds) * 10.0 * 10.0;
    println!(
        "interleaved over 20s: driver {:.0} transitions/s, plain_loop {:.0} transitions/s",
        transitions / driver.as_secs_f64(),
        transitions / looped.as_secs_f64(),
    );
    looped.as_secs_f64() / driver.as_secs_f64()
}

/// A worker process: this binary with `BENCH_ROLE=worker`.
fn spawn_worker(url: &str, name: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("BENCH_ROLE", "worker")
        .env("BENCH_URL", url)
        .env("BENCH_NAME", name)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the worker started");
    child
}

fn worker() {
    let rt = tokio();
    rt.block_on(async {
        let url = std::env::var("BENCH_URL").unwrap();
        let host = Host::builder()
            .store(store(&url).await)
            .flow(ten::Flow, ACTS)
            .flow(door::Flow, ACTS)
            .worker(WorkerId::new(std::env::var("BENCH_NAME").unwrap()))
            .lease(LEASE)
            .build();
        host.resume().await.unwrap();
        println!("ready");
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {}
        })
        .await
        .unwrap();
        host.shutdown().await;
    });
}

fn stop(mut workers: Vec<Child>) {
    for worker in &mut workers {
        drop(worker.stdin.take());
    }
    for mut worker in workers {
        worker.wait().unwrap();
    }
}

/// Instances per second with `n` worker processes.
fn workers(rt: &Tokio, server: &pg_server::Server, n: usize) -> f64 {
    let db = rt.block_on(server.database(&format!("bench_workers_{n}")));
    let workers: Vec<Child> = (0..n)
        .map(|i| spawn_worker(&db.url, &format!("w-{i}")))
        .collect();
    let elapsed = rt.block_on(async {
        let client = Client::<ten::Flow>::new(store(&db.url).await);
        let start = Instant::now();
        for _ in 0..INSTANCES {
            client.start(ten::S0 { n: 0 }).await.unwrap();
        }
        let deadline = Instant::now() + Duration::from_mins(5);
        while !client.store().unfinished("Ten").await.unwrap().is_empty() {
            assert!(Instant::now() < deadline, "the instances never ended");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        start.elapsed()
    });
    stop(workers);
    #[allow(clippy::cast_precision_loss, reason = "a thousand instances")]
    let rate = INSTANCES as f64 / elapsed.as_secs_f64();
    rate
}

/// From a worker's death to its instance ended elsewhere, `rounds` times.
fn failover(rt: &Tokio, server: &pg_server::Server, rounds: usize) -> Vec<Duration> {
    let db = rt.block_on(server.database("bench_failover"));
    let mut times = Vec::new();
    for round in 0..rounds {
        let mut first = spawn_worker(&db.url, &format!("a-{round}"));
        let client = rt.block_on(async { Client::<door::Flow>::new(store(&db.url).await) });
        let id = rt.block_on(async {
            let id = client.start(door::Closed {}).await.unwrap();
            // Claimed by the only worker, and waiting in its memory.
            loop {
                let held: bool = db
                    .connect()
                    .await
                    .query_one(
                        "SELECT worker IS NOT NULL FROM workflow.instances WHERE id = $1",
                        &[&id.as_str()],
                    )
                    .await
                    .unwrap()
                    .get(0);
                if held {
                    break id;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        let second = spawn_worker(&db.url, &format!("b-{round}"));
        first.kill().unwrap();
        first.wait().unwrap();
        let killed = Instant::now();
        rt.block_on(async {
            client.send(&id, Knock).await.unwrap();
            client.outcome(&id).await.unwrap();
        });
        times.push(killed.elapsed());
        stop(vec![second]);
    }
    times
}

fn main() {
    if std::env::var("BENCH_ROLE").as_deref() == Ok("worker") {
        worker();
        return;
    }
    let Some(server) = pg_server::Server::shared() else {
        println!("no PostgreSQL server: nothing measured");
        return;
    };
    let rt = tokio();
    let mut c = Criterion::default().configure_from_args();
    let ratio = one_instance(&mut c, &rt, server);
    c.final_summary();
    let rates: Vec<f64> = (1..=3).map(|n| workers(&rt, server, n)).collect();
    for (n, rate) in rates.iter().enumerate() {
        println!(
            "workers: {} process(es), {INSTANCES} instances of ten transitions: {rate:.0} instances/s ({:.2}x one process)",
            n + 1,
            rate / rates[0]
        );
    }
    let times = failover(&rt, server, 5);
    let ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    println!(
        "failover: lease {}ms; from the kill to the instance ended elsewhere: {ms:?} ms",
        LEASE.as_millis()
    );
    println!("ratio driver/plain_loop {ratio:.2}");
}
