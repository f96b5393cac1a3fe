//! Memory per instance waiting for an event: 10,000 instances of scenario S5 (expense
//! approval) are started and left waiting for an approver (an event, with a 10s timer armed);
//! the heap they hold is measured with dhat.
//!
//! ```text
//! cargo run --release --example memory [instances]
//! ```
//!
//! Reported separately: what the runtime holds per waiting instance (its task, mailbox and
//! registry entry, measured with a store that keeps nothing) and what the in-memory store
//! keeps per instance (the snapshot, with the state as JSON, and its history).

#[path = "expense/flow.rs"]
mod flow;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use flow::{created, expense};
use workflow_core::InstanceId;
use workflow_core::runtime::Runtime;
use workflow_core::store::{MemoryStore, Record, Snapshot, Store, StoreError, Summary};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

/// A store that keeps nothing, to measure the runtime alone.
struct Forgetful;

#[async_trait]
impl Store for Forgetful {
    async fn create(&self, _: Snapshot, _: Record) -> Result<(), StoreError> {
        Ok(())
    }
    async fn save(&self, _: Snapshot, _: Record) -> Result<(), StoreError> {
        Ok(())
    }
    async fn load(&self, _: &str, _: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        Ok(None)
    }
    async fn list(&self, _: &str) -> Result<Vec<Summary>, StoreError> {
        Ok(Vec::new())
    }
    async fn unfinished(&self, _: &str) -> Result<Vec<Snapshot>, StoreError> {
        Ok(Vec::new())
    }
    async fn history(&self, _: &str, _: &InstanceId) -> Result<Vec<Record>, StoreError> {
        Ok(Vec::new())
    }
}

/// Heap bytes held per instance once `instances` wait in `Waiting`.
async fn bytes_per_waiting_instance(store: Arc<dyn Store>, instances: u32) -> usize {
    let log = flow::Expenses::default();
    let runtime = Runtime::<expense::Flow, _>::with_store(log, store);
    // One instance first, so one-off allocations (the runtime's maps growing) are not counted.
    runtime.start(created("warm-up", 1)).await.ok();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = dhat::HeapStats::get().curr_bytes;
    let mut ids = Vec::with_capacity(instances as usize);
    for n in 0..instances {
        ids.push(
            runtime
                .start_with_id(
                    format!("claim-{n:06}"),
                    created(&format!("emp-{n:06}"), 1_000),
                )
                .await
                .ok(),
        );
    }
    // Let every instance take `submit` and settle in `Waiting`.
    while runtime.activities().log.count("submit") < instances as usize + 1 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ids_bytes = ids.capacity() * size_of::<Option<InstanceId>>()
        + ids.len() * (size_of::<usize>() * 2 + 13);
    let log_bytes =
        runtime.activities().log.calls().capacity() * size_of::<workflow_core::testing::Call>() * 2;
    let after = dhat::HeapStats::get().curr_bytes;
    drop(ids);
    (after - before).saturating_sub(ids_bytes + log_bytes) / instances as usize
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let instances: u32 = std::env::args().nth(1).map_or(Ok(10_000), |n| n.parse())?;
    let _profiler = dhat::Profiler::builder().testing().build();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = expense::State::from(expense::Waiting {
        claim: flow::Claim {
            employee: "emp-000000".into(),
            amount: 1_000,
        },
    });
    let state_bytes = size_of::<expense::State>() + "emp-000000".len();
    let runtime_only = rt.block_on(bytes_per_waiting_instance(Arc::new(Forgetful), instances));
    let with_store = rt.block_on(bytes_per_waiting_instance(
        Arc::new(MemoryStore::new()),
        instances,
    ));
    drop(state);
    println!(
        "{instances} S5 instances waiting for an event (state {state_bytes} bytes: {} inline + its string)",
        size_of::<expense::State>()
    );
    println!(
        "  runtime only (task, mailbox, registry):  {runtime_only:>6} bytes per instance, {} beyond the state",
        runtime_only.saturating_sub(state_bytes)
    );
    println!("  with the in-memory store:                {with_store:>6} bytes per instance");
    println!(
        "  of which the store (snapshot + history): {:>6} bytes",
        with_store.saturating_sub(runtime_only)
    );
    Ok(())
}
