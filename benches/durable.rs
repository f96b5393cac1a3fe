//! Durable transitions on the SQLite store, side by side in one run, on the same disk, with the
//! same durability settings (write-ahead log, a full sync at every commit):
//!
//! - `one_instance/driver`: one instance of a flow of ten automatic transitions (each
//!   recording an undo), started and awaited from a task on the runtime and run to its end by
//!   the driver on a `SqliteStore` (its start is one more commit, counted as overhead);
//! - `one_instance/plain_loop`: a loop inserting and committing one row per transition into
//!   a SQLite table, the least any durable engine must do;
//! - `one_instance/plain_two_rows`: a hand-written loop committing, per transition, what
//!   resuming and a history need at the least: the instance's row updated and a history row
//!   appended (statements prepared once);
//! - `concurrent/driver_1000_instances`: 1,000 instances of the same flow at once, sharing
//!   commits.
//!
//! Each reports transitions per second (criterion's "thrpt"). A shared disk's speed drifts
//! over seconds, more than the gap measured, so the run ends with the two single-instance
//! figures the targets compare taken again interleaved, run by run, and their ratio.
//!
//! `cargo bench --bench durable`

use std::convert::Infallible;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use tokio::runtime::Runtime as Tokio;
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::SqliteStore;

#[path = "common/ten.rs"]
mod flow;

use flow::ten;

use ten::{S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10};

/// No-op activities: what is measured is the durable record of each transition.
struct Acts;

macro_rules! activities {
    ($($step:ident $undo:ident: $from:ident -> $to:ident;)*) => {
        impl ten::Activities for Acts {
            type Error = Infallible;
            $(
                async fn $step(&self, from: &$from, _: &StepCtx) -> Result<$to, Infallible> {
                    Ok($to { n: from.n + 1 })
                }
                async fn $undo(&self, _: &$to, _: &StepCtx) -> Result<(), Infallible> {
                    Ok(())
                }
            )*
        }
    };
}

activities! {
    t1 u1: S0 -> S1; t2 u2: S1 -> S2; t3 u3: S2 -> S3; t4 u4: S3 -> S4; t5 u5: S4 -> S5;
    t6 u6: S5 -> S6; t7 u7: S6 -> S7; t8 u8: S7 -> S8; t9 u9: S8 -> S9; t10 u10: S9 -> S10;
}

const TRANSITIONS: u64 = 10;
const CONCURRENT: u64 = 1_000;

fn tokio() -> Tokio {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn driver(dir: &Path) -> Runtime<ten::Flow, Acts> {
    let store = Arc::new(SqliteStore::open(dir.join("driver.sqlite")).unwrap());
    Runtime::with_store(Acts, store)
}

async fn run_one(runtime: &Runtime<ten::Flow, Acts>) {
    let id = runtime.start(S0 { n: 0 }).await.unwrap();
    let Ok(Outcome::Completed(state)) = runtime.outcome(&id).await else {
        unreachable!("the flow cannot fail")
    };
    black_box(state);
}

/// `runs` instances one after the other, started and awaited from a task on the runtime, as
/// a service would.
fn driver_runs(rt: &Tokio, runtime: &Runtime<ten::Flow, Acts>, runs: u64) -> Duration {
    let runtime = runtime.clone();
    rt.block_on(async move {
        tokio::spawn(async move {
            let start = Instant::now();
            for _ in 0..runs {
                run_one(&runtime).await;
            }
            start.elapsed()
        })
        .await
        .unwrap()
    })
}

/// A SQLite file with the store's durability settings: write-ahead log, a full sync at every
/// commit.
fn plain(dir: &Path) -> rusqlite::Connection {
    let plain = rusqlite::Connection::open(dir.join("plain.sqlite")).unwrap();
    plain
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE transitions (id INTEGER PRIMARY KEY, instance TEXT, seq INTEGER, state TEXT);
             CREATE TABLE snapshots (id TEXT PRIMARY KEY, seq INTEGER, state TEXT) WITHOUT ROWID;
             CREATE TABLE history (instance TEXT, seq INTEGER, record TEXT, PRIMARY KEY (instance, seq)) WITHOUT ROWID;
             INSERT INTO snapshots VALUES ('instance', 0, '');",
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
    let runtime = driver(dir.path());
    let plain = plain(dir.path());

    let mut one = c.benchmark_group("one_instance");
    one.throughput(Throughput::Elements(TRANSITIONS));
    one.bench_function("driver", |b| {
        b.iter_custom(|runs| driver_runs(&rt, &runtime, runs));
    });
    one.bench_function("plain_loop", |b| {
        b.iter_custom(|runs| plain_loop(&plain, runs));
    });
    let mut seq = 0_i64;
    one.bench_function("plain_two_rows", |b| {
        b.iter(|| {
            for _ in 0..TRANSITIONS {
                seq += 1;
                let state = format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#);
                plain.prepare_cached("BEGIN").unwrap().execute([]).unwrap();
                plain
                    .prepare_cached(
                        "UPDATE snapshots SET seq = ?1, state = ?2 WHERE id = 'instance'",
                    )
                    .unwrap()
                    .execute((seq, &state))
                    .unwrap();
                plain
                    .prepare_cached(
                        "INSERT INTO history (instance, seq, record) VALUES ('instance', ?1, ?2)",
                    )
                    .unwrap()
                    .execute((seq, r#"{"Transition":{"transition":"t1","attempt":1}}"#))
                    .unwrap();
                plain.prepare_cached("COMMIT").unwrap().execute([]).unwrap();
            }
        });
    });
    one.finish();

    let mut many = c.benchmark_group("concurrent");
    many.throughput(Throughput::Elements(TRANSITIONS * CONCURRENT));
    many.sample_size(10);
    many.measurement_time(Duration::from_secs(20));
    many.bench_function("driver_1000_instances", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..CONCURRENT)
                    .map(|_| {
                        let runtime = runtime.clone();
                        tokio::spawn(async move { run_one(&runtime).await })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        });
    });
    many.finish();
}

/// The driver and the plain loop again, alternating every ten runs for ten seconds, so both
/// see the same disk: their transitions per second and the ratio the target is about.
fn interleaved() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio();
    let runtime = driver(dir.path());
    let plain = plain(dir.path());
    let (mut driven, mut looped, mut runs) = (Duration::ZERO, Duration::ZERO, 0_u32);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        driven += driver_runs(&rt, &runtime, 10);
        looped += plain_loop(&plain, 10);
        runs += 10;
    }
    let per_second = |time: Duration| f64::from(runs * 10) / time.as_secs_f64();
    println!(
        "one_instance interleaved over {runs} runs each: driver {:.0} transitions/s, \
         plain_loop {:.0} transitions/s, ratio {:.2}",
        per_second(driven),
        per_second(looped),
        looped.as_secs_f64() / driven.as_secs_f64()
    );
}

criterion_group!(benches, durable);

fn main() {
    benches();
    interleaved();
    Criterion::default().configure_from_args().final_summary();
}
