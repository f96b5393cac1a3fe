//! Driver overhead per step: a flow of ten automatic transitions, each with an undo, run by the
//! driver on the in-memory store, side by side in one run with two hand-written async
//! functions making the same ten activity calls: one that records nothing (`by_hand`), and
//! one that records what the driver records, the way a careful engineer would by hand: after
//! each step, the state as JSON, the undo chain and one history record, written to the same
//! store (`by_hand_recorded`). With no-op activities, and with activities doing about 10 µs of
//! work, a cheap real call.
//!
//! Both sides write to one store for the whole run, where instances pile up alike; the
//! driver's host is started before timing begins, as in a running service.
//!
//! `cargo bench --bench driver`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use workflow_core::runtime::Runtime;
use workflow_core::store::MemoryStore;

#[path = "common/ten.rs"]
mod flow;

use flow::ten;

use ten::S0;

#[path = "common/acts.rs"]
mod acts;
#[path = "common/by_hand.rs"]
mod by_hand;

use acts::{Acts, run_one};
use by_hand::{by_hand, by_hand_recorded};

fn driver(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (label, work) in [
        ("noop", Duration::ZERO),
        ("10us", Duration::from_micros(10)),
    ] {
        let acts = Acts { work };
        let mut group = c.benchmark_group(format!("ten_steps_{label}"));
        // One host, and one store, for every run, as in a service: instances pile up in the
        // in-memory store on both sides alike.
        let runtime = Runtime::<ten::Flow, _>::new(Acts { work });
        rt.block_on(runtime.resume()).unwrap();
        group.bench_function("driver", |b| {
            b.iter(|| {
                rt.block_on(run_one(&runtime));
            });
        });
        let store = MemoryStore::new();
        let mut n = 0_u64;
        group.bench_function("by_hand_recorded", |b| {
            b.iter(|| {
                n += 1;
                let id = format!("by-hand-{n}");
                rt.block_on(async {
                    black_box(by_hand_recorded(&acts, &store, &id, black_box(S0 { n: 0 })).await)
                })
            });
        });
        group.bench_function("by_hand", |b| {
            b.iter(|| {
                rt.block_on(async { black_box(by_hand(&acts, black_box(S0 { n: 0 })).await) })
            });
        });
        group.finish();
    }
}

criterion_group!(benches, driver);
criterion_main!(benches);
