//! Instructions per run of the driver's in-memory row: ten no-op steps with undos, run by the
//! driver and by a hand-written function recording the same snapshots and records
//! (`benches/common/by_hand.rs`), counted by valgrind's callgrind. A count of instructions is
//! the same from run to run where a timer on a shared machine is not, so this gives the
//! ratio of `cargo bench --bench driver` without its noise (it leaves out what instructions
//! do not show: cache misses, waits).
//!
//! ```text
//! cargo run --release --example instructions
//! ```
//!
//! Needs `valgrind` on the path. Each side runs under callgrind twice, 1,000 and 2,000 runs
//! on one store; the difference of the two counts, over 1,000, is one run without the
//! program's start-up.

#[path = "../benches/common/ten.rs"]
mod flow;

#[path = "../benches/common/acts.rs"]
mod acts;

#[path = "../benches/common/by_hand.rs"]
#[allow(
    dead_code,
    reason = "the bench's side that records nothing is not counted here"
)]
mod by_hand;

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use acts::{Acts, run_one};
use by_hand::by_hand_recorded;
use flow::ten;
use workflow_core::runtime::Runtime;
use workflow_core::store::MemoryStore;

/// Runs one side `runs` times, as the child callgrind counts.
fn run_side(side: &str, runs: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let acts = Acts {
        work: Duration::ZERO,
    };
    match side {
        "driver" => {
            let runtime = Runtime::<ten::Flow, _>::new(acts);
            rt.block_on(runtime.resume()).unwrap();
            for _ in 0..runs {
                rt.block_on(run_one(&runtime));
            }
        }
        "by_hand_recorded" => {
            let store = MemoryStore::new();
            for n in 0..runs {
                let id = format!("by-hand-{n}");
                let state = rt
                    .block_on(by_hand_recorded(&acts, &store, &id, ten::S0 { n: 0 }))
                    .unwrap();
                black_box(state);
            }
        }
        other => panic!("no side named {other}"),
    }
}

/// Instructions callgrind counts for `side` run `runs` times.
fn count(side: &str, runs: u64) -> u64 {
    let me = std::env::current_exe().unwrap();
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(me)
        .args([side, &runs.to_string()])
        .output()
        .expect("valgrind runs (is it installed?)");
    assert!(out.status.success(), "{side} under callgrind failed");
    let log = String::from_utf8_lossy(&out.stderr);
    let collected = log
        .lines()
        .find_map(|line| line.split("Collected : ").nth(1))
        .expect("callgrind reports what it collected");
    collected.trim().parse().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [side, runs] = args.as_slice() {
        run_side(side, runs.parse().unwrap());
        return;
    }
    let per_run = |side: &str| (count(side, 2_000) - count(side, 1_000)) / 1_000;
    let driver = per_run("driver");
    let by_hand = per_run("by_hand_recorded");
    println!("ten no-op steps in memory, instructions per run (callgrind):");
    println!("  driver            {driver:>8}");
    println!("  by_hand_recorded  {by_hand:>8}");
    #[allow(clippy::cast_precision_loss)]
    let ratio = driver as f64 / by_hand as f64;
    println!("ratio driver/by_hand_recorded {ratio:.2}");
}
