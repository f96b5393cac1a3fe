//! Memory per instance waiting for an event: 10,000 instances of scenario S5 (expense
//! approval) are started and left waiting for an approver (an event, with a 10s timer armed);
//! the heap they hold is measured with dhat, on the in-memory store.
//!
//! ```text
//! cargo run --release --example memory [instances]
//! ```
//!
//! Reported: the heap per waiting instance when the host keeps every waiting instance in
//! memory (its task and registry entry, beside what the store keeps), and when it keeps none
//! (`keep_waiting(0)`: the store alone holds them, and an input loads them again). The
//! difference is what the host spends per instance it keeps ready.

#[path = "expense/flow.rs"]
mod flow;

use std::sync::Arc;
use std::time::Duration;

use flow::{created, expense};
use workflow_core::runtime::{Host, Runtime};
use workflow_core::store::MemoryStore;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// Heap bytes held per instance once `instances` wait in `Waiting`, with the host keeping at
/// most `keep` of them in memory.
async fn bytes_per_waiting_instance(keep: usize, instances: u32) -> usize {
    let log = flow::Expenses::default();
    let runtime = Runtime::<expense::Flow, _>::with_host(
        log,
        Host::builder()
            .store(Arc::new(MemoryStore::new()))
            .keep_waiting(keep),
    );
    // One instance first, so one-off allocations (the host's maps, its tasks) are not counted.
    runtime.start(created("warm-up", 1)).await.ok();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = dhat::HeapStats::get().curr_bytes;
    for n in 0..instances {
        runtime
            .start_with_id(
                format!("claim-{n:06}"),
                created(&format!("emp-{n:06}"), 1_000),
            )
            .await
            .ok();
    }
    // Let every instance take `submit` and settle in `Waiting`.
    while runtime.activities().log.count("submit") < instances as usize + 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let log_bytes =
        runtime.activities().log.calls().capacity() * size_of::<workflow_core::testing::Call>() * 2;
    let after = dhat::HeapStats::get().curr_bytes;
    runtime.shutdown().await;
    (after - before).saturating_sub(log_bytes) / instances as usize
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let instances: u32 = std::env::args().nth(1).map_or(Ok(10_000), |n| n.parse())?;
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let kept = rt.block_on(bytes_per_waiting_instance(
        instances as usize + 1,
        instances,
    ));
    let stored = rt.block_on(bytes_per_waiting_instance(0, instances));
    println!("{instances} S5 instances waiting for an event, on the in-memory store");
    println!("  the host keeps them in memory: {kept:>6} bytes per instance");
    println!("  the host keeps none:           {stored:>6} bytes per instance (the store's own)");
    println!(
        "  so an instance kept ready costs the host {} bytes",
        kept.saturating_sub(stored)
    );
    Ok(())
}
