//! Scenario S12, S6's loan checks on the driver: credit, income and appraisal run at the same
//! time, each journaled on its own with its own retry policy and undo. Killed after two
//! finished, the resumed run calls only the third; if one fails for good, the other two are
//! undone and the loan ends failed (one after another, or at the same time with
//! `undo(parallel)`). Run in virtual time, in memory and across a crash on SQLite; and in
//! real time across a crash on PostgreSQL, resumed by a second runtime on another connection.

#[path = "support/postgres.rs"]
mod pg_server;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::{MemoryStore, PostgresStore, RecordKind, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault, crash_check};
use workflow_core::{Entry, FailureKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub score: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Income {
    pub yearly: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appraisal {
    pub value: u64,
}

workflow! {
    /// Scenario S12: three checks at once, then a decision.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Loan {
        initial Applied  { applicant: String, amount: u64 }
        state   Checked  { applicant: String, amount: u64, score: u32, income: u64, value: u64 }
        final   Approved { applicant: String, amount: u64 }
        final   Declined { applicant: String }

        check: Applied -> Checked,
            parallel(
                credit: Credit undo void_credit,
                income: Income undo forget_income retry(3, 10ms..10ms),
                appraisal: Appraisal undo cancel_appraisal timeout(1s)
            ),
            join(checked);
        decide: Checked -> Approved | Declined, guard(decide);
    }
}

use loan::{Applied, Approved, Checked, DecideTo, Declined};

/// S12 with parallel compensation: the completed checks are undone at the same time.
mod at_once {
    use super::{Appraisal, Credit, Income};
    use serde::{Deserialize, Serialize};
    use workflow_core::prelude::*;

    workflow! {
        /// Scenario S12, its checks undone all at once.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub Loan {
            initial Applied  { applicant: String, amount: u64 }
            final   Checked  { applicant: String, amount: u64 }

            check: Applied -> Checked,
                parallel(
                    credit: Credit undo void_credit,
                    income: Income undo forget_income retry(3, 10ms..10ms),
                    appraisal: Appraisal undo cancel_appraisal timeout(1s)
                ),
                join(checked),
                undo(parallel);
        }
    }

    fn checked(from: &loan::Applied, _: Credit, _: Income, _: Appraisal) -> loan::Checked {
        loan::Checked {
            applicant: from.applicant.clone(),
            amount: from.amount,
        }
    }

    pub use loan::*;
}

fn checked(from: &Applied, credit: Credit, income: Income, appraisal: Appraisal) -> Checked {
    Checked {
        applicant: from.applicant.clone(),
        amount: from.amount,
        score: credit.score,
        income: income.yearly,
        value: appraisal.value,
    }
}

fn decide(from: &Checked) -> DecideTo {
    if from.score >= 600 && from.value >= from.amount {
        DecideTo::Approved(Approved {
            applicant: from.applicant.clone(),
            amount: from.amount,
        })
    } else {
        DecideTo::Declined(Declined {
            applicant: from.applicant.clone(),
        })
    }
}

const MS: Duration = Duration::from_millis(1);

/// Fake bureaus: credit takes 30 ms, income 20 ms, appraisal 50 ms unless told otherwise;
/// each call is logged with the virtual time it started at.
#[derive(Debug, Clone, Default)]
pub struct Bureaus {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// (activity, started at ms, idempotency key)
    calls: Vec<(String, u64, String)>,
    failing: Vec<(String, u32)>,
    takes: Vec<(String, Duration)>,
    /// An activity that waits, before it does anything, until the gate opens.
    gated: Option<String>,
    /// Where the crash checker reads the calls, if it runs the bureaus.
    log: Option<CallLog>,
}

impl Bureaus {
    fn failing(self, activity: &str, times: u32) -> Self {
        self.inner
            .lock()
            .unwrap()
            .failing
            .push((activity.into(), times));
        self
    }

    /// `activity` waits at a gate until [`open_gate`](Self::open_gate).
    fn gated(self, activity: &str) -> Self {
        self.inner.lock().unwrap().gated = Some(activity.into());
        self
    }

    /// The bureaus, also recording their calls in `log`.
    fn logging(self, log: CallLog) -> Self {
        self.inner.lock().unwrap().log = Some(log);
        self
    }

    fn open_gate(&self) {
        self.inner.lock().unwrap().gated = None;
    }

    fn taking(self, activity: &str, takes: Duration) -> Self {
        self.inner
            .lock()
            .unwrap()
            .takes
            .push((activity.into(), takes));
        self
    }

    fn calls(&self) -> Vec<(String, u64)> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .map(|(a, at, _)| (a.clone(), *at))
            .collect()
    }

    fn names(&self) -> Vec<String> {
        self.calls().into_iter().map(|(a, _)| a).collect()
    }

    fn key(&self, activity: &str) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner
            .calls
            .iter()
            .filter(|(a, _, _)| a == activity)
            .map(|(_, _, key)| key.clone())
            .collect()
    }

    /// Logs the call; then waits what the activity takes, or fails if it is told to.
    async fn call(
        &self,
        activity: &str,
        default: Duration,
        ctx: &StepCtx,
        start: tokio::time::Instant,
    ) -> Result<(), Fault> {
        let (fails, takes) = {
            let mut inner = self.inner.lock().unwrap();
            let at = u64::try_from(start.elapsed().as_millis()).unwrap();
            let key = ctx.idempotency_key().unwrap_or_default().to_string();
            inner.calls.push((activity.into(), at, key));
            if let Some(log) = &inner.log {
                // No fault is injected through it: the bureaus inject their own.
                let _ = log.call(ctx);
            }
            let fails = inner
                .failing
                .iter_mut()
                .find(|(a, left)| a == activity && *left > 0)
                .map(|(_, left)| *left -= 1)
                .is_some();
            let takes = inner
                .takes
                .iter()
                .find(|(a, _)| a == activity)
                .map_or(default, |(_, t)| *t);
            (fails, takes)
        };
        // At most a minute at the gate, in steps of 5 ms.
        for _ in 0..12_000 {
            if self.inner.lock().unwrap().gated.as_deref() != Some(activity) {
                break;
            }
            tokio::time::sleep(MS * 5).await;
        }
        tokio::time::sleep(takes).await;
        if fails {
            return Err(Fault {
                step: activity.into(),
                attempt: ctx.attempt(),
            });
        }
        Ok(())
    }
}

/// The bureaus and the instant the test started, for the times calls are logged at.
#[derive(Debug, Clone)]
pub struct Desk {
    bureaus: Bureaus,
    start: tokio::time::Instant,
}

impl Desk {
    fn new(bureaus: &Bureaus) -> Self {
        Self {
            bureaus: bureaus.clone(),
            start: tokio::time::Instant::now(),
        }
    }
}

/// The same bureaus behind both flows.
macro_rules! desk_activities {
    ($flow:ident) => {
        impl $flow::Activities for Desk {
            type Error = Fault;

            async fn credit(&self, _: &$flow::Applied, ctx: &StepCtx) -> Result<Credit, Fault> {
                self.bureaus
                    .call("credit", MS * 30, ctx, self.start)
                    .await?;
                Ok(Credit { score: 700 })
            }

            async fn income(&self, _: &$flow::Applied, ctx: &StepCtx) -> Result<Income, Fault> {
                self.bureaus
                    .call("income", MS * 20, ctx, self.start)
                    .await?;
                Ok(Income { yearly: 90_000 })
            }

            async fn appraisal(
                &self,
                from: &$flow::Applied,
                ctx: &StepCtx,
            ) -> Result<Appraisal, Fault> {
                self.bureaus
                    .call("appraisal", MS * 50, ctx, self.start)
                    .await?;
                Ok(Appraisal {
                    value: from.amount * 2,
                })
            }

            async fn void_credit(&self, credit: &Credit, ctx: &StepCtx) -> Result<(), Fault> {
                assert_eq!(credit.score, 700, "the undo receives its branch's output");
                self.bureaus.call("void_credit", MS, ctx, self.start).await
            }

            async fn forget_income(&self, _: &Income, ctx: &StepCtx) -> Result<(), Fault> {
                self.bureaus
                    .call("forget_income", MS, ctx, self.start)
                    .await
            }

            async fn cancel_appraisal(&self, _: &Appraisal, ctx: &StepCtx) -> Result<(), Fault> {
                self.bureaus
                    .call("cancel_appraisal", MS, ctx, self.start)
                    .await
            }
        }
    };
}

desk_activities!(loan);
desk_activities!(at_once);

/// The undos a report says were done, in its order; any other line fails the test.
fn undone(report: &workflow_core::Report<workflow_core::Failure>) -> Vec<&'static str> {
    report
        .entries()
        .iter()
        .map(|e| match e {
            Entry::Undone { undo } => *undo,
            other => panic!("{other:?}"),
        })
        .collect()
}

/// After a crash with credit and income journaled and the appraisal (under `key`) in flight,
/// the resumed run called only the appraisal, with the key it had.
fn only_the_appraisal_again(bureaus: &Bureaus, key: &str) {
    assert_eq!(
        bureaus.names(),
        ["credit", "income", "appraisal", "appraisal"],
        "only the unfinished branch runs again"
    );
    assert_eq!(bureaus.key("appraisal"), [key, key]);
}

/// The same application, to the flow that undoes its checks at once.
fn at_once_application() -> at_once::Applied {
    at_once::Applied {
        applicant: "ann".into(),
        amount: 100_000,
    }
}

fn application() -> Applied {
    Applied {
        applicant: "ann".into(),
        amount: 100_000,
    }
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).unwrap())
}

#[tokio::test(start_paused = true)]
async fn the_three_checks_run_at_the_same_time_and_the_decision_waits_for_all_of_them() {
    let bureaus = Bureaus::default();
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let id = runtime.start(application()).await.unwrap();
    tokio::time::sleep(MS * 49).await;
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Applied");
    let Outcome::Completed(loan::State::Approved(approved)) = runtime.outcome(&id).await.unwrap()
    else {
        panic!("approved")
    };
    assert_eq!(approved.amount, 100_000);
    assert_eq!(
        bureaus.calls(),
        [
            ("credit".into(), 0),
            ("income".into(), 0),
            ("appraisal".into(), 0)
        ],
        "all three start at once"
    );
    let history = runtime.history(&id).await.unwrap();
    let kinds: Vec<String> = history
        .iter()
        .map(|r| match &r.kind {
            RecordKind::PartDone { part, .. } => format!("part {part}"),
            RecordKind::Transition { transition, .. } => format!("-> {transition}"),
            RecordKind::Decided { branch, .. } => format!("chose {branch}"),
            RecordKind::Started => "started".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "part 1",
            "part 0",
            "part 2",
            "-> check",
            "chose Approved"
        ],
        "each branch journaled as it finished: income (20 ms), credit (30 ms), appraisal (50 ms)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_branch_is_retried_on_its_own_under_its_own_policy() {
    let bureaus = Bureaus::default().failing("income", 2);
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let id = runtime.start(application()).await.unwrap();
    let Outcome::Completed(_) = runtime.outcome(&id).await.unwrap() else {
        panic!("approved")
    };
    assert_eq!(
        bureaus.calls(),
        [
            ("credit".into(), 0),
            ("income".into(), 0),
            ("appraisal".into(), 0),
            ("income".into(), 30),
            ("income".into(), 60),
        ],
        "income fails after 20 ms, waits 10 ms, twice; the others run once"
    );
    let keys = bureaus.key("income");
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "one key for every attempt: {keys:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn when_one_check_fails_for_good_the_other_two_are_undone_and_the_loan_fails() {
    let bureaus = Bureaus::default().failing("appraisal", 1);
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let id = runtime.start(application()).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!("failed")
    };
    assert_eq!(failure.step, "appraisal");
    assert_eq!(failure.part, Some(2));
    assert_eq!(failure.kind, FailureKind::Activity);
    assert_eq!(
        bureaus.names(),
        [
            "credit",
            "income",
            "appraisal",
            "void_credit",
            "forget_income"
        ],
        "the completed branches are undone, newest first (credit finished after income)"
    );
    assert_eq!(undone(&report), ["void_credit", "forget_income"]);
}

#[tokio::test(start_paused = true)]
async fn a_slow_branch_times_out_on_its_own_timeout() {
    let bureaus = Bureaus::default().taking("appraisal", Duration::from_secs(5));
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let id = runtime.start(application()).await.unwrap();
    let Outcome::Failed { failure, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_eq!(failure.step, "appraisal");
}

#[tokio::test(start_paused = true)]
async fn killed_after_two_checks_finished_the_resumed_run_calls_only_the_third() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loans.sqlite");
    let bureaus = Bureaus::default().taking("appraisal", MS * 100);
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    let id = runtime
        .start_with_id("loan-1", application())
        .await
        .unwrap();
    tokio::time::sleep(MS * 50).await;
    runtime.shutdown().await;
    drop(runtime);
    assert_eq!(bureaus.names(), ["credit", "income", "appraisal"]);
    let cut_short = bureaus.key("appraisal");

    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(&id));
    let Outcome::Completed(loan::State::Approved(_)) = runtime.outcome(&id).await.unwrap() else {
        panic!("approved")
    };
    only_the_appraisal_again(&bureaus, &cut_short[0]);
}

#[tokio::test(start_paused = true)]
async fn with_parallel_compensation_the_completed_checks_are_undone_at_the_same_time() {
    let bureaus = Bureaus::default()
        .failing("appraisal", 1)
        .taking("void_credit", MS * 10)
        .taking("forget_income", MS * 10);
    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let id = runtime.start(at_once_application());
    let id = id.await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!("failed")
    };
    assert_eq!((&*failure.step, failure.part), ("appraisal", Some(2)));
    // Appraisal fails at 50 ms: both undos start then, together.
    assert_eq!(
        bureaus.calls(),
        [
            ("credit".into(), 0),
            ("income".into(), 0),
            ("appraisal".into(), 0),
            ("void_credit".into(), 50),
            ("forget_income".into(), 50),
        ]
    );
    let mut undone = undone(&report);
    undone.sort_unstable();
    assert_eq!(undone, ["forget_income", "void_credit"]);
    let undos = runtime
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| matches!(r.kind, RecordKind::Undone { .. }))
        .count();
    assert_eq!(undos, 2, "each undo recorded once");
    assert!(
        at_once::MERMAID.contains("undo(parallel)"),
        "{}",
        at_once::MERMAID
    );
    assert!(at_once::DEFINITION.transitions()[0].undoes_parts_at_once());
    assert!(!loan::DEFINITION.transitions()[0].undoes_parts_at_once());
}

#[tokio::test(start_paused = true)]
async fn with_parallel_compensation_an_undo_that_fails_is_retried_alone_and_reported() {
    // forget_income fails on each of its 3 attempts; void_credit is undone meanwhile.
    let bureaus = Bureaus::default()
        .failing("appraisal", 1)
        .failing("forget_income", 3);
    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), memory());
    let applied = at_once_application();
    let id = runtime.start(applied).await.unwrap();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    let lines: Vec<String> = report
        .entries()
        .iter()
        .map(|e| match e {
            Entry::Undone { undo } => format!("undone {undo}"),
            Entry::UndoFailed { undo, .. } => format!("failed {undo}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(lines, ["undone void_credit", "failed forget_income"]);
    assert_eq!(
        bureaus.calls()[3..],
        [
            ("void_credit".into(), 50),
            ("forget_income".into(), 50),
            ("forget_income".into(), 61),
            ("forget_income".into(), 72),
        ],
        "its retries wait 10 ms after each 1 ms attempt, while the other undo is done"
    );
}

#[tokio::test(start_paused = true)]
async fn killed_while_the_checks_are_undone_at_once_the_resumed_run_undoes_only_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loans.sqlite");
    let bureaus = Bureaus::default()
        .failing("appraisal", 1)
        .taking("forget_income", MS * 100);
    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    let applied = at_once_application();
    let id = runtime.start_with_id("loan-1", applied).await.unwrap();
    // Appraisal fails at 50 ms; void_credit is done at 51 ms, forget_income is in flight.
    tokio::time::sleep(MS * 60).await;
    runtime.shutdown().await;
    drop(runtime);
    let names = bureaus.names();
    assert_eq!(names[3..], ["void_credit", "forget_income"]);
    let in_flight = bureaus.key("forget_income");

    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    runtime.resume().await.unwrap();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    assert_eq!(
        bureaus.names()[3..],
        ["void_credit", "forget_income", "forget_income"],
        "only the undo in flight runs again"
    );
    assert_eq!(
        bureaus.key("forget_income"),
        [in_flight[0].clone(), in_flight[0].clone()],
        "with the key it had"
    );
    assert_eq!(
        report.entries(),
        [
            Entry::Undone {
                undo: "void_credit"
            },
            Entry::Undone {
                undo: "forget_income"
            }
        ]
    );
}

#[tokio::test]
async fn on_postgres_killed_after_two_checks_finished_the_resumed_run_calls_only_the_third() {
    let Some(server) = pg_server::Server::shared() else {
        return;
    };
    let db = server.database("s12_loan").await;
    let connect = async || {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
        store
    };
    // Real time here: the appraisal waits at the gate, so the crash finds credit and income
    // journaled and the appraisal in flight.
    let bureaus = Bureaus::default().gated("appraisal");
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), connect().await);
    let id = runtime
        .start_with_id("loan-pg", application())
        .await
        .unwrap();
    let mut journaled = 0;
    for _ in 0..1_500 {
        let history = runtime.history(&id).await.unwrap();
        journaled = history
            .iter()
            .filter(|r| matches!(r.kind, RecordKind::PartDone { .. }))
            .count();
        if journaled == 2 {
            break;
        }
        tokio::time::sleep(MS * 20).await;
    }
    assert_eq!(journaled, 2, "credit and income journaled");
    runtime.shutdown().await;
    drop(runtime);
    assert_eq!(bureaus.names(), ["credit", "income", "appraisal"]);
    let cut_short = bureaus.key("appraisal");

    bureaus.open_gate();
    let runtime = Runtime::<loan::Flow, _>::with_store(Desk::new(&bureaus), connect().await);
    runtime.resume().await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), runtime.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Completed(loan::State::Approved(_)) = outcome else {
        panic!("approved: {outcome:?}")
    };
    only_the_appraisal_again(&bureaus, &cut_short[0]);
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_the_checks_resume_to_the_same_end_each_call_once() {
    // The three checks and the decision; then one check failing for good and the other two
    // undone, one after another and all at once.
    let approved = crash_check::<loan::Flow, _>(application(), |log| {
        Desk::new(&Bureaus::default().logging(log))
    })
    .await
    .unwrap();
    // Created; the three checks marked running, before they start; income's record, then
    // credit's; the appraisal's with the join's landing and the guard's decision.
    assert_eq!((approved.writes, approved.points), (5, 4));
    // A fault that every attempt meets: a fault counted in calls would be used up by a run
    // the crash stopped, and the resumed run would rightly end otherwise.
    let declined = crash_check::<loan::Flow, _>(application(), |log| {
        Desk::new(
            &Bureaus::default()
                .failing("appraisal", u32::MAX)
                .logging(log),
        )
    })
    .await
    .unwrap();
    // Created; the checks marked running; income's record, then credit's; the appraisal's
    // failure with the compensation; each undo (the last with the end).
    assert_eq!((declined.writes, declined.points), (7, 6));
    let at_once = at_once_application();
    let undone_at_once = crash_check::<at_once::Flow, _>(at_once, |log| {
        Desk::new(
            &Bureaus::default()
                .failing("appraisal", u32::MAX)
                .logging(log),
        )
    })
    .await
    .unwrap();
    assert_eq!(undone_at_once.writes, declined.writes);
}

#[tokio::test(start_paused = true)]
async fn killed_while_an_undo_at_once_waits_to_retry_the_resumed_run_keeps_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loans.sqlite");
    // The appraisal fails at 50 ms; forget_income fails every attempt (income's policy: three,
    // 10 ms apart), void_credit succeeds.
    let bureaus = Bureaus::default()
        .failing("appraisal", 1)
        .failing("forget_income", u32::MAX);
    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    let applied = at_once_application();
    let id = runtime.start_with_id("loan-2", applied).await.unwrap();
    // forget_income's first attempt failed at 51 ms; its retry is due at 61 ms.
    tokio::time::sleep(MS * 55).await;
    runtime.shutdown().await;
    drop(runtime);
    assert_eq!(bureaus.names()[3..], ["void_credit", "forget_income"]);

    let runtime = Runtime::<at_once::Flow, _>::with_store(Desk::new(&bureaus), open(&path));
    runtime.resume().await.unwrap();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    let attempts = bureaus
        .names()
        .iter()
        .filter(|n| *n == "forget_income")
        .count();
    assert_eq!(
        attempts, 3,
        "the count of failed attempts survived the crash"
    );
    assert!(matches!(
        report.entries(),
        [
            Entry::Undone {
                undo: "void_credit"
            },
            Entry::UndoFailed {
                undo: "forget_income",
                ..
            }
        ]
    ));
}
