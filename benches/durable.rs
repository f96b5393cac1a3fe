//! Durable transitions on the SQLite store, side by side in one run, on the same disk, with the
//! same durability settings (write-ahead log, a full sync at every commit):
//!
//! - `one_instance/driver`: one instance of a flow of ten automatic transitions (each
//!   recording an undo), started and awaited from a task on a host that is already running,
//!   driven to its end on a `SqliteStore` (its start is one more commit: eleven commits for
//!   ten transitions);
//! - `one_instance/plain_loop`: a loop inserting and committing one row per transition into
//!   a SQLite table, the least any durable engine must do;
//! - `concurrent/driver_N`: N instances of the same flow at once (1, 10, 100, 1,000), sharing
//!   commits.
//!
//! Each reports transitions per second (criterion's "thrpt"). A shared disk's speed drifts
//! over seconds, more than the gap measured, so the run ends with the figures the targets
//! compare taken again interleaved, run by run, and their ratios; the last line is
//! `ratio driver/plain_loop X.XX`.
//!
//! `cargo bench --bench durable`

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime as Tokio;
use workflow_core::runtime::Runtime;
use workflow_core::store::SqliteStore;

#[path = "common/ten.rs"]
mod flow;

use flow::ten;

#[path = "common/acts.rs"]
mod acts;

#[path = "common/timed.rs"]
mod timed;

use acts::{Acts, run_one};
use timed::{driver_runs, tokio};

/// No-op activities: what is measured is the durable record of each transition.
const ACTS: Acts = Acts {
    work: Duration::ZERO,
};

const TRANSITIONS: u64 = 10;
const CONCURRENCY: [u64; 4] = [1, 10, 100, 1_000];

/// A runtime on a store in `dir`, its host started.
fn driver(rt: &Tokio, dir: &Path) -> Runtime<ten::Flow, Acts> {
    let store = Arc::new(SqliteStore::open(dir.join("driver.sqlite")).unwrap());
    let runtime = Runtime::with_store(ACTS, store);
    rt.block_on(runtime.resume()).unwrap();
    runtime
}

/// `instances` instances at once, each awaited by a task of its own.
fn driver_at_once(rt: &Tokio, runtime: &Runtime<ten::Flow, Acts>, instances: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..instances)
            .map(|_| {
                let runtime = runtime.clone();
                tokio::spawn(async move { run_one(&runtime).await })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        start.elapsed()
    })
}

/// A SQLite file with the store's durability settings: write-ahead log, a full sync at every
/// commit.
fn plain(dir: &Path) -> rusqlite::Connection {
    let plain = rusqlite::Connection::open(dir.join("plain.sqlite")).unwrap();
    plain
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE transitions (id INTEGER PRIMARY KEY, instance TEXT, seq INTEGER, state TEXT);",
        )
        .unwrap();
    plain
}

/// `runs` times, one row inserted and committed per transition.
fn plain_loop(plain: &rusqlite::Connection, runs: u64) -> Duration {
    let mut insert = plain
        .prepare_cached("INSERT INTO transitions (instance, seq, state) VALUES (?1, ?2, ?3)")
        .unwrap();
    let start = Instant::now();
    for _ in 0..runs {
        for seq in 1..=TRANSITIONS.cast_signed() {
            let state = format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#);
            insert.execute(("instance", seq, state)).unwrap();
        }
    }
    start.elapsed()
}

fn durable(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio();
    let runtime = driver(&rt, dir.path());
    let plain = plain(dir.path());

    let mut one = c.benchmark_group("one_instance");
    one.throughput(Throughput::Elements(TRANSITIONS));
    one.bench_function("driver", |b| {
        b.iter_custom(|runs| driver_runs(&rt, &runtime, runs));
    });
    one.bench_function("plain_loop", |b| {
        b.iter_custom(|runs| plain_loop(&plain, runs));
    });
    one.finish();

    let mut many = c.benchmark_group("concurrent");
    many.sample_size(10);
    many.measurement_time(Duration::from_secs(10));
    for instances in CONCURRENCY {
        many.throughput(Throughput::Elements(TRANSITIONS * instances));
        many.bench_function(format!("driver_{instances}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| driver_at_once(&rt, &runtime, instances))
                    .sum()
            });
        });
    }
    many.finish();
}

/// The figures the targets compare, taken again alternating for `seconds`, so that all see
/// the same disk: transitions per second of the plain loop, of one instance, and of each
/// number of instances at once.
fn interleaved(seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio();
    let runtime = driver(&rt, dir.path());
    let plain = plain(dir.path());
    let mut looped = (Duration::ZERO, 0_u64);
    let mut at_once = [(Duration::ZERO, 0_u64); CONCURRENCY.len()];
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        looped.0 += plain_loop(&plain, 10);
        looped.1 += 10 * TRANSITIONS;
        for (slot, instances) in at_once.iter_mut().zip(CONCURRENCY) {
            let rounds = (100 / instances).max(1);
            for _ in 0..rounds {
                slot.0 += if instances == 1 {
                    driver_runs(&rt, &runtime, 1)
                } else {
                    driver_at_once(&rt, &runtime, instances)
                };
                slot.1 += instances * TRANSITIONS;
            }
        }
    }
    #[allow(
        clippy::cast_precision_loss,
        reason = "counts of transitions, far below 2^52"
    )]
    let rate = |(time, transitions): (Duration, u64)| transitions as f64 / time.as_secs_f64();
    let plain_rate = rate(looped);
    let one = rate(at_once[0]);
    println!("interleaved over {seconds}s: plain_loop {plain_rate:.0} transitions/s");
    for ((time, transitions), instances) in at_once.into_iter().zip(CONCURRENCY) {
        let per_second = rate((time, transitions));
        println!(
            "  {instances:>5} instance(s) at once: {per_second:>8.0} transitions/s, {:>6.2}x one instance, {:>5.2}x plain_loop",
            per_second / one,
            per_second / plain_rate,
        );
    }
    println!("ratio driver/plain_loop {:.2}", one / plain_rate);
}

criterion_group!(benches, durable);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    interleaved(20);
}
