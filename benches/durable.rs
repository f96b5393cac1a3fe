//! Durable transitions on the SQLite store, side by side in one run, on the same disk, with the
//! same durability settings (write-ahead log, a full sync at every commit):
//!
//! - `one_instance/driver`: one instance of a flow of ten automatic transitions (each
//!   recording an undo), run to its end by the driver on a `SqliteStore` (its start is one
//!   more commit, counted as overhead);
//! - `one_instance/plain_loop`: a loop inserting and committing one row per transition into
//!   a SQLite table, the least any durable engine must do;
//! - `one_instance/plain_two_rows`: a hand-written loop committing, per transition, what
//!   resuming and a history need at the least: the instance's row updated and a history row
//!   appended (statements prepared once);
//! - `concurrent/driver_1000_instances`: 1,000 instances of the same flow at once, sharing
//!   commits.
//!
//! Each reports transitions per second (criterion's "thrpt").
//!
//! `cargo bench --bench durable`

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workflow_core::prelude::*;
use workflow_core::runtime::{Finished, Runtime};
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

async fn run_one(runtime: &Runtime<ten::Flow, Acts>) {
    let id = runtime.start(S0 { n: 0 }).await.unwrap();
    let Ok(Finished::Completed(state)) = runtime.outcome(&id).await else {
        unreachable!("the flow cannot fail")
    };
    black_box(state);
}

fn durable(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("driver.sqlite")).unwrap());
    let runtime = Runtime::<ten::Flow, _>::with_store(Acts, store);

    // The same settings as the store: write-ahead log, a full sync at every commit.
    let plain = rusqlite::Connection::open(dir.path().join("plain.sqlite")).unwrap();
    plain
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE transitions (id INTEGER PRIMARY KEY, instance TEXT, seq INTEGER, state TEXT);
             CREATE TABLE snapshots (id TEXT PRIMARY KEY, seq INTEGER, state TEXT) WITHOUT ROWID;
             CREATE TABLE history (instance TEXT, seq INTEGER, record TEXT, PRIMARY KEY (instance, seq)) WITHOUT ROWID;
             INSERT INTO snapshots VALUES ('instance', 0, '');",
        )
        .unwrap();
    let mut insert = plain
        .prepare("INSERT INTO transitions (instance, seq, state) VALUES (?1, ?2, ?3)")
        .unwrap();

    let mut one = c.benchmark_group("one_instance");
    one.throughput(Throughput::Elements(TRANSITIONS));
    one.bench_function("driver", |b| b.iter(|| rt.block_on(run_one(&runtime))));
    one.bench_function("plain_loop", |b| {
        b.iter(|| {
            for seq in 1..=TRANSITIONS.cast_signed() {
                let state = format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#);
                insert.execute(("instance", seq, state)).unwrap();
            }
        });
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

criterion_group!(benches, durable);
criterion_main!(benches);
