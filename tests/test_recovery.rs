//! Restarts on the SQLite store, in virtual time: a runtime is shut down (as a crash would stop
//! it) and a new one, on the same file reopened, resumes its instances. Timers keep their due
//! time, retries the rest of their wait, an interrupted attempt runs again with its key and
//! the rest of its timeout, and an instance stored under another definition is refused.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};
use workflow_core::store::{RecordKind, SqliteOptions, SqliteStore, Store, StoreError};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{FailureKind, InstanceId, Workflow};

/// An approval, with the approver's note.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Approve {
    note: String,
}

/// The claim flow, as deployed first.
mod v1 {
    use super::Approve;
    use workflow_core::prelude::*;

    workflow! {
        /// An expense claim: filed, approved by someone (or expired after an hour), paid.
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Claim {
            initial Filed    { n: u32 }
            state   Waiting  { n: u32 }
            state   Approved { n: u32 }
            final   Paid     { n: u32 }
            final   Expired  { n: u32 }

            file:    Filed -> Waiting undo withdraw;
            approve: Waiting -> Approved, on Approve;
            pay:     Approved -> Paid, retry(3, 1s..10s), timeout(5s);
            expire:  Waiting -> Expired, after(1h), compensate;
        }
    }
}

/// The same flow after a change: an approval now needs a second step.
mod v2 {
    use super::Approve;
    use workflow_core::prelude::*;

    workflow! {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Claim {
            initial Filed    { n: u32 }
            state   Waiting  { n: u32 }
            state   Approved { n: u32 }
            state   Audited  { n: u32 }
            final   Paid     { n: u32 }
            final   Expired  { n: u32 }

            file:    Filed -> Waiting undo withdraw;
            approve: Waiting -> Approved, on Approve;
            audit:   Approved -> Audited;
            pay:     Audited -> Paid, retry(3, 1s..10s), timeout(5s);
            expire:  Waiting -> Expired, after(1h), compensate;
        }
    }
}

use v1::claim;

/// Fake activities: every call is logged; `pay` and `withdraw` take the virtual time they are
/// told to, call by call.
#[derive(Clone, Default)]
struct Office {
    log: CallLog,
    pay_takes: Arc<Mutex<VecDeque<Duration>>>,
    withdraw_takes: Arc<Mutex<VecDeque<Duration>>>,
}

impl Office {
    fn pay_takes(self, durations: &[u64]) -> Self {
        *self.pay_takes.lock().unwrap() =
            durations.iter().map(|&s| Duration::from_secs(s)).collect();
        self
    }

    fn withdraw_takes(self, durations: &[u64]) -> Self {
        *self.withdraw_takes.lock().unwrap() =
            durations.iter().map(|&s| Duration::from_secs(s)).collect();
        self
    }

    async fn take(durations: &Mutex<VecDeque<Duration>>) {
        let next = durations.lock().unwrap().pop_front();
        tokio::time::sleep(next.unwrap_or_default()).await;
    }

    /// (step, attempt, idempotency key, virtual seconds) of every call.
    fn calls(&self) -> Vec<(String, u32, String, u64)> {
        self.log
            .calls()
            .into_iter()
            .map(|c| (c.step, c.attempt, c.key.unwrap_or_default(), c.at.as_secs()))
            .collect()
    }
}

impl claim::Activities for Office {
    type Error = Fault;
    async fn file(&self, from: &claim::Filed, ctx: &StepCtx) -> Result<claim::Waiting, Fault> {
        self.log.call(ctx)?;
        Ok(claim::Waiting { n: from.n })
    }
    async fn approve(
        &self,
        from: &claim::Waiting,
        _: &Approve,
        ctx: &StepCtx,
    ) -> Result<claim::Approved, Fault> {
        self.log.call(ctx)?;
        Ok(claim::Approved { n: from.n })
    }
    async fn pay(&self, from: &claim::Approved, ctx: &StepCtx) -> Result<claim::Paid, Fault> {
        self.log.call(ctx)?;
        Self::take(&self.pay_takes).await;
        Ok(claim::Paid { n: from.n })
    }
    async fn expire(&self, from: &claim::Waiting, ctx: &StepCtx) -> Result<claim::Expired, Fault> {
        self.log.call(ctx)?;
        Ok(claim::Expired { n: from.n })
    }
    async fn withdraw(&self, _: &claim::Waiting, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)?;
        Self::take(&self.withdraw_takes).await;
        Ok(())
    }
}

impl v2::claim::Activities for Office {
    type Error = Fault;
    async fn file(
        &self,
        from: &v2::claim::Filed,
        ctx: &StepCtx,
    ) -> Result<v2::claim::Waiting, Fault> {
        self.log.call(ctx)?;
        Ok(v2::claim::Waiting { n: from.n })
    }
    async fn approve(
        &self,
        from: &v2::claim::Waiting,
        _: &Approve,
        ctx: &StepCtx,
    ) -> Result<v2::claim::Approved, Fault> {
        self.log.call(ctx)?;
        Ok(v2::claim::Approved { n: from.n })
    }
    async fn audit(
        &self,
        from: &v2::claim::Approved,
        ctx: &StepCtx,
    ) -> Result<v2::claim::Audited, Fault> {
        self.log.call(ctx)?;
        Ok(v2::claim::Audited { n: from.n })
    }
    async fn pay(
        &self,
        from: &v2::claim::Audited,
        ctx: &StepCtx,
    ) -> Result<v2::claim::Paid, Fault> {
        self.log.call(ctx)?;
        Ok(v2::claim::Paid { n: from.n })
    }
    async fn expire(
        &self,
        from: &v2::claim::Waiting,
        ctx: &StepCtx,
    ) -> Result<v2::claim::Expired, Fault> {
        self.log.call(ctx)?;
        Ok(v2::claim::Expired { n: from.n })
    }
    async fn withdraw(&self, _: &v2::claim::Waiting, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)
    }
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).unwrap())
}

/// Stops `runtime` as a crash would, and closes its store.
async fn crash<W: workflow_core::runtime::Runnable<A>, A: Send + Sync + 'static>(
    runtime: Runtime<W, A>,
) {
    runtime.shutdown().await;
}

/// A new runtime on the same file, resuming what the last one left: it must resume `id`.
async fn restart(path: &Path, office: &Office, id: &InstanceId) -> Runtime<claim::Flow, Office> {
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(path));
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(id));
    assert!(resumed.refused.is_empty(), "{:?}", resumed.refused);
    runtime
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn a_timer_fires_after_a_restart_when_it_was_due() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default();
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-1", claim::Filed { n: 1 })
        .await
        .unwrap();
    tokio::time::sleep(secs(20 * 60)).await;
    crash(runtime).await;
    tokio::time::sleep(secs(10 * 60)).await; // down for ten minutes

    let runtime = restart(&path, &office, &id).await;
    let finished = runtime.outcome(&id).await.unwrap();
    assert!(
        matches!(finished, Outcome::Completed(claim::State::Expired(_))),
        "{finished:?}"
    );
    let at: Vec<(String, u64)> = office
        .calls()
        .into_iter()
        .map(|(s, _, _, at)| (s, at))
        .collect();
    assert_eq!(
        at,
        [
            ("file".into(), 0),
            ("expire".into(), 3600),
            ("withdraw".into(), 3600)
        ],
        "the timer fired an hour after the claim waited, not an hour after the restart"
    );
}

#[tokio::test(start_paused = true)]
async fn an_event_recorded_before_a_crash_takes_its_step_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default().pay_takes(&[3, 3]);
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-2", claim::Filed { n: 2 })
        .await
        .unwrap();
    tokio::time::sleep(secs(60)).await;
    runtime.send(&id, Approve::default()).await.unwrap();
    tokio::time::sleep(secs(1)).await; // `pay` is running
    crash(runtime).await;

    let runtime = restart(&path, &office, &id).await;
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(
        finished,
        Outcome::Completed(claim::State::Paid(claim::Paid { n: 2 }))
    );
    let calls = office.calls();
    let pays: Vec<_> = calls.iter().filter(|c| c.0 == "pay").collect();
    assert_eq!(pays.len(), 2, "{calls:?}");
    assert_eq!(
        (pays[0].1, pays[1].1),
        (1, 1),
        "the interrupted attempt is made again"
    );
    assert_eq!(pays[0].2, pays[1].2, "with the same idempotency key");
    assert_eq!((pays[0].3, pays[1].3), (60, 61));
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_attempt_keeps_what_was_left_of_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    // The first `pay` is interrupted at 2s; run again, it takes 4s but has only 3s left of
    // its 5s timeout; the next attempt takes 4s and succeeds.
    let office = Office::default().pay_takes(&[100, 4, 4]);
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-3", claim::Filed { n: 3 })
        .await
        .unwrap();
    runtime.send(&id, Approve::default()).await.unwrap();
    tokio::time::sleep(secs(2)).await;
    crash(runtime).await;

    let runtime = restart(&path, &office, &id).await;
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(finished.state().name(), "Paid");
    let pays: Vec<(u32, u64)> = office
        .calls()
        .into_iter()
        .filter(|c| c.0 == "pay")
        .map(|(_, attempt, _, at)| (attempt, at))
        .collect();
    assert_eq!(
        pays,
        [(1, 0), (1, 2), (2, 6)],
        "timed out at 5s, retried 1s later"
    );
    let history = runtime.history(&id).await.unwrap();
    assert!(history.iter().any(|r| matches!(
        &r.kind,
        RecordKind::AttemptFailed { failure, .. }
            if (failure.step(), failure.attempt(), failure.kind()) == ("pay", 1, FailureKind::Timeout)
    )));
}

#[tokio::test(start_paused = true)]
async fn a_retry_waits_out_the_rest_of_its_wait_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default();
    office.log.fail("pay", 2);
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-4", claim::Filed { n: 4 })
        .await
        .unwrap();
    runtime.send(&id, Approve::default()).await.unwrap();
    // Attempt 1 fails at 0s, attempt 2 at 1s; attempt 3 is due at 3s. Crash at 2s.
    tokio::time::sleep(secs(2)).await;
    crash(runtime).await;

    let runtime = restart(&path, &office, &id).await;
    assert_eq!(runtime.outcome(&id).await.unwrap().state().name(), "Paid");
    let pays: Vec<(u32, u64, String)> = office
        .calls()
        .into_iter()
        .filter(|c| c.0 == "pay")
        .map(|(_, attempt, key, at)| (attempt, at, key))
        .collect();
    let key = pays[0].2.clone();
    assert_eq!(
        pays,
        [(1, 0, key.clone()), (2, 1, key.clone()), (3, 3, key)]
    );
}

#[tokio::test(start_paused = true)]
async fn compensation_interrupted_by_a_crash_finishes_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default().withdraw_takes(&[10, 0]);
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-5", claim::Filed { n: 5 })
        .await
        .unwrap();
    // The claim expires at 1h; `withdraw` then runs for 10s. Crash in the middle.
    tokio::time::sleep(secs(3600 + 5)).await;
    crash(runtime).await;

    let runtime = restart(&path, &office, &id).await;
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(
        finished,
        Outcome::Completed(claim::State::Expired(claim::Expired { n: 5 }))
    );
    let steps: Vec<(String, String)> = office
        .calls()
        .into_iter()
        .map(|(step, _, key, _)| (step, key))
        .collect();
    assert_eq!(steps.len(), 4, "{steps:?}");
    assert_eq!(
        steps.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
        ["file", "expire", "withdraw", "withdraw"]
    );
    assert_eq!(
        steps[2].1, steps[3].1,
        "the undo is made again with the same key"
    );
}

#[tokio::test(start_paused = true)]
async fn an_instance_stored_under_another_definition_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default();
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), open(&path));
    let id = runtime
        .start_with_id("c-6", claim::Filed { n: 6 })
        .await
        .unwrap();
    tokio::time::sleep(secs(60)).await;
    crash(runtime).await;
    let before = open(&path).load("Claim", &id).await.unwrap();

    let changed = Runtime::<v2::claim::Flow, _>::with_store(office.clone(), open(&path));
    let resumed = changed.resume().await.unwrap();
    assert!(resumed.instances.is_empty());
    let stored = claim::Flow::DEFINITION.fingerprint();
    let current = v2::claim::Flow::DEFINITION.fingerprint();
    assert_ne!(stored, current);
    assert_eq!(resumed.refused.len(), 1);
    let RuntimeError::DefinitionChanged {
        flow,
        id: refused,
        stored: was,
        current: now,
    } = &resumed.refused[0]
    else {
        panic!("{}", resumed.refused[0])
    };
    assert_eq!(
        (*flow, refused, *was, *now),
        ("Claim", &id, stored, current)
    );
    let refused = changed.send(&id, Approve::default()).await.unwrap_err();
    assert!(
        matches!(refused.error, RuntimeError::DefinitionChanged { .. }),
        "{refused}"
    );
    drop(changed);
    assert_eq!(
        open(&path).load("Claim", &id).await.unwrap(),
        before,
        "left as it was"
    );

    // The definition it was stored under still runs it.
    let runtime = restart(&path, &office, &id).await;
    runtime.send(&id, Approve::default()).await.unwrap();
    assert_eq!(runtime.outcome(&id).await.unwrap().state().name(), "Paid");
}

#[tokio::test(start_paused = true)]
async fn a_full_store_refuses_a_start_and_an_event_and_hands_them_back_changing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.sqlite");
    let office = Office::default();
    let small = SqliteStore::open_with(&path, &SqliteOptions::new().max_size(64 * 1024)).unwrap();
    let runtime = Runtime::<claim::Flow, _>::with_store(office.clone(), Arc::new(small));
    let id = runtime
        .start_with_id("c-7", claim::Filed { n: 7 })
        .await
        .unwrap();
    tokio::time::sleep(secs(1)).await; // `file` ran: the claim waits for an approval

    // Other claims fill the store until one cannot even start; it is handed back.
    let mut n = 0_u32;
    let refused = loop {
        n += 1;
        match runtime
            .start_with_id(format!("filler-{n}"), claim::Filed { n })
            .await
        {
            Ok(_) => assert!(n < 10_000, "the size limit never took effect"),
            Err(refused) => break refused,
        }
    };
    assert!(
        matches!(refused.error, RuntimeError::Store(StoreError::Full(_))),
        "{}",
        refused.error
    );
    assert_eq!(
        refused.into_value(),
        claim::State::Filed(claim::Filed { n })
    );

    let before = runtime.history(&id).await.unwrap();
    // A long note: its message needs pages the full store does not have.
    let long = Approve {
        note: "looks right ".repeat(1_000),
    };
    let rejected = runtime.send(&id, long.clone()).await.unwrap_err();
    assert!(
        matches!(rejected.error, RuntimeError::Store(StoreError::Full(_))),
        "{}",
        rejected.error
    );
    assert_eq!(rejected.into_value(), claim::Event::Approve(long));
    assert_eq!(
        runtime.history(&id).await.unwrap(),
        before,
        "nothing written"
    );
    assert!(
        runtime
            .store()
            .inbox("Claim", &id)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Waiting");
    crash(runtime).await;
}

/// A note, filed with a copy of itself too large for a small store.
mod notes {
    use workflow_core::prelude::*;

    workflow! {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Note {
            initial Draft { words: u32 }
            final   Filed { text: String }
            file: Draft -> Filed;
        }
    }

    pub struct Clerk;

    impl note::Activities for Clerk {
        type Error = String;
        async fn file(&self, from: &note::Draft, _: &StepCtx) -> Result<note::Filed, String> {
            Ok(note::Filed {
                text: "word ".repeat(from.words as usize),
            })
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_write_that_does_not_fit_stalls_the_instance_with_a_typed_error_and_it_resumes_once_there_is_room()
 {
    use notes::{Clerk, note};

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.sqlite");
    let small = SqliteStore::open_with(&path, &SqliteOptions::new().max_size(64 * 1024)).unwrap();
    let runtime = Runtime::<note::Flow, _>::with_store(Clerk, Arc::new(small));
    // `file` lands in a state of 100 kB: its record does not fit the 64 kB store.
    let id = runtime
        .start_with_id("big", note::Draft { words: 20_000 })
        .await
        .unwrap();
    let stalled = tokio::time::timeout(secs(60), runtime.outcome(&id))
        .await
        .expect("the outcome says the instance stalled")
        .unwrap_err();
    let RuntimeError::Stalled { error, .. } = &stalled else {
        panic!("{stalled}")
    };
    assert!(matches!(**error, StoreError::Full(_)), "{error}");
    let history = runtime.history(&id).await.unwrap();
    assert_eq!(history.len(), 1, "only the start: nothing half-written");
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Draft");
    crash(runtime).await;

    // With room again (no size limit), the instance carries on from where it was.
    let runtime = Runtime::<note::Flow, _>::with_store(Clerk, open(&path));
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(&id));
    let outcome = runtime.outcome(&id).await.unwrap();
    assert_eq!(outcome.state().name(), "Filed");
}
