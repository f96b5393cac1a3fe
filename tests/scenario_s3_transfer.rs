//! Scenario S3, money transfer with retries: withdraw (undo: deposit back) -> deposit (undo:
//! withdraw back) -> a final step that always fails, with 3 attempts, first wait 1s, doubling,
//! at most 1min. All in virtual time: the waits take no real time.

use std::time::Duration;

use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{Entry, FailureKind};

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Transfer {
        initial Requested { from: String, to: String, cents: u64 }
        state   Withdrawn { from: String, to: String, cents: u64 }
        state   Deposited { from: String, to: String, cents: u64 }
        final   Settled   { reference: String }

        withdraw: Requested -> Withdrawn undo deposit_back;
        deposit:  Withdrawn -> Deposited undo withdraw_back;
        settle:   Deposited -> Settled, retry(3, 1s..1min);
    }
}

use transfer::{Deposited, Requested, Settled, Withdrawn};

struct Bank(CallLog);

impl transfer::Activities for Bank {
    type Error = Fault;

    async fn withdraw(&self, from: &Requested, ctx: &StepCtx) -> Result<Withdrawn, Fault> {
        self.0.call(ctx)?;
        Ok(Withdrawn {
            from: from.from.clone(),
            to: from.to.clone(),
            cents: from.cents,
        })
    }
    async fn deposit(&self, from: &Withdrawn, ctx: &StepCtx) -> Result<Deposited, Fault> {
        self.0.call(ctx)?;
        Ok(Deposited {
            from: from.from.clone(),
            to: from.to.clone(),
            cents: from.cents,
        })
    }
    async fn settle(&self, _: &Deposited, ctx: &StepCtx) -> Result<Settled, Fault> {
        self.0.call(ctx)?;
        Ok(Settled {
            reference: "never".into(),
        })
    }
    async fn deposit_back(&self, _: &Withdrawn, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
    async fn withdraw_back(&self, _: &Deposited, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
}

fn requested() -> Requested {
    Requested {
        from: "alice".into(),
        to: "bob".into(),
        cents: 10_000,
    }
}

async fn run(log: &CallLog) -> Outcome<transfer::State> {
    log.fail_always("settle");
    let runtime = Runtime::<transfer::Flow, _>::new(Bank(log.clone()));
    let id = runtime.start(requested()).await.unwrap();
    runtime.outcome(&id).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn three_attempts_with_waits_of_1s_and_2s_then_both_undos_newest_first() {
    let real = std::time::Instant::now();
    let log = CallLog::new();
    let finished = run(&log).await;
    log.assert_steps(&[
        "withdraw",
        "deposit",
        "settle",
        "settle",
        "settle",
        "withdraw_back",
        "deposit_back",
    ]);
    let settles: Vec<(u32, Duration)> = log
        .calls()
        .into_iter()
        .filter(|c| c.step == "settle")
        .map(|c| (c.attempt, c.at))
        .collect();
    assert_eq!(
        settles,
        [
            (1, Duration::ZERO),
            (2, Duration::from_secs(1)),
            (3, Duration::from_secs(3))
        ]
    );
    let Outcome::Failed {
        failure, report, ..
    } = finished
    else {
        panic!("{finished:?}")
    };
    assert_eq!(
        (failure.step(), failure.attempt(), failure.kind()),
        ("settle", 3, FailureKind::Activity)
    );
    assert_eq!(report.undone_steps(), ["withdraw_back", "deposit_back"]);
    assert!(
        real.elapsed() < Duration::from_secs(1),
        "virtual time: the waits took no real time"
    );
}

#[tokio::test(start_paused = true)]
async fn an_undo_that_fails_is_reported_next_to_the_original_error() {
    let log = CallLog::new();
    log.fail_always("withdraw_back");
    let finished = run(&log).await;
    let Outcome::Failed {
        failure, report, ..
    } = finished
    else {
        panic!("{finished:?}")
    };
    assert_eq!((failure.step(), failure.attempt()), ("settle", 3));
    let [
        Entry::UndoFailed {
            undo: "withdraw_back",
            error: undo_failure,
        },
        Entry::Skipped {
            undo: "deposit_back",
        },
    ] = report.entries()
    else {
        panic!("{report:?}")
    };
    assert_eq!(
        (undo_failure.step(), undo_failure.kind()),
        ("withdraw_back", FailureKind::Activity)
    );
    assert_eq!(log.count("deposit_back"), 0);
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_the_transfer_fails_the_same_with_each_undo_once() {
    use workflow_core::testing::crash_check;

    let checked = crash_check::<transfer::Flow, _>(requested(), |log| {
        log.fail_always("settle");
        Bank(log)
    })
    .await
    .unwrap();
    // Created; withdrawn; deposited; two failed attempts (each a retry wait); the third with
    // the compensation; each undo (the last with the end).
    assert_eq!((checked.writes, checked.points), (8, 7));
    // An undo that fails for good: the older one is skipped, at every kill point too.
    let checked = crash_check::<transfer::Flow, _>(requested(), |log| {
        log.fail_always("settle");
        log.fail_always("withdraw_back");
        Bank(log)
    })
    .await
    .unwrap();
    // The failed undo ends it, with the older one skipped, in the write after the compensation.
    assert_eq!((checked.writes, checked.points), (7, 6));
}
