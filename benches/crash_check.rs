//! The crash checker's cost per kill point: S1's three paths (the order example's flow and
//! shop), each stopped after every write in turn and resumed, in virtual time on the
//! in-memory store; the time of a whole check divided by its kill points, side by side with
//! one uninterrupted run of the same path.
//!
//! `cargo bench --bench crash_check`

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;

use criterion::{Criterion, criterion_group, criterion_main};
use shop::{Shop, order, request};
use workflow_core::runtime::Runtime;
use workflow_core::testing::{CallLog, crash_check};

fn crash_points(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("s1_crash_check");
    for (name, product, amount) in [
        ("happy_4_points", "espresso-machine", 49_900),
        ("declined_5_points", "grand-piano", 100_001),
    ] {
        group.bench_function(format!("{name}/whole_check"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let placed = request("order-1", product, 1, amount);
                    crash_check::<order::Flow, _>(placed, Shop::new)
                        .await
                        .unwrap()
                })
            });
        });
        group.bench_function(format!("{name}/one_run"), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let runtime = Runtime::<order::Flow, _>::new(Shop::new(CallLog::new()));
                    let id = runtime
                        .start(request("order-1", product, 1, amount))
                        .await
                        .unwrap();
                    let outcome = runtime.outcome(&id).await.unwrap();
                    runtime.shutdown().await;
                    outcome
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, crash_points);
criterion_main!(benches);
