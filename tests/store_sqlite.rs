//! The SQLite store on its own: what it writes comes back, refused writes write nothing,
//! concurrent writes share commits, and bad files or a full disk give typed errors, with the
//! file left as it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use workflow_core::InstanceId;
use workflow_core::store::{
    ChainEntry, Pending, Record, RecordKind, Snapshot, SqliteOptions, SqliteStore, Status, Store,
    StoreError, Timer,
};

fn snapshot(id: &str, seq: u64, chain: &[(u64, &str)]) -> Snapshot {
    Snapshot {
        flow: "Order".into(),
        fingerprint: 0xfeed_beef_0000_0001,
        id: InstanceId::new(id),
        seq,
        at_ms: 1_700_000_000_000 + seq,
        status: Status::Running,
        state_name: format!("S{seq}"),
        state: format!(r#"{{"S{seq}":{{"n":{seq}}}}}"#),
        chain: chain
            .iter()
            .map(|&(seq, undo)| ChainEntry {
                undo: undo.into(),
                seq,
                state: format!(r#"{{"S{seq}":{{}}}}"#).into(),
            })
            .collect(),
        timer: None,
        pending: None,
        ending: None,
    }
}

fn record(seq: u64, kind: RecordKind) -> Record {
    Record {
        seq,
        at_ms: 1_700_000_000_000 + seq,
        kind,
        state_name: format!("S{seq}"),
    }
}

fn landed(seq: u64, transition: &str) -> Record {
    record(
        seq,
        RecordKind::Transition {
            transition: transition.into(),
            attempt: 1,
        },
    )
}

fn file(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store.sqlite")
}

/// A store at `path` holding instance `o-1`, four records long, with two undos on its chain.
async fn filled(path: &Path) -> SqliteStore {
    let store = SqliteStore::open(path).unwrap();
    store
        .create(snapshot("o-1", 1, &[]), record(1, RecordKind::Started))
        .await
        .unwrap();
    store
        .save(snapshot("o-1", 2, &[(2, "release")]), landed(2, "reserve"))
        .await
        .unwrap();
    store
        .save(
            snapshot("o-1", 3, &[(2, "release"), (3, "refund")]),
            landed(3, "pay"),
        )
        .await
        .unwrap();
    store
        .save(
            snapshot("o-1", 4, &[(2, "release"), (3, "refund"), (4, "unship")]),
            landed(4, "ship"),
        )
        .await
        .unwrap();
    store
}

#[tokio::test]
async fn what_is_written_comes_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut last = snapshot("o-1", 5, &[(2, "release"), (3, "refund")]);
    last.timer = Some(Timer {
        transition: "expire".into(),
        due_ms: 1_800_000_000_000,
    });
    last.pending = Some(Pending::Step {
        transition: "ship".into(),
        event: Some(r#"{"Go":{}}"#.into()),
        key: "o-1/5/ship".into(),
        failed_attempts: 2,
        retry_at_ms: Some(1_700_000_009_000),
    });
    {
        let store = filled(&file(&dir)).await;
        // The newest undo is popped, as when compensation ran it.
        store
            .save(
                last.clone(),
                record(
                    5,
                    RecordKind::Undone {
                        undo: "unship".into(),
                    },
                ),
            )
            .await
            .unwrap();
    }
    let store = SqliteStore::open(file(&dir)).unwrap();
    let loaded = store.load("Order", &InstanceId::new("o-1")).await.unwrap();
    assert_eq!(loaded, Some(last.clone()));
    assert_eq!(store.unfinished("Order").await.unwrap(), vec![last]);
    let history = store
        .history("Order", &InstanceId::new("o-1"))
        .await
        .unwrap();
    let seqs: Vec<u64> = history.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    assert_eq!(history[1], landed(2, "reserve"));
    let summaries = store.list("Order").await.unwrap();
    assert_eq!(
        (summaries.len(), summaries[0].seq, summaries[0].status),
        (1, 5, Status::Running)
    );
    assert!(store.list("Other").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_ended_instance_is_not_unfinished_and_its_chain_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&file(&dir)).await;
    let mut ended = snapshot("o-1", 5, &[]);
    ended.status = Status::Completed;
    store
        .save(
            ended.clone(),
            record(
                5,
                RecordKind::Ended {
                    status: Status::Completed,
                },
            ),
        )
        .await
        .unwrap();
    assert!(store.unfinished("Order").await.unwrap().is_empty());
    let loaded = store.load("Order", &InstanceId::new("o-1")).await.unwrap();
    assert_eq!(loaded, Some(ended));
}

#[tokio::test]
async fn refused_writes_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = filled(&file(&dir)).await;
    let id = InstanceId::new("o-1");
    let before = store.load("Order", &id).await.unwrap();

    let duplicate = store
        .create(snapshot("o-1", 1, &[]), record(1, RecordKind::Started))
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, StoreError::Duplicate { .. }),
        "{duplicate}"
    );

    // Seq 3 follows 2, but the store is at 4: another writer came first.
    let stale = store
        .save(snapshot("o-1", 3, &[]), landed(3, "pay"))
        .await
        .unwrap_err();
    assert_eq!(
        stale.to_string(),
        "instance `o-1` was written by someone else: expected sequence 2, found 4"
    );

    let missing = store
        .save(snapshot("o-9", 2, &[]), landed(2, "pay"))
        .await
        .unwrap_err();
    assert_eq!(missing.to_string(), "no instance `o-9` of flow `Order`");

    assert_eq!(store.load("Order", &id).await.unwrap(), before);
    assert_eq!(store.history("Order", &id).await.unwrap().len(), 4);
    assert!(
        store
            .history("Order", &InstanceId::new("o-9"))
            .await
            .unwrap()
            .is_empty()
    );
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
            store
                .create(snapshot(&id, 1, &[]), record(1, RecordKind::Started))
                .await?;
            for seq in 2..=5 {
                store
                    .save(snapshot(&id, seq, &[]), landed(seq, "step"))
                    .await?;
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
    let list = store.list("Order").await.unwrap();
    assert_eq!(list.len(), 200);
    assert!(list.iter().all(|summary| summary.seq == 5));
}

#[tokio::test]
async fn a_second_process_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SqliteStore::open(file(&dir)).unwrap();
    let second = SqliteStore::open(file(&dir)).unwrap_err();
    assert!(matches!(second, StoreError::Locked { .. }), "{second}");
    assert!(second.to_string().ends_with("is in use by another process"));
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
    assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
    assert!(
        error.to_string().contains("file is not a database"),
        "{error}"
    );
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
    assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
}

#[tokio::test]
async fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let bytes = std::fs::read(file(&dir)).unwrap();
    std::fs::write(file(&dir), &bytes[..bytes.len() / 2]).unwrap();
    let error = refused(&file(&dir));
    assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER);")
        .unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert_eq!(
        error.to_string(),
        format!(
            "`{}` is not a workflow store: it holds tables of another program (invoices)",
            file(&dir).display()
        )
    );
}

#[test]
fn a_database_with_another_application_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("PRAGMA application_id = 1234;").unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert!(matches!(error, StoreError::Foreign { .. }), "{error}");
    assert!(
        error.to_string().contains("application id is 0x4d2"),
        "{error}"
    );
}

#[tokio::test]
async fn a_store_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(filled(&file(&dir)).await);
    let conn = rusqlite::Connection::open(file(&dir)).unwrap();
    conn.execute_batch("PRAGMA user_version = 7;").unwrap();
    drop(conn);
    let error = refused(&file(&dir));
    assert!(
        matches!(
            error,
            StoreError::Version {
                found: 7,
                supported: 1,
                ..
            }
        ),
        "{error}"
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
    assert!(matches!(error, StoreError::ReadOnly { .. }), "{error}");
    assert!(error.to_string().contains("is read-only"), "{error}");
}

#[tokio::test]
async fn a_full_disk_fails_the_write_and_keeps_everything_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = SqliteOptions::new().max_size(64 * 1024);
    let store = SqliteStore::open_with(file(&dir), &options).unwrap();
    let big = "x".repeat(2_000);
    let mut written = 0;
    let error = loop {
        let id = format!("o-{written}");
        let mut first = snapshot(&id, 1, &[]);
        first.state = format!(r#"{{"S1":{{"note":"{big}"}}}}"#);
        match store.create(first, record(1, RecordKind::Started)).await {
            Ok(()) => written += 1,
            Err(error) => break error,
        }
        assert!(written < 1_000, "the size limit never took effect");
    };
    assert!(matches!(error, StoreError::Full(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("the store is full, nothing was written")
    );
    let failed = InstanceId::new(format!("o-{written}"));
    assert_eq!(store.load("Order", &failed).await.unwrap(), None);
    assert!(store.history("Order", &failed).await.unwrap().is_empty());
    assert_eq!(store.list("Order").await.unwrap().len(), written);
    drop(store);
    // With room again, the same store takes writes again.
    let store = SqliteStore::open(file(&dir)).unwrap();
    store
        .create(
            snapshot(failed.as_str(), 1, &[]),
            record(1, RecordKind::Started),
        )
        .await
        .unwrap();
    assert_eq!(store.list("Order").await.unwrap().len(), written + 1);
}
