//! A store file written by the previous release (store format 1, `tests/fixtures/store-v1.sqlite`,
//! described in `tests/fixtures/store-v1.md`) opens, is upgraded to the current format in
//! place, reads back as it was, and its unfinished instances carry on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::{Cause, RecordKind, SqliteStore, Status, Store, Timer, Work};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{FailureKind, InstanceId, Workflow};

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Approve {
    note: String,
}

workflow! {
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

/// The flow's activities; `pay` (which failed for claim 3 when the fixture was written) now
/// goes through.
struct Office(CallLog);

impl claim::Activities for Office {
    type Error = Fault;
    async fn file(&self, from: &claim::Filed, ctx: &StepCtx) -> Result<claim::Waiting, Fault> {
        self.0.call(ctx)?;
        Ok(claim::Waiting { n: from.n })
    }
    async fn approve(
        &self,
        from: &claim::Waiting,
        _: &Approve,
        ctx: &StepCtx,
    ) -> Result<claim::Approved, Fault> {
        self.0.call(ctx)?;
        Ok(claim::Approved { n: from.n })
    }
    async fn pay(&self, from: &claim::Approved, ctx: &StepCtx) -> Result<claim::Paid, Fault> {
        self.0.call(ctx)?;
        Ok(claim::Paid { n: from.n })
    }
    async fn expire(&self, from: &claim::Waiting, ctx: &StepCtx) -> Result<claim::Expired, Fault> {
        self.0.call(ctx)?;
        Ok(claim::Expired { n: from.n })
    }
    async fn withdraw(&self, _: &claim::Waiting, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
}

/// A copy of the fixture in a temporary directory: opening a file in write-ahead-log mode
/// writes beside it.
fn fixture(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("store-v1.sqlite");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1.sqlite"),
        &path,
    )
    .unwrap();
    path
}

fn format_of(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_file_of_the_previous_format_is_upgraded_and_reads_back_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(&dir);
    assert_eq!(format_of(&path), 1);
    assert_eq!(
        claim::Flow::DEFINITION.fingerprint().to_string(),
        "2b0b47049365feee",
        "the flow the fixture was written with"
    );
    let store = SqliteStore::open(&path).unwrap();

    let done = store
        .load("Claim", &InstanceId::new("c-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.status, done.seq), (Status::Completed, 5));
    assert_eq!(&*done.state, r#"{"Paid":{"n":1}}"#);
    let kinds: Vec<RecordKind> = store
        .history("Claim", &InstanceId::new("c-1"))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert_eq!(kinds.len(), 5);
    assert_eq!(kinds[0], RecordKind::Started);
    assert!(
        matches!(&kinds[2], RecordKind::EventAccepted { transition, event, .. }
        if transition == "approve" && &**event == r#"{"Approve":{"note":"ok"}}"#)
    );

    let waiting = store
        .load("Claim", &InstanceId::new("c-2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (waiting.status, &*waiting.state_name),
        (Status::Running, "Waiting")
    );
    assert_eq!(waiting.timer, Some(Timer::new("expire", 1_796_233_021_565)));
    assert_eq!(waiting.chain.len(), 1);
    assert_eq!(
        (
            &*waiting.chain[0].undo,
            waiting.chain[0].seq,
            &*waiting.chain[0].state
        ),
        ("withdraw", 2, r#"{"Waiting":{"n":2}}"#)
    );

    let retrying = store
        .load("Claim", &InstanceId::new("c-3"))
        .await
        .unwrap()
        .unwrap();
    let Some(Work::Step(step)) = &retrying.work else {
        panic!("{:?}", retrying.work)
    };
    assert_eq!(
        (&*step.transition, &*step.key, step.failed, step.retry_at_ms),
        ("pay", "c-3/4/pay", 1, Some(1_796_229_422_577))
    );
    let failed: Vec<_> = store
        .history("Claim", &InstanceId::new("c-3"))
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.kind {
            RecordKind::AttemptFailed { failure, .. } => Some(failure),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].step(), failed[0].attempt(), failed[0].kind()),
        ("pay", 1, FailureKind::Activity)
    );
    assert_eq!(failed[0].message(), "payment of claim 3 declined");
    drop(store);
    assert_eq!(format_of(&path), 2, "upgraded in place");

    // Opened again, it is already of the current format.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.list("Claim").await.unwrap().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_unfinished_instances_of_an_upgraded_file_carry_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(&dir);
    let log = CallLog::new();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let runtime = Runtime::<claim::Flow, _>::with_store(Office(log.clone()), store);
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(
        resumed.instances,
        [InstanceId::new("c-2"), InstanceId::new("c-3")]
    );
    assert!(resumed.refused.is_empty(), "{:?}", resumed.refused);

    // c-3's retry, due long ago, is made with its key; the payment now goes through.
    let paid = tokio::time::timeout(
        Duration::from_mins(1),
        runtime.outcome(&InstanceId::new("c-3")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        paid,
        Outcome::Completed(claim::State::Paid(claim::Paid { n: 3 }))
    );
    let pays: Vec<_> = log
        .calls()
        .into_iter()
        .filter(|c| c.step == "pay")
        .collect();
    assert_eq!(pays.len(), 1);
    assert_eq!(
        (pays[0].attempt, pays[0].key.as_deref()),
        (2, Some("c-3/4/pay")),
        "the second attempt, with the first one's key"
    );

    // c-2's hour (from when it was written) runs out: its timer fires and compensates.
    let expired = tokio::time::timeout(
        Duration::from_hours(2),
        runtime.outcome(&InstanceId::new("c-2")),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        expired,
        Outcome::Completed(claim::State::Expired(claim::Expired { n: 2 }))
    );
    let history = runtime.history(&InstanceId::new("c-2")).await.unwrap();
    assert!(history.iter().any(|r| matches!(
        &r.kind,
        RecordKind::CompensationStarted {
            cause: Cause::Transition(_)
        }
    )));
    assert!(
        history
            .iter()
            .any(|r| matches!(&r.kind, RecordKind::Undone { undo, .. } if undo == "withdraw"))
    );
    runtime.shutdown().await;
}
