//! What only the PostgreSQL store has to get right, beyond the contract every store keeps
//! (`store_contract.rs`): its schema migrations when workers start together, a database from
//! a newer version, notifications between processes (each `PostgresStore` here stands for
//! one), the listening connection dropping, polling when a notification is lost, hosts on
//! several stores sharing the instances, and a shutdown that hands claims back at once.
//!
//! Real time, not tokio's paused clock: the server answers on its own clock, and a paused
//! runtime would jump its timers forward while it waits for the server.

#[path = "support/postgres.rs"]
mod pg_server;

use std::sync::Arc;
use std::time::Duration;

use pg_server::{Database, Server};
use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host, Outcome};
use workflow_core::store::{
    Notice, PostgresOptions, PostgresStore, Record, RecordKind, Snapshot, Store, StoreError, Wake,
};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{Fingerprint, InstanceId};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Knock;

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Door {
        initial Closed {}
        state   Ajar {}
        final   Open {}
        crack: Closed -> Ajar;
        open:  Ajar -> Open, on Knock;
    }
}

#[derive(Default)]
struct Workshop(CallLog);

impl door::Activities for Workshop {
    type Error = Fault;
    async fn crack(&self, _: &door::Closed, ctx: &StepCtx) -> Result<door::Ajar, Fault> {
        self.0.call(ctx)?;
        Ok(door::Ajar {})
    }
    async fn open(&self, _: &door::Ajar, _: &Knock, ctx: &StepCtx) -> Result<door::Open, Fault> {
        self.0.call(ctx)?;
        Ok(door::Open {})
    }
}

/// How long anything here may take: a wait that ends sooner passes.
const BOUND: Duration = Duration::from_secs(30);

async fn database(test: &str) -> Option<Database> {
    Some(Server::shared()?.database(test).await)
}

/// A store on `db` polling every `poll`, as one worker process would have.
async fn store(db: &Database, poll: Duration) -> Arc<PostgresStore> {
    let options = PostgresOptions::new().poll_interval(poll);
    Arc::new(
        PostgresStore::connect_with(&db.url, &options)
            .await
            .unwrap(),
    )
}

/// Waits, a bounded number of times, until `check` holds.
async fn eventually<F: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let deadline = tokio::time::Instant::now() + BOUND;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn first_write(id: &str) -> (Snapshot, Record) {
    let snapshot = Snapshot::new(
        "Door",
        InstanceId::new(id),
        Fingerprint::from_u64(7),
        "Closed",
        r#"{"Closed":{}}"#,
    );
    (snapshot, Record::new(1, 0, RecordKind::Started, "Closed"))
}

#[tokio::test]
async fn workers_starting_together_migrate_the_schema_once() {
    let Some(db) = database("migrate_together").await else {
        return;
    };
    let connecting: Vec<_> = (0..8)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for store in connecting {
        let store = store.await.unwrap().expect("every worker connects");
        assert_eq!(store.schema_version().await.unwrap(), (1, 1));
    }
    let applied: i64 = db
        .connect()
        .await
        .query_one("SELECT count(*) FROM workflow.migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(applied, 1, "each migration is applied once");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_untouched() {
    let Some(db) = database("newer_schema").await else {
        return;
    };
    let first = PostgresStore::connect(&db.url).await.unwrap();
    let (snapshot, record) = first_write("d-1");
    first
        .create(snapshot, record, Wake::OnMessage, None)
        .await
        .unwrap();
    drop(first);
    let sql = db.connect().await;
    sql.execute(
        "INSERT INTO workflow.migrations (version, description) VALUES (99, 'from the future')",
        &[],
    )
    .await
    .unwrap();
    let refused = PostgresStore::connect(&db.url).await.unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::SchemaVersion {
                found: 99,
                supported: 1
            }
        ),
        "{refused}"
    );
    let instances: i64 = sql
        .query_one("SELECT count(*) FROM workflow.instances", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(instances, 1, "nothing was changed");
}

#[tokio::test]
async fn a_bad_connection_string_or_an_absent_server_is_a_backend_error() {
    let bad = PostgresStore::connect("host=").await;
    assert!(matches!(bad, Err(StoreError::Backend(_))));
    let options = PostgresOptions::new().connect_timeout(Duration::from_secs(2));
    let absent =
        PostgresStore::connect_with("host=/nonexistent-socket-dir user=nobody", &options).await;
    assert!(matches!(absent, Err(StoreError::Backend(_))), "{absent:?}");
}

#[tokio::test]
async fn what_one_process_writes_the_others_hear_of() {
    let Some(db) = database("notices_across").await else {
        return;
    };
    let (here, there) = (
        store(&db, Duration::from_mins(1)).await,
        store(&db, Duration::from_mins(1)).await,
    );
    let mut notices = here.watch().subscribe();
    let (snapshot, record) = first_write("d-1");
    there
        .create(snapshot, record, Wake::Now, None)
        .await
        .unwrap();
    let heard = tokio::time::timeout(BOUND, notices.recv()).await.unwrap();
    assert_eq!(
        heard.unwrap(),
        Notice::Created {
            flow: "Door".into(),
            id: InstanceId::new("d-1")
        }
    );
    let waiting = here.watch().instance("Door", &InstanceId::new("d-1"));
    let woken = waiting.notified();
    there
        .post(
            "Door",
            &InstanceId::new("d-1"),
            workflow_core::store::Message::Cancel,
            0,
        )
        .await
        .unwrap();
    let heard = tokio::time::timeout(BOUND, notices.recv()).await.unwrap();
    assert_eq!(
        heard.unwrap(),
        Notice::Posted {
            flow: "Door".into(),
            id: InstanceId::new("d-1")
        }
    );
    tokio::time::timeout(BOUND, woken)
        .await
        .expect("a waiter in another process is woken by a message");
    // Its own writes come once, from the store itself, not again from the server.
    let mut own = there.watch().subscribe();
    let (snapshot, record) = first_write("d-2");
    there
        .create(snapshot, record, Wake::Now, None)
        .await
        .unwrap();
    assert!(matches!(own.recv().await, Ok(Notice::Created { .. })));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(own.try_recv().is_err(), "no echo of its own write");
}

#[tokio::test]
async fn the_listening_connection_dropping_is_survived() {
    let Some(db) = database("listener_drops").await else {
        return;
    };
    let (here, there) = (
        store(&db, Duration::from_mins(1)).await,
        store(&db, Duration::from_mins(1)).await,
    );
    let mut notices = here.watch().subscribe();
    let sql = db.connect().await;
    let cut: i64 = sql
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%') t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cut, 2, "both stores' listening connections were cut");
    // Once it listens again, what the other writes reaches it.
    let mut n = 0;
    let heard = tokio::time::timeout(BOUND, async {
        loop {
            n += 1;
            let (snapshot, record) = first_write(&format!("d-{n}"));
            there
                .create(snapshot, record, Wake::Now, None)
                .await
                .unwrap();
            if let Ok(Ok(notice)) =
                tokio::time::timeout(Duration::from_millis(200), notices.recv()).await
            {
                return notice;
            }
        }
    })
    .await
    .expect("the store listens again after its connection was cut");
    assert!(matches!(heard, Notice::Created { .. }));
}

#[tokio::test]
async fn hosts_in_two_processes_share_the_instances_and_any_client_reaches_them() {
    let Some(db) = database("two_hosts").await else {
        return;
    };
    let workshop = Arc::new(Workshop::default());
    let mut hosts = Vec::new();
    for worker in ["w-1", "w-2"] {
        let host = Host::builder()
            .store(store(&db, Duration::from_millis(200)).await)
            .flow(door::Flow, Arc::clone(&workshop))
            .worker(workflow_core::store::WorkerId::new(worker))
            .build();
        host.resume().await.unwrap();
        hosts.push(host);
    }
    let client = Client::<door::Flow>::new(store(&db, Duration::from_millis(200)).await);
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(
            client
                .start_with_id(format!("door-{n}"), door::Closed {})
                .await
                .unwrap(),
        );
    }
    for id in &ids {
        eventually("the door is ajar", || async {
            client.state(id).await.unwrap() == door::State::Ajar(door::Ajar {})
        })
        .await;
        client
            .send(id, Knock)
            .await
            .unwrap()
            .applied()
            .await
            .unwrap();
    }
    for id in &ids {
        let outcome = tokio::time::timeout(BOUND, client.outcome(id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::Completed(door::State::Open(door::Open {}))
        );
    }
    // Each step once: 40 cracks, 40 opens, whichever host ran them.
    let calls = workshop.0.calls();
    assert_eq!(calls.len(), 80, "{calls:?}");
    for host in &hosts {
        host.shutdown().await;
    }
}

#[tokio::test]
async fn a_message_whose_notification_was_lost_is_found_by_polling() {
    let Some(db) = database("lost_notice").await else {
        return;
    };
    let workshop = Arc::new(Workshop::default());
    let host = Host::builder()
        .store(store(&db, Duration::from_millis(200)).await)
        .flow(door::Flow, Arc::clone(&workshop))
        .build();
    host.resume().await.unwrap();
    let client = host.client::<door::Flow>();
    let id = client
        .start_with_id("door-1", door::Closed {})
        .await
        .unwrap();
    eventually("the door is ajar", || async {
        client.state(&id).await.unwrap() == door::State::Ajar(door::Ajar {})
    })
    .await;
    // Posted behind the store's back: no notification at all.
    let knock = serde_json::to_string(&door::Event::Knock(Knock)).unwrap();
    db.connect()
        .await
        .execute(
            "INSERT INTO workflow.inbox (num, kind, name, payload, posted_ms)
             SELECT num, 'event', 'Knock', $1, 0 FROM workflow.instances WHERE id = 'door-1'",
            &[&knock],
        )
        .await
        .unwrap();
    let outcome = tokio::time::timeout(BOUND, client.outcome(&id))
        .await
        .expect("the host finds the message when it polls")
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Completed(door::State::Open(door::Open {}))
    );
    host.shutdown().await;
}

#[tokio::test]
async fn a_host_shutting_down_hands_its_claims_back_at_once() {
    let Some(db) = database("shutdown_hands_back").await else {
        return;
    };
    let workshop = Arc::new(Workshop::default());
    let first = Host::builder()
        .store(store(&db, Duration::from_millis(200)).await)
        .flow(door::Flow, Arc::clone(&workshop))
        .lease(Duration::from_mins(10))
        .build();
    first.resume().await.unwrap();
    let client = first.client::<door::Flow>();
    let id = client
        .start_with_id("door-1", door::Closed {})
        .await
        .unwrap();
    eventually("the door is ajar", || async {
        client.state(&id).await.unwrap() == door::State::Ajar(door::Ajar {})
    })
    .await;
    let sql = db.connect().await;
    let held = || async {
        sql.query_one(
            "SELECT worker IS NOT NULL FROM workflow.instances WHERE id = 'door-1'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, bool>(0)
    };
    assert!(held().await, "a waiting instance stays claimed by its host");
    first.shutdown().await;
    assert!(!held().await, "handed back, not left to a ten-minute lease");
    // Another host takes it at once when a message comes.
    let second = Host::builder()
        .store(store(&db, Duration::from_millis(200)).await)
        .flow(door::Flow, Arc::clone(&workshop))
        .build();
    second.resume().await.unwrap();
    let client = second.client::<door::Flow>();
    client.send(&id, Knock).await.unwrap();
    let outcome = tokio::time::timeout(BOUND, client.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        Outcome::Completed(door::State::Open(door::Open {}))
    );
    second.shutdown().await;
}

#[tokio::test]
async fn a_message_left_open_by_an_ending_is_answered_ended() {
    let Some(db) = database("open_after_end").await else {
        return;
    };
    let store = store(&db, Duration::from_mins(1)).await;
    let workshop = Arc::new(Workshop::default());
    let host = Host::builder()
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .flow(door::Flow, Arc::clone(&workshop))
        .build();
    let client = host.client::<door::Flow>();
    let id = client
        .start_with_id("door-1", door::Closed {})
        .await
        .unwrap();
    client
        .send(&id, Knock)
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    tokio::time::timeout(BOUND, client.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    // A post whose statement read the instance just before it ended: its row is left open.
    let msg: i64 = db
        .connect()
        .await
        .query_one(
            "INSERT INTO workflow.inbox (num, kind, posted_ms)
             SELECT num, 'cancel', 0 FROM workflow.instances WHERE id = 'door-1' RETURNING msg",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let answer = store
        .answer(
            "Door",
            &id,
            workflow_core::store::MessageId(u64::try_from(msg).unwrap()),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            answer,
            Some(workflow_core::store::Answer::Ended {
                status: workflow_core::store::Status::Completed,
                ..
            })
        ),
        "{answer:?}"
    );
    assert!(store.inbox("Door", &id).await.unwrap().is_empty());
    host.shutdown().await;
}

/// Posts to one instance follow each other: one waits while another holds the instance's
/// row, so that message numbers become visible in the order they were drawn (a worker that
/// read message 11 never misses a message 10 committed after it).
#[tokio::test]
async fn a_post_waits_for_another_post_to_the_same_instance() {
    let Some(db) = database("posts_in_order").await else {
        return;
    };
    let store = store(&db, Duration::from_mins(1)).await;
    let (snapshot, record) = first_write("d-1");
    store
        .create(snapshot, record, Wake::OnMessage, None)
        .await
        .unwrap();
    // Another post in progress: it holds the row as a post does, at least as a shared lock.
    let mut other = db.connect().await;
    let tx = other.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM workflow.instances WHERE id = 'd-1' FOR SHARE",
        &[],
    )
    .await
    .unwrap();
    let posting = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .post(
                    "Door",
                    &InstanceId::new("d-1"),
                    workflow_core::store::Message::Cancel,
                    0,
                )
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !posting.is_finished(),
        "the post waits for the one in progress"
    );
    tx.commit().await.unwrap();
    tokio::time::timeout(BOUND, posting)
        .await
        .expect("the post goes ahead once the other is done")
        .unwrap()
        .unwrap();
}
