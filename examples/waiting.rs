//! Waiting costs no memory: a host on SQLite with 1,000,000 instances waiting for an event.
//! The host keeps at most `keep_waiting` (10,000 by default) of them in memory; the rest wait
//! in the store alone, and an event loads its instance when it arrives.
//!
//! ```text
//! cargo run --release --example waiting [instances] [keep_waiting]
//! ```
//!
//! Prints the process's resident memory as instances pile up, then the time from an event to
//! its transition (send, until the outcome is in the store), for instances out of memory
//! ("cold") and for instances the host kept ("hot").

use std::sync::Arc;
use std::time::{Duration, Instant};

use workflow_core::prelude::*;
use workflow_core::runtime::{Host, Outcome};
use workflow_core::store::SqliteStore;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Close;

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Ticket {
        initial Open   { n: u32 }
        final   Closed { n: u32 }
        close: Open -> Closed, on Close;
    }
}

struct Desk;

impl ticket::Activities for Desk {
    type Error = String;
    async fn close(
        &self,
        from: &ticket::Open,
        _: &Close,
        _: &StepCtx,
    ) -> Result<ticket::Closed, String> {
        Ok(ticket::Closed { n: from.n })
    }
}

/// The process's resident memory, in MiB (Linux).
fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn id(n: u32) -> String {
    format!("ticket-{n:07}")
}

/// The time from sending `Close` to instance `n` until its outcome is in the store.
async fn event_to_transition(
    tickets: &workflow_core::runtime::Client<ticket::Flow>,
    n: u32,
) -> Duration {
    let id = id(n).into();
    let start = Instant::now();
    tickets.send(&id, Close).await.expect("the ticket is open");
    let outcome = tickets.outcome(&id).await.expect("the ticket closes");
    assert!(matches!(outcome, Outcome::Completed(_)));
    start.elapsed()
}

fn percentiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |p: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into a short list"
        )]
        let i = ((times.len() as f64 - 1.0) * p).round() as usize;
        times[i]
    };
    format!(
        "median {:.2?}, p90 {:.2?}, p99 {:.2?} ({} events)",
        at(0.5),
        at(0.9),
        at(0.99),
        times.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let instances: u32 = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let keep: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(dir.path().join("tickets.sqlite"))?);
    let host = Host::builder()
        .store(store)
        .flow(ticket::Flow, Desk)
        .keep_waiting(keep)
        .build();
    host.resume().await?;
    let tickets = host.client::<ticket::Flow>();
    println!(
        "{instances} instances waiting for an event on SQLite, the host keeping at most {keep} in memory"
    );
    println!("  before: {:>8.1} MiB resident", resident_mib());

    let started = Instant::now();
    let starters = 256_u32;
    let mut next_report = 10_000_u32.min(instances);
    let mut done = 0_u32;
    while done < instances {
        let batch = next_report - done;
        let tasks: Vec<_> = (0..starters)
            .map(|s| {
                let tickets = tickets.clone();
                tokio::spawn(async move {
                    let mut n = done + s;
                    while n < done + batch {
                        tickets
                            .start_with_id(id(n), ticket::Open { n })
                            .await
                            .expect("a new ticket starts");
                        n += starters;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await?;
        }
        done = next_report;
        println!(
            "  {done:>8} waiting: {:>8.1} MiB resident ({:.0} starts/s)",
            resident_mib(),
            f64::from(done) / started.elapsed().as_secs_f64()
        );
        next_report = (next_report * 10).min(instances);
        if next_report == done {
            break;
        }
    }
    // Let the last ones settle and leave memory.
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!("  settled:  {:>8.1} MiB resident", resident_mib());

    // The earliest instances were handed back to the store once the host was full; the
    // last ones it keeps.
    let mut cold = Vec::new();
    for k in 0..200 {
        cold.push(event_to_transition(&tickets, k * 97 % (instances / 2)).await);
    }
    println!(
        "  event to transition, instance out of memory: {}",
        percentiles(cold)
    );
    let mut in_memory = Vec::new();
    for k in 0..200 {
        in_memory.push(event_to_transition(&tickets, instances - 1 - k).await);
    }
    println!(
        "  event to transition, instance in memory:     {}",
        percentiles(in_memory)
    );
    println!("  after:    {:>8.1} MiB resident", resident_mib());
    host.shutdown().await;
    Ok(())
}
