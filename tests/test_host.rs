//! One host, several flows, shared activities; clients that reach instances running anywhere
//! on the store; hosts that hand their instances to each other.

use std::sync::Arc;
use std::time::Duration;

use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host, Outcome, RuntimeError};
use workflow_core::store::{MemoryStore, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault};

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

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Lamp {
        initial Off {}
        final   On {}
        switch: Off -> On;
    }
}

/// One set of activities for both flows, shared behind an `Arc`.
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

impl lamp::Activities for Workshop {
    type Error = Fault;
    async fn switch(&self, _: &lamp::Off, ctx: &StepCtx) -> Result<lamp::On, Fault> {
        self.0.call(ctx)?;
        Ok(lamp::On {})
    }
}

fn bounded<F: Future>(future: F) -> tokio::time::Timeout<F> {
    tokio::time::timeout(Duration::from_mins(1), future)
}

#[tokio::test(start_paused = true)]
async fn one_host_runs_several_flows_with_shared_activities() {
    let workshop = Arc::new(Workshop::default());
    let host = Host::builder()
        .store(Arc::new(MemoryStore::new()))
        .flow(door::Flow, Arc::clone(&workshop))
        .flow(lamp::Flow, Arc::clone(&workshop))
        .build();
    let doors = host.client::<door::Flow>();
    let lamps = host.client::<lamp::Flow>();
    let door = doors.start_with_id("front", door::Closed {}).await.unwrap();
    let lamp = lamps.start_with_id("hall", lamp::Off {}).await.unwrap();
    assert_eq!(
        bounded(lamps.outcome(&lamp)).await.unwrap().unwrap(),
        Outcome::Completed(lamp::State::On(lamp::On {}))
    );
    doors.send(&door, Knock).await.unwrap();
    assert_eq!(
        bounded(doors.outcome(&door)).await.unwrap().unwrap(),
        Outcome::Completed(door::State::Open(door::Open {}))
    );
    assert_eq!(workshop.0.calls().len(), 3);
    // Each client sees its own flow's instances only.
    assert_eq!(doors.list().await.unwrap().len(), 1);
    assert_eq!(lamps.list().await.unwrap().len(), 1);
    host.shutdown().await;
}

#[test]
#[should_panic(expected = "the host runs two flows called `Lamp`")]
fn a_host_refuses_two_flows_of_one_name() {
    let _ = Host::builder()
        .flow(lamp::Flow, Workshop::default())
        .flow(lamp::Flow, Workshop::default())
        .build();
}

/// A client with no host of its own starts, sends to and waits for instances that a host
/// elsewhere on the store runs.
async fn a_client_without_a_host_reaches_instances_a_host_runs(store: Arc<dyn Store>) {
    let workshop = Arc::new(Workshop::default());
    let host = Host::builder()
        .store(Arc::clone(&store))
        .flow(door::Flow, Arc::clone(&workshop))
        .build();
    host.resume().await.unwrap();
    let remote = Client::<door::Flow>::new(Arc::clone(&store));
    let id = remote.start_with_id("back", door::Closed {}).await.unwrap();
    // The host hears of it, takes it, and it waits for a knock.
    for _ in 0..1_000 {
        if remote.state(&id).await.unwrap() == door::State::Ajar(door::Ajar {}) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        remote.state(&id).await.unwrap(),
        door::State::Ajar(door::Ajar {})
    );
    let refused = remote.cancel(&id).await;
    assert!(refused.is_ok(), "a cancel is posted: {refused:?}");
    let again = remote.cancel(&id).await.unwrap_err();
    assert!(
        matches!(
            again,
            RuntimeError::AlreadyCancelling(_) | RuntimeError::Ended { .. }
        ),
        "{again}"
    );
    let outcome = bounded(remote.outcome(&id)).await.unwrap().unwrap();
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_client_without_a_host_reaches_instances_a_host_runs_in_memory() {
    a_client_without_a_host_reaches_instances_a_host_runs(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(start_paused = true)]
async fn a_client_without_a_host_reaches_instances_a_host_runs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("doors.sqlite")).unwrap();
    a_client_without_a_host_reaches_instances_a_host_runs(Arc::new(store)).await;
}

#[tokio::test(start_paused = true)]
async fn a_host_that_shuts_down_hands_its_instances_to_another() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let first = Host::builder()
        .store(Arc::clone(&store))
        .flow(door::Flow, Workshop::default())
        .build();
    let doors = first.client::<door::Flow>();
    let id = doors.start_with_id("side", door::Closed {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    first.shutdown().await;
    assert!(matches!(
        doors.outcome(&id).await.unwrap_err(),
        RuntimeError::ShutDown { .. }
    ));

    let second = Host::builder()
        .store(Arc::clone(&store))
        .flow(door::Flow, Workshop::default())
        .build();
    let resumed = second.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(&id));
    let doors = second.client::<door::Flow>();
    doors.send(&id, Knock).await.unwrap();
    assert_eq!(
        bounded(doors.outcome(&id)).await.unwrap().unwrap(),
        Outcome::Completed(door::State::Open(door::Open {}))
    );
    second.shutdown().await;
}

/// An instance another version of the flow wrote, with work due: the host hands it back
/// once, and does not take its hand-back as work of its own (it would, forever).
#[tokio::test]
async fn an_instance_of_another_version_is_handed_back_once() {
    use workflow_core::store::{Notice, Record, RecordKind, Snapshot, Wake};
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = Host::builder()
        .store(Arc::clone(&store))
        .flow(door::Flow, Workshop::default())
        .build();
    host.resume().await.unwrap();
    let mut notices = store.watch().subscribe();
    let snapshot = Snapshot::new(
        "Door",
        workflow_core::InstanceId::new("old"),
        workflow_core::Fingerprint::from_u64(1),
        "Closed",
        r#"{"Closed":{}}"#,
    );
    store
        .create(
            snapshot,
            Record::new(1, 0, RecordKind::Started, "Closed"),
            Wake::Now,
            None,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut released = 0;
    loop {
        match notices.try_recv() {
            Ok(Notice::Released { .. }) => released += 1,
            Ok(_) => {}
            // So many that the channel dropped some: a loop.
            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(dropped)) => {
                released += dropped;
            }
            Err(_) => break,
        }
    }
    assert_eq!(released, 1, "handed back once, not claimed again");
    host.shutdown().await;
}
