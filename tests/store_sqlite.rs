//! The SQLite store on its own: what it writes comes back, refused writes write nothing,
//! concurrent writes share commits, and bad files or a full disk give typed errors, with the
//! file left as it was. The claim and queue rules it shares with every store are in
//! `store_contract.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use workflow_core::store::{
    Answer, ChainEntry, Claim, Commit, Ending, InboxItem, Lease, Message, Record, RecordKind,
    ReportLine, Snapshot, SqliteOptions, SqliteStore, Status, Store, StoreError, Summary, Timer,
    Wake, Work, WorkerId,
};
use workflow_core::{Failure, FailureKind, Fingerprint, InstanceId};

const FLOW: &str = "Order";
/// The time of every write, in milliseconds since the Unix epoch.
const NOW: u64 = 1_700_000_000_000;

fn fingerprint() -> Fingerprint {
    Fingerprint::from_u64(0xfeed_beef_0000_0001)
}

fn lease(worker: &str) -> Lease {
    Lease::new(WorkerId::new(worker), NOW, NOW + 30_000)
}

/// The state after record `seq`, as JSON.
fn state(seq: u64) -> String {
    format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#)
}

/// The undo `undo` put on the chain by record `seq`, for a state other than that record's.
fn undo(seq: u64, undo: &str) -> ChainEntry {
    ChainEntry::new(undo.to_string(), seq, format!(r#"{{"S{seq}":{{}}}}"#))
}

/// The snapshot of instance `id` after record `seq`, with `chain`.
fn snapshot(id: &str, seq: u64, chain: Vec<ChainEntry>) -> Snapshot {
    let mut snapshot = Snapshot::new(
        FLOW,
        InstanceId::new(id),
        fingerprint(),
        format!("S{seq}"),
        state(seq),
    );
    snapshot.seq = seq;
    snapshot.at_ms = NOW + seq;
    snapshot.chain = chain;
    snapshot
}

fn record(seq: u64, kind: RecordKind) -> Record {
    Record::new(seq, NOW + seq, kind, format!("S{seq}"))
}

fn landed(seq: u64, transition: &str) -> Record {
    record(
        seq,
        RecordKind::Transition {
            transition: transition.to_string().into(),
            attempt: 1,
        },
    )
}

/// Creates instance `id` at sequence 1, claimed by `worker`.
async fn create(store: &SqliteStore, id: &str, worker: &str) -> Result<Claim, StoreError> {
    let claim = store
        .create(
            snapshot(id, 1, Vec::new()),
            record(1, RecordKind::Started),
            Wake::Now,
            Some(&lease(worker)),
        )
        .await?;
    Ok(claim.expect("a create with a lease returns its claim"))
}

/// A one-record step of instance `id` to sequence `seq`.
fn step(id: &str, seq: u64, chain: Vec<ChainEntry>) -> Commit {
    Commit::new(
        snapshot(id, seq, chain),
        vec![landed(seq, "step")],
        Wake::Now,
    )
}

fn file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.sqlite")
}

/// The chain of instance `o-1` after record `seq` of [`filled`]: its newest entry is a step
/// that ran a child, held for it.
fn chain(seq: u64) -> Vec<ChainEntry> {
    let child = InstanceId::new("o-1/3/ship");
    let ship = ChainEntry::of_child("ship", 4, undo(4, "ship").state, child);
    [undo(2, "release"), undo(3, "refund"), ship]
        .into_iter()
        .take(usize::try_from(seq.saturating_sub(1)).unwrap())
        .collect()
}

/// A store at `path` holding instance `o-1`, four records long with three undos on its
/// chain, claimed by `w-1` (whose claim it returns).
async fn filled(path: &Path) -> (SqliteStore, Claim) {
    let store = SqliteStore::open(path).unwrap();
    let claim = create(&store, "o-1", "w-1").await.unwrap();
    for (seq, transition) in [(2, "reserve"), (3, "pay"), (4, "ship")] {
        let commit = Commit::new(
            snapshot("o-1", seq, chain(seq)),
            vec![landed(seq, transition)],
            Wake::Now,
        );
        store.commit(&claim, commit).await.unwrap();
    }
    (store, claim)
}

fn failure(step: &str, attempt: u32) -> Failure {
    Failure::new(
        step.to_string(),
        attempt,
        FailureKind::Activity,
        "card declined",
    )
}

/// Work in progress: the step `ship`, attempted twice, due again at `retry_at_ms`.
fn shipping(retry_at_ms: u64) -> Work {
    serde_json::from_value(serde_json::json!({
        "Step": {
            "transition": "ship",
            "event": r#"{"Go":{}}"#,
            "key": "o-1/7/ship",
            "started_ms": NOW + 7,
            "failed": 2,
            "retry_at_ms": retry_at_ms,
        }
    }))
    .unwrap()
}

#[tokio::test]
async fn what_is_written_comes_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = vec![
        record(1, RecordKind::Started),
        landed(2, "reserve"),
        landed(3, "pay"),
        landed(4, "ship"),
    ];
    // Three records in one write; the undo of record 6 receives record 6's own state.
    let batch = vec![
        record(
            5,
            RecordKind::AttemptFailed {
                failure: failure("deliver", 1),
                retry_at_ms: Some(NOW + 1_000),
            },
        ),
        record(
            6,
            RecordKind::Transition {
                transition: "deliver".into(),
                attempt: 2,
            },
        ),
        record(
            7,
            RecordKind::EventAccepted {
                transition: "sign".into(),
                event: r#"{"Signed":{"by":"ana"}}"#.into(),
                message: workflow_core::store::MessageId(3),
            },
        ),
    ];
    let mut batched = snapshot("o-1", 7, chain(4));
    batched.chain.push(undo(5, "recall"));
    batched.chain.push(ChainEntry::new("unsign", 7, state(7)));
    // The newest undo is popped, as when compensation ran it.
    let undone = record(
        8,
        RecordKind::Undone {
            undo: "unsign".into(),
            attempt: 1,
        },
    );
    let mut last = snapshot("o-1", 8, batched.chain[..4].to_vec());
    last.timer = Some(Timer::new("expire", NOW + 86_400_000));
    last.work = Some(shipping(NOW + 9_000));
    {
        let (store, claim) = filled(&file(&dir)).await;
        store
            .commit(&claim, Commit::new(batched, batch.clone(), Wake::Now))
            .await
            .unwrap();
        store
            .commit(
                &claim,
                Commit::new(last.clone(), vec![undone.clone()], Wake::At(NOW + 9_000)),
            )
            .await
            .unwrap();
        store
            .create(
                snapshot("o-2", 1, Vec::new()),
                record(1, RecordKind::Started),
                Wake::OnMessage,
                None,
            )
            .await
            .unwrap();
    }
    history.extend(batch);
    history.push(undone);

    let store = SqliteStore::open(file(&dir)).unwrap();
    let id = InstanceId::new("o-1");
    assert_eq!(store.load(FLOW, &id).await.unwrap(), Some(last.clone()));
    assert_eq!(store.history(FLOW, &id).await.unwrap(), history);
    let second = snapshot("o-2", 1, Vec::new());
    let summaries = vec![Summary::of(&last), Summary::of(&second)];
    assert_eq!(store.list(FLOW).await.unwrap(), summaries);
    assert_eq!(store.unfinished(FLOW).await.unwrap(), summaries);
    assert_eq!(
        store.load(FLOW, &InstanceId::new("o-2")).await.unwrap(),
        Some(second)
    );
    assert!(store.list("Other").await.unwrap().is_empty());
    assert_eq!(
        store.load(FLOW, &InstanceId::new("o-9")).await.unwrap(),
        None
    );
    // Claims belong to the process that took them: after reopening, anyone may claim.
    let claimed = store
        .claim(FLOW, &id, &lease("w-2"))
        .await
        .unwrap()
        .expect("nobody holds the instance after reopening");
    assert_eq!(claimed.snapshot, last);
    assert!(claimed.inbox.is_empty());
}

#[tokio::test]
async fn an_ended_instance_is_not_unfinished_and_its_chain_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let id = InstanceId::new("o-1");
    let mut ended = snapshot("o-1", 5, Vec::new());
    ended.status = Status::Failed;
    let mut ending = Ending::default();
    ending.failure = Some(failure("deliver", 3));
    ending.report = vec![
        ReportLine::Undone {
            undo: "unship".into(),
        },
        ReportLine::UndoFailed {
            undo: "refund".into(),
            failure: failure("refund", 2),
        },
        ReportLine::Skipped {
            undo: "release".into(),
        },
    ];
    ended.ending = Some(ending);
    {
        let (store, claim) = filled(&file(&dir)).await;
        let commit = Commit::new(
            ended.clone(),
            vec![record(
                5,
                RecordKind::Ended {
                    status: Status::Failed,
                },
            )],
            Wake::Now,
        );
        store.commit(&claim, commit).await.unwrap();
        assert!(store.unfinished(FLOW).await.unwrap().is_empty());
        assert_eq!(store.load(FLOW, &id).await.unwrap(), Some(ended.clone()));
    }
    let store = SqliteStore::open(file(&dir)).unwrap();
    assert_eq!(store.load(FLOW, &id).await.unwrap(), Some(ended.clone()));
    assert!(store.unfinished(FLOW).await.unwrap().is_empty());
    assert_eq!(store.list(FLOW).await.unwrap(), vec![Summary::of(&ended)]);
    assert_eq!(store.history(FLOW, &id).await.unwrap().len(), 5);
    assert!(
        store
            .claim(FLOW, &id, &lease("w-2"))
            .await
            .unwrap()
            .is_none()
    );
}

/// What the store holds of instance `id`: its snapshot, its history and its inbox.
async fn stored(
    store: &SqliteStore,
    id: &InstanceId,
) -> (Option<Snapshot>, Vec<Record>, Vec<InboxItem>) {
    (
        store.load(FLOW, id).await.unwrap(),
        store.history(FLOW, id).await.unwrap(),
        store.inbox(FLOW, id).await.unwrap(),
    )
}

#[tokio::test]
async fn refused_writes_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, claim) = filled(&file(&dir)).await;
    let id = InstanceId::new("o-1");
    let event = Message::event("Note", r#"{"Note":{}}"#);
    let cancel = store.post(FLOW, &id, Message::Cancel, NOW).await.unwrap();
    let posted = store.post(FLOW, &id, event.clone(), NOW).await.unwrap();
    let before = stored(&store, &id).await;
    assert_eq!(before.1.len(), 4);
    assert_eq!(before.2.len(), 2);

    for lease in [None, Some(&lease("w-2"))] {
        let duplicate = store
            .create(
                snapshot("o-1", 1, Vec::new()),
                record(1, RecordKind::Started),
                Wake::Now,
                lease,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&duplicate, StoreError::Duplicate { flow, id } if flow == FLOW && id.as_str() == "o-1"),
            "{duplicate:?}"
        );
    }

    // Record 3 follows record 2, but the store holds 4: the write came too late.
    let stale = store
        .commit(&claim, step("o-1", 3, chain(3)))
        .await
        .unwrap_err();
    assert!(
        matches!(&stale, StoreError::Conflict { id, expected: 2, found: 4 } if id.as_str() == "o-1"),
        "{stale:?}"
    );
    // The record follows, but the snapshot claims to be after another one.
    let mut skewed = step("o-1", 5, chain(4));
    skewed.snapshot.seq = 6;
    let skewed = store.commit(&claim, skewed).await.unwrap_err();
    assert!(
        matches!(&skewed, StoreError::Conflict { id, expected: 4, found: 4 } if id.as_str() == "o-1"),
        "{skewed:?}"
    );

    let second_cancel = store
        .post(FLOW, &id, Message::Cancel, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&second_cancel, StoreError::CancelPosted { flow, id } if flow == FLOW && id.as_str() == "o-1"),
        "{second_cancel:?}"
    );
    let missing = InstanceId::new("o-9");
    let nowhere = store
        .post(FLOW, &missing, event.clone(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(&nowhere, StoreError::NotFound { flow, id } if flow == FLOW && id.as_str() == "o-9"),
        "{nowhere:?}"
    );
    // A claim on an instance the store does not have was never held.
    let invented = Claim::new(FLOW, missing.clone(), WorkerId::new("w-1"), claim.token);
    let invented = store
        .commit(&invented, step("o-9", 2, Vec::new()))
        .await
        .unwrap_err();
    assert!(
        matches!(&invented, StoreError::ClaimLost { id, .. } if id.as_str() == "o-9"),
        "{invented:?}"
    );

    // Another worker takes the instance over once `w-1`'s lease has ended: `w-1`'s write,
    // which follows the stored records, is refused all the same.
    let later = Lease::new(WorkerId::new("w-2"), NOW + 30_001, NOW + 60_000);
    let taken = store.claim(FLOW, &id, &later).await.unwrap().unwrap();
    assert!(taken.claim.token > claim.token);
    assert_eq!(taken.snapshot, before.0.clone().unwrap());
    let fenced = store
        .commit(
            &claim,
            step("o-1", 5, chain(4)).answering(vec![(cancel, Answer::Applied)]),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&fenced, StoreError::ClaimLost { flow, id } if flow == FLOW && id.as_str() == "o-1"),
        "{fenced:?}"
    );

    let after = stored(&store, &id).await;
    assert_eq!(after, before);
    assert_eq!(store.answer(FLOW, &id, cancel).await.unwrap(), None);
    assert_eq!(store.answer(FLOW, &id, posted).await.unwrap(), None);
    assert_eq!(store.load(FLOW, &missing).await.unwrap(), None);
    assert!(store.history(FLOW, &missing).await.unwrap().is_empty());
    drop(store);

    let store = SqliteStore::open(file(&dir)).unwrap();
    let reopened = stored(&store, &id).await;
    assert_eq!(reopened, before);
    assert_eq!(store.list(FLOW).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_ended_instance_refuses_messages_and_its_inbox_is_answered() {
    let dir = tempfile::tempdir().unwrap();
    let id = InstanceId::new("o-1");
    let event = Message::event("Note", r#"{"Note":{}}"#);
    let (cancel, posted) = {
        let (store, claim) = filled(&file(&dir)).await;
        let cancel = store.post(FLOW, &id, Message::Cancel, NOW).await.unwrap();
        let posted = store.post(FLOW, &id, event.clone(), NOW).await.unwrap();
        let mut done = snapshot("o-1", 5, Vec::new());
        done.status = Status::Completed;
        let end = Commit::new(done, vec![landed(5, "deliver")], Wake::OnMessage);
        store.commit(&claim, end).await.unwrap();
        assert!(store.inbox(FLOW, &id).await.unwrap().is_empty());
        (cancel, posted)
    };
    let store = SqliteStore::open(file(&dir)).unwrap();
    let ended = store.post(FLOW, &id, event, NOW).await.unwrap_err();
    assert!(
        matches!(&ended, StoreError::Ended { flow, id, status: Status::Completed } if flow == FLOW && id.as_str() == "o-1"),
        "{ended:?}"
    );
    let cancelled = store
        .post(FLOW, &id, Message::Cancel, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &cancelled,
            StoreError::Ended {
                status: Status::Completed,
                ..
            }
        ),
        "{cancelled:?}"
    );
    assert_eq!(store.history(FLOW, &id).await.unwrap().len(), 5);
    assert!(store.inbox(FLOW, &id).await.unwrap().is_empty());
    let ended_answer = Answer::Ended {
        status: Status::Completed,
        state: "S5".into(),
    };
    for message in [cancel, posted] {
        assert_eq!(
            store.answer(FLOW, &id, message).await.unwrap(),
            Some(ended_answer.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits_and_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(file(&dir)).unwrap());
    let instances = 200;
    let mut tasks = Vec::new();
    for n in 0..instances {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("o-{n}");
            let claim = create(&store, &id, "w-1").await?;
            for seq in 2..=5 {
                store.commit(&claim, step(&id, seq, Vec::new())).await?;
            }
            Ok::<_, StoreError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.writes, instances * 5);
    assert!(
        stats.commits * 4 < stats.writes,
        "writes should share commits: {stats:?}"
    );
    let list = store.list(FLOW).await.unwrap();
    assert_eq!(list.len(), 200);
    assert!(list.iter().all(|summary| summary.seq == 5));
    for n in [0, 99, 199] {
        let id = InstanceId::new(format!("o-{n}"));
        let seqs: Vec<u64> = store
            .history(FLOW, &id)
            .await
            .unwrap()
            .iter()
            .map(|record| record.seq)
            .collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_due_time_beyond_sqlite_is_refused_alone_and_the_commit_goes_ahead() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(file(&dir)).unwrap());
    let instances: u64 = 200;
    let bad = 100;
    let mut claims = Vec::new();
    for n in 0..instances {
        claims.push(create(&store, &format!("o-{n}"), "w-1").await.unwrap());
    }
    let before = store.stats();
    let mut tasks = Vec::new();
    for (n, claim) in (0..instances).zip(claims.iter().cloned()) {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let mut commit = step(&format!("o-{n}"), 2, Vec::new());
            commit.wake = if n == bad {
                Wake::At(u64::MAX)
            } else {
                Wake::At(NOW + 60_000 + n)
            };
            store.commit(&claim, commit).await
        }));
    }
    for (n, task) in (0..instances).zip(tasks) {
        let result = task.await.unwrap();
        if n == bad {
            assert!(
                matches!(result, Err(StoreError::Unstorable(_))),
                "{result:?}"
            );
        } else {
            assert!(result.is_ok(), "o-{n}: {result:?}");
        }
    }
    let stats = store.stats();
    // The refused write is counted in a commit that went through: it failed alone.
    assert_eq!(stats.writes - before.writes, instances);
    assert!(
        stats.commits - before.commits < instances,
        "writes should share commits: {before:?} then {stats:?}"
    );
    for summary in store.list(FLOW).await.unwrap() {
        let expected = if summary.id.as_str() == "o-100" { 1 } else { 2 };
        assert_eq!(summary.seq, expected, "{}", summary.id);
    }
    let refused = InstanceId::new("o-100");
    assert_eq!(store.history(FLOW, &refused).await.unwrap().len(), 1);
    // The claim and the row are as they were: the same write with a due time that fits
    // goes ahead.
    let bad_index = usize::try_from(bad).unwrap();
    let mut retry = step("o-100", 2, Vec::new());
    retry.wake = Wake::At(NOW + 60_000);
    store.commit(&claims[bad_index], retry).await.unwrap();
    assert_eq!(store.history(FLOW, &refused).await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_create_whose_due_time_does_not_fit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(file(&dir)).unwrap();
    let error = store
        .create(
            snapshot("o-1", 1, Vec::new()),
            record(1, RecordKind::Started),
            Wake::At(u64::MAX),
            Some(&lease("w-1")),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unstorable(_)), "{error:?}");
    let id = InstanceId::new("o-1");
    assert_eq!(store.load(FLOW, &id).await.unwrap(), None);
    assert!(store.list(FLOW).await.unwrap().is_empty());
    // Nothing was written, so the same instance can be created.
    create(&store, "o-1", "w-1").await.unwrap();
    assert_eq!(store.history(FLOW, &id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn claim_tokens_keep_growing_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id = InstanceId::new("o-1");
    let old = {
        let store = SqliteStore::open(file(&dir)).unwrap();
        create(&store, "o-1", "w-1").await.unwrap()
    };
    let store = SqliteStore::open(file(&dir)).unwrap();
    let claimed = store
        .claim(FLOW, &id, &lease("w-1"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        claimed.claim.token > old.token,
        "the instance was claimed again with token {} after token {}",
        claimed.claim.token,
        old.token
    );
    // The claim taken before the file was reopened is not the one held now.
    let stale = store
        .commit(&old, step("o-1", 2, Vec::new()))
        .await
        .unwrap_err();
    assert!(matches!(stale, StoreError::ClaimLost { .. }), "{stale:?}");
}

#[tokio::test]
async fn a_second_process_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(file(&dir)).unwrap();
    let second = SqliteStore::open(file(&dir)).unwrap_err();
    assert!(
        matches!(&second, StoreError::Locked { path } if *path == file(&dir)),
        "{second:?}"
    );
    // The store in use is unharmed, and the file opens again once it is closed.
    create(&first, "o-1", "w-1").await.unwrap();
    drop(first);
    let reopened = SqliteStore::open(file(&dir)).unwrap();
    assert_eq!(reopened.list(FLOW).await.unwrap().len(), 1);
}

/// Opens `path`, expecting a refusal, and checks the file was not touched.
fn refused(path: &Path) -> StoreError {
    let before = std::fs::read(path).unwrap();
    let error = SqliteStore::open(path).unwrap_err();
    assert!(
        std::fs::read(path).unwrap() == before,
        "the file was changed"
    );
    error
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        file(&dir),
        "order-1,Shipped\norder-2,Cancelled\n".repeat(200),
    )
    .unwrap();
    let error = refused(&file(&dir));
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test]
async fn a_damaged_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let mut bytes = std::fs::read(file(&dir)).unwrap();
    assert!(bytes.len() > 8192, "the store spans several pages");
    // Scribble over the second page, a table's root.
    bytes[4096..4096 + 512].fill(0x5a);
    std::fs::write(file(&dir), &bytes).unwrap();
    let error = refused(&file(&dir));
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[tokio::test]
async fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let bytes = std::fs::read(file(&dir)).unwrap();
    std::fs::write(file(&dir), &bytes[..bytes.len() / 2]).unwrap();
    let error = refused(&file(&dir));
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER);")
        .unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert!(
        matches!(&error, StoreError::Foreign { path, .. } if *path == file(&dir)),
        "{error:?}"
    );
}

#[test]
fn a_database_with_another_application_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234;").unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert!(
        matches!(&error, StoreError::Foreign { path, .. } if *path == file(&dir)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("PRAGMA user_version = 99;").unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert!(
        matches!(
            &error,
            StoreError::Version {
                path,
                found: 99,
                supported: 2,
            } if *path == file(&dir)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_read_only_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let mut permissions = std::fs::metadata(file(&dir)).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(file(&dir), permissions).unwrap();
    let error = refused(&file(&dir));
    assert!(
        matches!(&error, StoreError::ReadOnly { path, .. } if *path == file(&dir)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_full_disk_fails_the_write_and_keeps_everything_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::new().max_size(64 * 1024);
    let store = SqliteStore::open_with(file(&dir), &options).unwrap();
    let big = "x".repeat(2_000);
    let first = |n: usize| {
        let mut first = snapshot(&format!("o-{n}"), 1, Vec::new());
        first.state = format!(r#"{{"S1":{{"note":"{big}"}}}}"#).into();
        first
    };
    let mut written = 0;
    let error = loop {
        let created = store
            .create(
                first(written),
                record(1, RecordKind::Started),
                Wake::OnMessage,
                None,
            )
            .await;
        match created {
            Ok(None) => written += 1,
            Ok(Some(claim)) => panic!("a create without a lease returned {claim:?}"),
            Err(error) => break error,
        }
        assert!(written < 1_000, "the size limit never took effect");
    };
    assert!(matches!(error, StoreError::Full(_)), "{error:?}");
    assert!(written > 0, "the first write already failed");
    let failed = InstanceId::new(format!("o-{written}"));
    assert_eq!(store.load(FLOW, &failed).await.unwrap(), None);
    assert!(store.history(FLOW, &failed).await.unwrap().is_empty());
    assert_eq!(store.list(FLOW).await.unwrap().len(), written);
    let kept = InstanceId::new("o-0");
    assert_eq!(store.load(FLOW, &kept).await.unwrap(), Some(first(0)));
    drop(store);
    // With room again, the same file takes writes again.
    let store = SqliteStore::open(file(&dir)).unwrap();
    assert_eq!(store.list(FLOW).await.unwrap().len(), written);
    store
        .create(
            first(written),
            record(1, RecordKind::Started),
            Wake::OnMessage,
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.list(FLOW).await.unwrap().len(), written + 1);
    assert_eq!(
        store.load(FLOW, &failed).await.unwrap(),
        Some(first(written))
    );
}
