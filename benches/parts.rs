//! Transitions made of parts, on the driver. For each: 1,000 items, at most 16 at a time,
//! activities of about 1 ms (a tokio sleep), run by the driver in memory and on SQLite, side by
//! side with a hand-written `buffer_unordered(16)` over the same calls that records nothing.
//! Parallel branches: one transition of 3 branches vs 3 sequential transitions, no-op
//! activities, in memory: what running branches at once costs the driver.
//! Parallel compensation: 16 items reserved, the 17th fails, and the 16 undos (about 1 ms
//! each) run with `undo(parallel)` vs one after another, in memory.
//!
//! `cargo bench --bench parts`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::{MemoryStore, SqliteStore, Store};

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Batch {
        initial Queued { items: Vec<u32> }
        final   Done   { sum: u64 }

        run: Queued -> Done, each(items, 16, work: u32), join(done);
    }
}

fn done(_: &batch::Queued, outputs: Vec<u32>) -> batch::Done {
    batch::Done {
        sum: outputs.into_iter().map(u64::from).sum(),
    }
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub InTurn {
        initial Queued { items: Vec<u32> }
        final   Done   { sum: u64 }

        run: Queued -> Done, each(items, 17, work: u32 undo unwork), join(undone_done);
    }
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub AtOnce {
        initial Queued { items: Vec<u32> }
        final   Done   { sum: u64 }

        run: Queued -> Done, each(items, 17, work: u32 undo unwork), join(undone_done), undo(parallel);
    }
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Branches {
        initial Start {}
        final   End { sum: u32 }

        check: Start -> End, parallel(one: u32, two: u32, three: u32), join(summed);
    }
}

/// Never called: the last item fails.
fn undone_done<S, T: From<u64>>(_: &S, outputs: Vec<u32>) -> T {
    T::from(outputs.into_iter().map(u64::from).sum::<u64>())
}

impl From<u64> for in_turn::Done {
    fn from(sum: u64) -> Self {
        Self { sum }
    }
}

impl From<u64> for at_once::Done {
    fn from(sum: u64) -> Self {
        Self { sum }
    }
}

fn summed(_: &branches::Start, one: u32, two: u32, three: u32) -> branches::End {
    branches::End {
        sum: one + two + three,
    }
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Sequence {
        initial A {}
        state   B {}
        state   C {}
        final   D {}

        one: A -> B;
        two: B -> C;
        three: C -> D;
    }
}

/// Activities that wait `work` (a tokio sleep) and return their input.
#[derive(Clone, Copy)]
struct Acts {
    work: Duration,
}

impl Acts {
    async fn work(&self, n: u32) -> u32 {
        if !self.work.is_zero() {
            tokio::time::sleep(self.work).await;
        }
        black_box(n)
    }
}

impl batch::Activities for Acts {
    type Error = String;

    async fn work(&self, _: &batch::Queued, item: &u32, _: &StepCtx) -> Result<u32, String> {
        Ok(Acts::work(self, *item).await)
    }
}

/// Items up to 16 work for `work` and are undone in as long; item 16 (the 17th) fails.
macro_rules! undone_activities {
    ($flow:ident) => {
        impl $flow::Activities for Acts {
            type Error = String;

            async fn work(
                &self,
                _: &$flow::Queued,
                item: &u32,
                _: &StepCtx,
            ) -> Result<u32, String> {
                if *item == 16 {
                    return Err("the 17th item fails".into());
                }
                Ok(Acts::work(self, *item).await)
            }

            async fn unwork(&self, item: &u32, _: &StepCtx) -> Result<(), String> {
                Acts::work(self, *item).await;
                Ok(())
            }
        }
    };
}

undone_activities!(in_turn);
undone_activities!(at_once);

impl branches::Activities for Acts {
    type Error = String;

    async fn one(&self, _: &branches::Start, _: &StepCtx) -> Result<u32, String> {
        Ok(self.work(1).await)
    }
    async fn two(&self, _: &branches::Start, _: &StepCtx) -> Result<u32, String> {
        Ok(self.work(2).await)
    }
    async fn three(&self, _: &branches::Start, _: &StepCtx) -> Result<u32, String> {
        Ok(self.work(3).await)
    }
}

impl sequence::Activities for Acts {
    type Error = String;

    async fn one(&self, _: &sequence::A, _: &StepCtx) -> Result<sequence::B, String> {
        self.work(1).await;
        Ok(sequence::B {})
    }
    async fn two(&self, _: &sequence::B, _: &StepCtx) -> Result<sequence::C, String> {
        self.work(2).await;
        Ok(sequence::C {})
    }
    async fn three(&self, _: &sequence::C, _: &StepCtx) -> Result<sequence::D, String> {
        self.work(3).await;
        Ok(sequence::D {})
    }
}

/// The same 1,000 calls, 16 at a time, recording nothing.
async fn by_hand(acts: &Acts, items: &[u32]) -> u64 {
    futures::stream::iter(items)
        .map(|&n| acts.work(n))
        .buffer_unordered(16)
        .fold(0_u64, |sum, n| async move { sum + u64::from(n) })
        .await
}

/// Runs `start` to its end: completed, or failed if `fails`.
async fn run<W, A>(runtime: &Runtime<W, A>, start: W::State, fails: bool)
where
    W: workflow_core::runtime::Runnable<A>,
    A: Send + Sync + 'static,
    W::State: std::fmt::Debug,
{
    let id = runtime.start(start).await.unwrap();
    let outcome = runtime.outcome(&id).await.unwrap();
    let ended = if fails {
        matches!(outcome, Outcome::Failed { .. })
    } else {
        matches!(outcome, Outcome::Completed(_))
    };
    assert!(ended, "{outcome:?}");
}

fn for_each(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acts = Acts {
        work: Duration::from_millis(1),
    };
    let items: Vec<u32> = (0..1_000).collect();
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path().join("bench.sqlite")).unwrap());
    let memory = Runtime::<batch::Flow, _>::with_store(acts, Arc::new(MemoryStore::new()));
    let on_sqlite = Runtime::<batch::Flow, _>::with_store(acts, sqlite);
    rt.block_on(memory.resume()).unwrap();
    rt.block_on(on_sqlite.resume()).unwrap();
    let mut group = c.benchmark_group("each_1000_items_16_at_a_time_1ms");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("driver_memory", |b| {
        b.iter(|| {
            rt.block_on(run(
                &memory,
                batch::State::Queued(batch::Queued {
                    items: items.clone(),
                }),
                false,
            ));
        });
    });
    group.bench_function("driver_sqlite", |b| {
        b.iter(|| {
            rt.block_on(run(
                &on_sqlite,
                batch::State::Queued(batch::Queued {
                    items: items.clone(),
                }),
                false,
            ));
        });
    });
    group.bench_function("buffer_unordered", |b| {
        b.iter(|| rt.block_on(async { black_box(by_hand(&acts, &items).await) }));
    });
    group.finish();
}

fn three_branches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let acts = Acts {
        work: Duration::ZERO,
    };
    let parallel = Runtime::<branches::Flow, _>::new(acts);
    let sequential = Runtime::<sequence::Flow, _>::new(acts);
    rt.block_on(parallel.resume()).unwrap();
    rt.block_on(sequential.resume()).unwrap();
    let mut group = c.benchmark_group("three_noop_activities");
    group.bench_function("one_step_of_3_branches", |b| {
        b.iter(|| {
            let start = branches::State::Start(branches::Start {});
            rt.block_on(run(&parallel, start, false));
        });
    });
    group.bench_function("3_sequential_steps", |b| {
        b.iter(|| rt.block_on(run(&sequential, sequence::State::A(sequence::A {}), false)));
    });
    group.finish();
}

fn parallel_compensation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let acts = Acts {
        work: Duration::from_millis(1),
    };
    let items: Vec<u32> = (0..17).collect();
    let in_turn = Runtime::<in_turn::Flow, _>::new(acts);
    let at_once = Runtime::<at_once::Flow, _>::new(acts);
    rt.block_on(in_turn.resume()).unwrap();
    rt.block_on(at_once.resume()).unwrap();
    let mut group = c.benchmark_group("undo_16_items_1ms");
    group.sample_size(20);
    group.bench_function("one_after_another", |b| {
        b.iter(|| {
            let start = in_turn::Queued {
                items: items.clone(),
            };
            rt.block_on(run(&in_turn, in_turn::State::Queued(start), true));
        });
    });
    group.bench_function("undo_parallel", |b| {
        b.iter(|| {
            let start = at_once::Queued {
                items: items.clone(),
            };
            rt.block_on(run(&at_once, at_once::State::Queued(start), true));
        });
    });
    group.finish();
}

criterion_group!(benches, for_each, three_branches, parallel_compensation);
criterion_main!(benches);
