//! What the durable-store benchmarks share: their tokio runtime, and instances of the flow of
//! `ten.rs` run one after the other, timed. Used by `benches/durable.rs` and
//! `benches/postgres.rs`.

use std::time::{Duration, Instant};

use tokio::runtime::Runtime as Tokio;
use workflow_core::runtime::Runtime;

use super::acts::{Acts, run_one};
use super::flow::ten;

/// Two worker threads, as on the CI machine.
pub fn tokio() -> Tokio {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// `runs` instances one after the other, started and awaited from a task on the runtime, as
/// a service would.
pub fn driver_runs(rt: &Tokio, runtime: &Runtime<ten::Flow, Acts>, runs: u64) -> Duration {
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
