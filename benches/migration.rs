//! Typed migration on SQLite: 10,000 stored v1 orders (S1's flow) moved to v2 (S15: a fraud
//! check before payment), one write each, side by side with storing the same 10,000 orders.
//!
//! `cargo bench --bench migration`

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;
#[path = "../examples/order/v2.rs"]
mod v2_flow;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shop::{order, request};
use v2_flow::{to_v2, v2};
use workflow_core::runtime::{Client, Migration};
use workflow_core::store::{SqliteStore, Store};

const ORDERS: u64 = 10_000;

/// A fresh SQLite file with `ORDERS` v1 orders waiting in `Placed`, and how long storing
/// them took.
fn stored_orders(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, Arc<dyn Store>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("orders.db")).unwrap());
    let took = rt.block_on(async {
        let v1 = Client::<order::Flow>::new(Arc::clone(&store));
        let begun = Instant::now();
        for n in 0..ORDERS {
            let id = format!("order-{n}");
            v1.start_with_id(id.as_str(), request(&id, "lamp", 1, 10_000))
                .await
                .unwrap();
        }
        begun.elapsed()
    });
    (dir, store, took)
}

fn migration(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("migration_10000_orders_sqlite");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ORDERS));
    group.bench_function("store_them", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| stored_orders(&rt).2).sum());
    });
    group.bench_function("migrate_them", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let (_dir, store, _) = stored_orders(&rt);
                    let migration = Migration::<order::Flow, v2::order::Flow, _>::new(store, to_v2);
                    let begun = Instant::now();
                    let report = rt.block_on(migration.all()).unwrap();
                    let took = begun.elapsed();
                    assert_eq!(report.moved.len() as u64, ORDERS);
                    took
                })
                .sum()
        });
    });
    group.finish();
}

criterion_group!(benches, migration);
criterion_main!(benches);
