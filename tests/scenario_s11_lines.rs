//! Scenario S11, order lines, each reserved: every line of an order is reserved, at most 4 at
//! a time, then the order is confirmed. A line that fails for good stops the lines not yet
//! started; those running are awaited, and every line reserved is released, once. Killed
//! after 5 lines were reserved, the resumed run reserves only the other 5, with the same
//! idempotency keys as the attempts the crash cut short. Run by the driver in virtual time,
//! in memory and across a crash on SQLite; and in real time across a crash on PostgreSQL,
//! resumed by a second runtime on another connection.

#[path = "support/postgres.rs"]
mod pg_server;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::{MemoryStore, PostgresStore, RecordKind, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault, crash_check};
use workflow_core::{Entry, FailureKind};

/// One line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub n: u32,
    pub sku: String,
}

/// A reservation of one line, made by the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub line: u32,
    pub id: String,
}

workflow! {
    /// Scenario S11: one reservation per line, at most four at a time.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Lines {
        initial Placed    { order: String, lines: Vec<Line> }
        state   Reserved  { order: String, holds: Vec<Hold> }
        final   Confirmed { order: String, holds: u32 }

        /// Every line reserved, four at a time; a line reserved is released if the order
        /// cannot go on.
        reserve: Placed -> Reserved, each(lines, 4, reserve_line: Hold undo release_line), join(reserved);
        confirm: Reserved -> Confirmed;
    }
}

use lines::{Placed, Reserved};

/// S11 with parallel compensation: the reserved lines are released at once, at most four
/// at a time.
mod at_once {
    use super::{Hold, Line};
    use serde::{Deserialize, Serialize};
    use workflow_core::prelude::*;

    workflow! {
        /// Scenario S11, its lines released all at once.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub Lines {
            initial Placed    { order: String, lines: Vec<Line> }
            state   Reserved  { order: String, holds: Vec<Hold> }
            final   Confirmed { order: String, holds: u32 }

            reserve: Placed -> Reserved,
                each(lines, 4, reserve_line: Hold undo release_line),
                join(reserved),
                undo(parallel);
            confirm: Reserved -> Confirmed;
        }
    }

    fn reserved(from: &lines::Placed, holds: Vec<Hold>) -> lines::Reserved {
        lines::Reserved {
            order: from.order.clone(),
            holds,
        }
    }

    pub use lines::*;
}

fn reserved(from: &Placed, holds: Vec<Hold>) -> Reserved {
    Reserved {
        order: from.order.clone(),
        holds,
    }
}

const MS: Duration = Duration::from_millis(1);

/// A fake warehouse: each line takes `10 ms` to reserve (or what `takes` says), a line in
/// `failing` fails at once, for good. It counts lines reserving at the same time.
#[derive(Debug, Clone, Default)]
pub struct Warehouse {
    inner: Arc<Mutex<Log>>,
}

#[derive(Debug, Default)]
struct Log {
    /// (activity, line, idempotency key), in call order.
    calls: Vec<(String, u32, String)>,
    failing: BTreeSet<u32>,
    takes: Vec<(u32, Duration)>,
    /// Lines from this one on wait, before they do anything, until the gate opens.
    gated_from: Option<u32>,
    running: u32,
    most_at_once: u32,
    releasing: i32,
    most_releasing: i32,
    /// Where the crash checker reads the calls, if it runs the warehouse.
    checked: Option<CallLog>,
}

impl Log {
    fn releasing(&mut self, by: i32) {
        self.releasing += by;
        self.most_releasing = self.most_releasing.max(self.releasing);
    }
}

impl Warehouse {
    fn failing(self, line: u32) -> Self {
        self.inner.lock().unwrap().failing.insert(line);
        self
    }

    /// Lines `from` and later wait at a gate until [`open_gate`](Self::open_gate).
    fn gated_from(self, from: u32) -> Self {
        self.inner.lock().unwrap().gated_from = Some(from);
        self
    }

    fn open_gate(&self) {
        self.inner.lock().unwrap().gated_from = None;
    }

    /// Waits at the gate, if line `n` is behind it: at most a minute, in steps of 5 ms.
    async fn pass_gate(&self, n: u32) {
        for _ in 0..12_000 {
            if self
                .inner
                .lock()
                .unwrap()
                .gated_from
                .is_none_or(|from| n < from)
            {
                return;
            }
            tokio::time::sleep(MS * 5).await;
        }
    }

    fn taking(self, line: u32, takes: Duration) -> Self {
        self.inner.lock().unwrap().takes.push((line, takes));
        self
    }

    fn calls(&self, activity: &str) -> Vec<u32> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|(a, _, _)| a == activity)
            .map(|(_, line, _)| *line)
            .collect()
    }

    fn keys(&self, activity: &str) -> Vec<(u32, String)> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|(a, _, _)| a == activity)
            .map(|(_, line, key)| (*line, key.clone()))
            .collect()
    }

    fn most_at_once(&self) -> u32 {
        self.inner.lock().unwrap().most_at_once
    }

    fn most_releasing(&self) -> i32 {
        self.inner.lock().unwrap().most_releasing
    }

    fn log(&self, activity: &str, line: u32, ctx: &StepCtx) {
        let key = ctx.idempotency_key().unwrap_or_default().to_string();
        let mut inner = self.inner.lock().unwrap();
        inner.calls.push((activity.into(), line, key));
        if let Some(log) = &inner.checked {
            // No fault is injected through it: the warehouse injects its own.
            let _ = log.call(ctx);
        }
    }

    /// The warehouse, also recording its calls in `log`.
    fn logging(self, log: CallLog) -> Self {
        self.inner.lock().unwrap().checked = Some(log);
        self
    }
}

/// The same warehouse behind both flows.
macro_rules! warehouse_activities {
    ($flow:ident) => {
        impl $flow::Activities for Warehouse {
            type Error = Fault;

            fn retryable(_: &Fault) -> bool {
                false
            }

            async fn reserve_line(
                &self,
                _: &$flow::Placed,
                line: &Line,
                ctx: &StepCtx,
            ) -> Result<Hold, Fault> {
                self.log("reserve_line", line.n, ctx);
                self.pass_gate(line.n).await;
                let (fails, takes) = {
                    let mut inner = self.inner.lock().unwrap();
                    inner.running += 1;
                    inner.most_at_once = inner.most_at_once.max(inner.running);
                    let takes = inner
                        .takes
                        .iter()
                        .find(|(n, _)| *n == line.n)
                        .map(|(_, t)| *t);
                    (inner.failing.contains(&line.n), takes.unwrap_or(MS * 10))
                };
                let result = if fails {
                    Err(Fault {
                        step: "reserve_line".into(),
                        attempt: ctx.attempt(),
                    })
                } else {
                    tokio::time::sleep(takes).await;
                    Ok(Hold {
                        line: line.n,
                        id: format!("hold-{}", line.n),
                    })
                };
                self.inner.lock().unwrap().running -= 1;
                result
            }

            async fn release_line(&self, hold: &Hold, ctx: &StepCtx) -> Result<(), Fault> {
                self.log("release_line", hold.line, ctx);
                self.inner.lock().unwrap().releasing(1);
                tokio::time::sleep(MS * 10).await;
                self.inner.lock().unwrap().releasing(-1);
                Ok(())
            }

            async fn confirm(
                &self,
                from: &$flow::Reserved,
                ctx: &StepCtx,
            ) -> Result<$flow::Confirmed, Fault> {
                self.log("confirm", 0, ctx);
                Ok($flow::Confirmed {
                    order: from.order.clone(),
                    holds: u32::try_from(from.holds.len()).unwrap(),
                })
            }
        }
    };
}

warehouse_activities!(lines);
warehouse_activities!(at_once);

/// After a crash with lines 1-5 journaled and 6-9 in flight (`before`: the calls until
/// then), the resumed run reserved only lines 6-10, and 6-9 with the keys they had.
fn made_again_with_their_keys(warehouse: &Warehouse, before: &[(u32, String)]) {
    let after = warehouse.keys("reserve_line")[9..].to_vec();
    assert_eq!(
        after.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [6, 7, 8, 9, 10],
        "the resumed run reserves only the lines not journaled"
    );
    for (n, key) in &after[..4] {
        let first = before.iter().find(|(m, _)| m == n).unwrap();
        assert_eq!(&first.1, key, "line {n} is made again with the key it had");
    }
}

fn order(lines: u32) -> Placed {
    Placed {
        order: "o-1".into(),
        lines: (1..=lines)
            .map(|n| Line {
                n,
                sku: format!("sku-{n}"),
            })
            .collect(),
    }
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).unwrap())
}

#[tokio::test(start_paused = true)]
async fn every_line_is_reserved_at_most_four_at_a_time_and_collected_in_order() {
    // Lines finish out of order: line 1 is the slowest of the first four.
    let warehouse = Warehouse::default().taking(1, MS * 35).taking(2, MS * 5);
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), memory());
    let id = runtime.start(order(10)).await.unwrap();
    let Outcome::Completed(lines::State::Confirmed(confirmed)) =
        runtime.outcome(&id).await.unwrap()
    else {
        panic!("confirmed")
    };
    assert_eq!(confirmed.holds, 10);
    assert_eq!(warehouse.calls("reserve_line").len(), 10, "each line once");
    assert_eq!(
        warehouse.most_at_once(),
        4,
        "never more than four at a time"
    );
    let history = runtime.history(&id).await.unwrap();
    let landed = history
        .iter()
        .find(|r| matches!(&r.kind, RecordKind::Transition { transition, .. } if *transition == "reserve"))
        .expect("reserve landed");
    assert_eq!(landed.state_name, "Reserved");
    let done: Vec<u32> = history
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::PartDone { part, .. } => Some(*part),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), 10, "each line journaled on its own: {done:?}");
    assert_eq!(
        &done[..2],
        [1, 2],
        "line 2 (5 ms) then line 3 ... finish before line 1"
    );
}

#[tokio::test(start_paused = true)]
async fn the_holds_reach_the_join_in_the_order_of_the_lines() {
    let warehouse = Warehouse::default().taking(1, MS * 50).taking(3, MS);
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), memory());
    let id = runtime.start_with_id("o-2", order(5)).await.unwrap();
    tokio::time::sleep(MS * 49).await;
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Placed");
    let Outcome::Completed(_) = runtime.outcome(&id).await.unwrap() else {
        panic!("confirmed")
    };
    let history = runtime.history(&id).await.unwrap();
    let reserved = history
        .iter()
        .find(|r| r.state_name == "Reserved")
        .expect("reserved");
    assert!(matches!(&reserved.kind, RecordKind::Transition { .. }));
    let keys = warehouse.keys("reserve_line");
    assert!(
        keys.iter()
            .all(|(n, key)| key.ends_with(&format!("/reserve/{}", n - 1))),
        "each item's key is the step's key and the item's index: {keys:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn line_7_of_10_fails_the_reserved_lines_are_released_once_and_later_lines_never_called() {
    let warehouse = Warehouse::default().failing(7);
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), memory());
    let id = runtime.start(order(10)).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!("failed")
    };
    assert_eq!(failure.step, "reserve_line");
    assert_eq!(failure.part, Some(6), "the seventh item");
    assert_eq!(failure.kind, FailureKind::Permanent);
    assert_eq!(
        warehouse.calls("reserve_line"),
        [1, 2, 3, 4, 5, 6, 7, 8],
        "lines 1-4, then 5-8 at once; 9 and 10 never start"
    );
    assert_eq!(
        warehouse.calls("release_line"),
        [8, 6, 5, 4, 3, 2, 1],
        "lines 5, 6 and 8, running when 7 failed, were awaited; every line reserved is released once, newest first"
    );
    assert_eq!(report.entries().len(), 7, "{:?}", report.entries());
    assert!(
        report
            .entries()
            .iter()
            .all(|e| matches!(e, Entry::Undone { undo } if *undo == "release_line"))
    );
    assert!(warehouse.calls("confirm").is_empty());
}

#[tokio::test(start_paused = true)]
async fn killed_after_5_lines_were_reserved_the_resumed_run_reserves_only_the_other_5() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines.sqlite");
    // Lines 1-4 take 10 ms; then 5 (done at 15 ms), 6, 7 and 8 (done at 20 ms), and 9 in the
    // slot 5 left (done at 25 ms): the crash at 17 ms cuts 6, 7, 8 and 9 short.
    let warehouse = Warehouse::default().taking(5, MS * 5);
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), open(&path));
    let id = runtime.start_with_id("o-3", order(10)).await.unwrap();
    tokio::time::sleep(MS * 17).await;
    let parts = |history: &[workflow_core::store::Record]| {
        history
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::PartDone { .. }))
            .count()
    };
    assert_eq!(parts(&runtime.history(&id).await.unwrap()), 5);
    runtime.shutdown().await;
    drop(runtime);
    let before = warehouse.keys("reserve_line");
    assert_eq!(before.len(), 9, "1-9 called, 6-9 in flight at the crash");

    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), open(&path));
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(&id));
    let Outcome::Completed(lines::State::Confirmed(confirmed)) =
        runtime.outcome(&id).await.unwrap()
    else {
        panic!("confirmed")
    };
    assert_eq!(confirmed.holds, 10);
    made_again_with_their_keys(&warehouse, &before);
    assert_eq!(parts(&runtime.history(&id).await.unwrap()), 10);
}

#[tokio::test(start_paused = true)]
async fn with_parallel_compensation_the_reserved_lines_are_released_at_most_four_at_a_time() {
    let warehouse = Warehouse::default().failing(7);
    let runtime = Runtime::<at_once::Flow, _>::with_store(warehouse.clone(), memory());
    let placed = order(10);
    let placed = at_once::Placed {
        order: placed.order,
        lines: placed.lines,
    };
    let id = runtime.start(placed).await.unwrap();
    let started = tokio::time::Instant::now();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    let mut released = warehouse.calls("release_line");
    released.sort_unstable();
    assert_eq!(released, [1, 2, 3, 4, 5, 6, 8], "every line reserved, once");
    assert_eq!(warehouse.most_releasing(), 4, "at most four at a time");
    // Reserving takes 20 ms (two rounds of 10 ms); releasing 7 lines four at a time, two
    // rounds of 10 ms: one after another they would take 70 ms.
    assert_eq!(started.elapsed(), MS * 40);
    assert_eq!(report.entries().len(), 7);
}

#[tokio::test]
async fn on_postgres_killed_after_5_lines_the_resumed_run_reserves_only_the_other_5() {
    let Some(server) = pg_server::Server::shared() else {
        return;
    };
    let db = server.database("s11_lines").await;
    let connect = async || {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
        store
    };
    // Real time here: lines 6 and later wait at the gate, so the crash finds exactly 5
    // journaled and 6-9 in flight (four at a time).
    let warehouse = Warehouse::default().gated_from(6);
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), connect().await);
    let id = runtime.start_with_id("o-pg", order(10)).await.unwrap();
    let parts = |history: &[workflow_core::store::Record]| {
        history
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::PartDone { .. }))
            .count()
    };
    let mut journaled = 0;
    for _ in 0..1_500 {
        journaled = parts(&runtime.history(&id).await.unwrap());
        if journaled == 5 && warehouse.keys("reserve_line").len() == 9 {
            break;
        }
        tokio::time::sleep(MS * 20).await;
    }
    assert_eq!(journaled, 5, "lines 1-5 journaled");
    runtime.shutdown().await;
    drop(runtime);
    let before = warehouse.keys("reserve_line");
    assert_eq!(before.len(), 9, "1-9 called, 6-9 in flight at the crash");

    warehouse.open_gate();
    let runtime = Runtime::<lines::Flow, _>::with_store(warehouse.clone(), connect().await);
    runtime.resume().await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), runtime.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Completed(lines::State::Confirmed(confirmed)) = outcome else {
        panic!("confirmed: {outcome:?}")
    };
    assert_eq!(confirmed.holds, 10);
    made_again_with_their_keys(&warehouse, &before);
    assert_eq!(parts(&runtime.history(&id).await.unwrap()), 10);
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_the_lines_resume_to_the_same_end_each_call_once() {
    // Ten lines confirmed; then line 1 failing while lines 2-4 run, and those released, one
    // after another and all at once. (Stopped while they run, the resumed run makes them
    // again, with their keys, to learn whether they acted: a crash does not leave a line
    // reserved. Line 7 failing would not do here: which lines had started when it failed
    // depends on timing a crash changes.)
    let confirmed =
        crash_check::<lines::Flow, _>(order(10), |log| Warehouse::default().logging(log))
            .await
            .unwrap();
    // Created; the first four lines marked running, before they start; a record per line
    // (the tenth with the join's landing); the confirmation.
    assert_eq!((confirmed.writes, confirmed.points), (13, 12));
    let failed = crash_check::<lines::Flow, _>(order(10), |log| {
        Warehouse::default().failing(1).logging(log)
    })
    .await
    .unwrap();
    let placed = order(10);
    let placed = at_once::Placed {
        order: placed.order,
        lines: placed.lines,
    };
    let at_once =
        crash_check::<at_once::Flow, _>(placed, |log| Warehouse::default().failing(1).logging(log))
            .await
            .unwrap();
    assert_eq!(at_once.writes, failed.writes);
}
