//! The crash checker itself: it passes a flow whose fakes are idempotent, and names the kill
//! point where a fake that is not (it hands out a new id to a request made again under the
//! same key) makes the resumed run end otherwise.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::testing::{CallLog, CrashMismatch, Fault, crash_check};

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Ticket {
        initial Asked  {}
        state   Issued { number: u32 }
        final   Sent   { number: u32 }

        issue: Asked -> Issued undo void;
        send:  Issued -> Sent, retry(2, 1s..1s);
    }
}

/// Hands out ticket numbers from a counter. Without a memo, a request made again after a
/// crash gets a new number, as from an API that is not idempotent; with one, the number its
/// key got the first time.
struct Counter {
    log: CallLog,
    next: AtomicU32,
    memo: Option<Mutex<HashMap<String, u32>>>,
}

impl ticket::Activities for Counter {
    type Error = Fault;

    async fn issue(&self, _: &ticket::Asked, ctx: &StepCtx) -> Result<ticket::Issued, Fault> {
        self.log.call(ctx)?;
        let new = || self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let number = match &self.memo {
            Some(memo) => {
                let key = ctx.idempotency_key().unwrap_or_default().to_string();
                *memo.lock().unwrap().entry(key).or_insert_with(new)
            }
            None => new(),
        };
        Ok(ticket::Issued { number })
    }
    async fn void(&self, _: &ticket::Issued, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)
    }
    async fn send(&self, from: &ticket::Issued, ctx: &StepCtx) -> Result<ticket::Sent, Fault> {
        self.log.call(ctx)?;
        Ok(ticket::Sent {
            number: from.number,
        })
    }
}

fn counter(log: CallLog) -> Counter {
    Counter {
        log,
        next: AtomicU32::new(0),
        memo: None,
    }
}

fn idempotent(log: CallLog) -> Counter {
    Counter {
        memo: Some(Mutex::default()),
        ..counter(log)
    }
}

#[tokio::test(start_paused = true)]
async fn a_fake_that_is_not_idempotent_is_caught_at_the_write_it_breaks() {
    // Stopped after the creation (write 1), the issue runs twice: the second number differs.
    // (Stopped later, the number is stored and read back.)
    let found = crash_check::<ticket::Flow, _>(ticket::Asked {}, counter).await;
    let Err(CrashMismatch::Outcome {
        point,
        writes,
        expected,
        found,
    }) = found
    else {
        panic!("caught: {found:?}")
    };
    assert_eq!((point, writes), (1, 3));
    assert!(expected.contains("number: 1"), "{expected}");
    assert!(found.contains("number: 2"), "{found}");
}

#[tokio::test(start_paused = true)]
async fn an_idempotent_fake_passes_through_retries_a_failure_and_its_undo() {
    let checked = crash_check::<ticket::Flow, _>(ticket::Asked {}, idempotent)
        .await
        .unwrap();
    assert_eq!((checked.writes, checked.points), (3, 2));
    // `send` fails for good (both attempts, in every run): `void` undoes the ticket.
    let checked = crash_check::<ticket::Flow, _>(ticket::Asked {}, |log| {
        log.fail_always("send");
        idempotent(log)
    })
    .await
    .unwrap();
    // Created; issued; the first failure (a retry wait); the second, with the compensation;
    // the undo, with the end.
    assert_eq!((checked.writes, checked.points), (5, 4));
}

#[tokio::test(start_paused = true)]
async fn a_fault_injected_by_attempt_is_met_by_every_run() {
    // The first attempt of `send` fails in every run, stopped or resumed: its retry succeeds.
    let checked = crash_check::<ticket::Flow, _>(ticket::Asked {}, |log| {
        log.fail_attempts("send", 1);
        idempotent(log)
    })
    .await
    .unwrap();
    // Created; issued; the failed attempt (a retry wait); the retry's landing.
    assert_eq!((checked.writes, checked.points), (4, 3));
}
