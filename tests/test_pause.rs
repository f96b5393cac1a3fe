//! Pausing and unpausing an instance: while paused no step starts, timers that come due wait
//! and events queue; unpaused, it carries on from there. Durable across restarts.

#[path = "../examples/expense/flow.rs"]
mod flow;

use std::sync::Arc;
use std::time::Duration;

use flow::{Approve, Expenses, created, expense};
use workflow_core::runtime::{Host, Outcome, Runtime};
use workflow_core::store::{RecordKind, SqliteStore, Store};
use workflow_core::testing::CallLog;

type Claims = Runtime<expense::Flow, Expenses>;

/// How the instance's history reads, pauses included.
async fn kinds(runtime: &Claims, id: &workflow_core::InstanceId) -> Vec<String> {
    runtime
        .history(id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| match r.kind {
            RecordKind::Started => "started".to_string(),
            RecordKind::Paused => "paused".to_string(),
            RecordKind::Unpaused => "unpaused".to_string(),
            RecordKind::EventAccepted { transition, .. } => format!("event {transition}"),
            RecordKind::TimerFired { transition } => format!("timer {transition}"),
            RecordKind::Transition { transition, .. } => format!("-> {transition}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_paused_instance_lets_its_timer_wait_and_queues_events_until_unpaused() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime.start(created("ann", 12_000)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.pause(&id).await.unwrap();
    // An hour later the 10-second timer has come due, and has not fired.
    tokio::time::sleep(Duration::from_hours(1)).await;
    assert!(runtime.client().is_paused(&id).await.unwrap());
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Waiting");
    // The approval queues: posted, not applied.
    let delivery = runtime
        .send(&id, Approve { by: "dana".into() })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_mins(1)).await;
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Waiting");
    runtime.activities().log.assert_steps(&["submit"]);

    // Unpaused, the queued event is taken before the timer that came due meanwhile.
    runtime.unpause(&id).await.unwrap();
    delivery.applied().await.unwrap();
    let end = runtime.outcome(&id).await.unwrap();
    assert!(
        matches!(end, Outcome::Completed(expense::State::Completed(_))),
        "{end:?}"
    );
    runtime
        .activities()
        .log
        .assert_steps(&["submit", "approve", "pay"]);
    assert_eq!(
        kinds(&runtime, &id).await,
        [
            "started",
            "-> submit",
            "paused",
            "unpaused",
            "event approve",
            "-> approve",
            "-> pay"
        ]
    );
    assert!(!runtime.client().is_paused(&id).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn pausing_twice_or_unpausing_a_running_instance_changes_nothing() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime.start(created("bob", 1_000)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.unpause(&id).await.unwrap();
    runtime.pause(&id).await.unwrap();
    runtime.pause(&id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.unpause(&id).await.unwrap();
    let end = runtime.outcome(&id).await.unwrap();
    // Unpaused 2 s in: the 10 s timer fires on time.
    assert!(
        matches!(end, Outcome::Completed(expense::State::TimedOut(_))),
        "{end:?}"
    );
    assert_eq!(
        kinds(&runtime, &id).await,
        [
            "started",
            "-> submit",
            "paused",
            "unpaused",
            "timer time_out",
            "-> time_out"
        ]
    );
    let ended = runtime.pause(&id).await.unwrap_err();
    assert!(ended.to_string().contains("ended"), "{ended}");
}

/// A pause is durable: a host started on the store after a restart leaves the instance
/// paused (its timer past due), and an unpause carries it on.
#[tokio::test]
async fn a_pause_holds_across_a_restart_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("claims.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let first = Host::builder()
        .store(Arc::clone(&store))
        .flow(expense::Flow, Expenses::default())
        .build();
    let client = first.client::<expense::Flow>();
    let id = client.start(created("cy", 5_000)).await.unwrap();
    // Bounded waits on the store: submitted, then paused.
    let mut waiting = false;
    for _ in 0..2_000 {
        waiting = client.state(&id).await.unwrap().name() == "Waiting";
        if waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(waiting, "submitted");
    client.pause(&id).await.unwrap();
    let mut paused = false;
    for _ in 0..2_000 {
        paused = client.is_paused(&id).await.unwrap();
        if paused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        paused,
        "the pause is read: {:?} / inbox {:?}",
        store.history("Expense", &id).await.unwrap(),
        store.inbox("Expense", &id).await.unwrap()
    );
    first.shutdown().await;
    drop((client, first, store));

    // The restarted process: its host resumes the paused instance and leaves it waiting.
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let log = CallLog::new();
    let second = Host::builder()
        .store(Arc::clone(&store))
        .flow(expense::Flow, Expenses { log: log.clone() })
        .build();
    second.resume().await.unwrap();
    let client = second.client::<expense::Flow>();
    assert!(client.is_paused(&id).await.unwrap());
    client
        .send(&id, Approve { by: "dana".into() })
        .await
        .unwrap();
    client.unpause(&id).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(30), client.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(end, Outcome::Completed(expense::State::Completed(_))),
        "{end:?}"
    );
    log.assert_steps(&["approve", "pay"]);
    second.shutdown().await;
}

mod slow {
    use workflow_core::prelude::*;

    workflow! {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub Parcel {
            initial Packed  {}
            state   Weighed {}
            final   Sent    {}
            weigh: Packed  -> Weighed;
            send:  Weighed -> Sent;
        }
    }
}

/// Weighing takes five seconds; sending is at once.
struct Scales(CallLog);

impl slow::parcel::Activities for Scales {
    type Error = workflow_core::testing::Fault;

    async fn weigh(
        &self,
        _: &slow::parcel::Packed,
        ctx: &workflow_core::StepCtx,
    ) -> Result<slow::parcel::Weighed, Self::Error> {
        self.0.call(ctx)?;
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(slow::parcel::Weighed {})
    }

    async fn send(
        &self,
        _: &slow::parcel::Weighed,
        ctx: &workflow_core::StepCtx,
    ) -> Result<slow::parcel::Sent, Self::Error> {
        self.0.call(ctx).map(|()| slow::parcel::Sent {})
    }
}

/// A pause while a step runs lets that step finish and land; the next step starts only at
/// the unpause.
#[tokio::test(start_paused = true)]
async fn a_step_running_when_paused_finishes_and_the_next_waits_for_the_unpause() {
    let log = CallLog::new();
    let runtime = Runtime::<slow::parcel::Flow, _>::new(Scales(log.clone()));
    let id = runtime.start(slow::parcel::Packed {}).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    runtime.pause(&id).await.unwrap();
    tokio::time::sleep(Duration::from_mins(10)).await;
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Weighed");
    log.assert_steps(&["weigh"]);
    runtime.unpause(&id).await.unwrap();
    let end = runtime.outcome(&id).await.unwrap();
    assert!(matches!(end, Outcome::Completed(_)), "{end:?}");
    let at: Vec<u64> = log.calls().iter().map(|c| c.at.as_secs()).collect();
    assert_eq!(at, [0, 601], "send starts at the unpause, ten minutes in");
}
