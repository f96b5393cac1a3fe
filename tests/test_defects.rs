//! Defects found by using the library as an adversarial user would, each with the behaviour
//! it must have now:
//!
//! - two `resume()` calls at once (a boot hook and a health check) must not drive an instance
//!   twice: each step runs once, with one key, and every instance completes;
//! - a state or an event JSON cannot hold exactly (a `NaN`) is refused when it is written,
//!   with a typed error, and the instance stays readable where it was.
//!
//! (A duration no store can hold is refused by the macro: `ui-tests/fail/options/duration_too_long.rs`;
//! a write whose due time does not fit SQLite is refused alone: `tests/store_sqlite.rs`;
//! flows named like keywords: `ui-tests/pass/keyword_flow_names.rs`.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host, Outcome, Runtime, RuntimeError};
use workflow_core::store::{MemoryStore, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{FailureKind, InstanceId};

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Chore {
        initial Todo  { n: u32 }
        state   Doing { n: u32 }
        final   Done  { n: u32 }
        begin:  Todo -> Doing undo stop;
        finish: Doing -> Done;
    }
}

#[derive(Clone)]
struct Hands(CallLog);

impl chore::Activities for Hands {
    type Error = Fault;
    async fn begin(&self, from: &chore::Todo, ctx: &StepCtx) -> Result<chore::Doing, Fault> {
        self.0.call(ctx)?;
        tokio::task::yield_now().await;
        Ok(chore::Doing { n: from.n })
    }
    async fn finish(&self, from: &chore::Doing, ctx: &StepCtx) -> Result<chore::Done, Fault> {
        self.0.call(ctx)?;
        Ok(chore::Done { n: from.n })
    }
    async fn stop(&self, _: &chore::Doing, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
}

/// `instances` unfinished instances in `store`, written by a client no host runs.
async fn unfinished(store: &Arc<dyn Store>, instances: u32) -> Vec<InstanceId> {
    let client = Client::<chore::Flow>::new(Arc::clone(store));
    let mut ids = Vec::new();
    for n in 0..instances {
        ids.push(
            client
                .start_with_id(format!("chore-{n:05}"), chore::Todo { n })
                .await
                .unwrap(),
        );
    }
    ids
}

async fn resumed_twice_at_once(store: Arc<dyn Store>, instances: u32) {
    let ids = unfinished(&store, instances).await;
    let log = CallLog::new();
    let runtime = Runtime::<chore::Flow, _>::with_store(Hands(log.clone()), Arc::clone(&store));
    // A second host in the same process, on the same store, resuming at the same moment.
    let other = Host::builder()
        .store(Arc::clone(&store))
        .flow(chore::Flow, Hands(log.clone()))
        .build();
    let (a, b, c) = tokio::join!(runtime.resume(), runtime.resume(), other.resume());
    let mut reported = std::collections::BTreeSet::new();
    for resumed in [a, b, c] {
        let resumed = resumed.unwrap();
        assert!(resumed.refused.is_empty());
        reported.extend(resumed.instances);
    }
    assert_eq!(
        reported.len(),
        ids.len(),
        "between them, they carry on with every instance"
    );
    for id in &ids {
        let outcome = tokio::time::timeout(Duration::from_mins(2), runtime.outcome(id))
            .await
            .expect("every instance completes")
            .unwrap();
        assert!(matches!(outcome, Outcome::Completed(chore::State::Done(_))));
    }
    let mut per_key: BTreeMap<String, usize> = BTreeMap::new();
    for call in log.calls() {
        *per_key.entry(call.key.unwrap()).or_default() += 1;
    }
    assert_eq!(
        per_key.len(),
        2 * instances as usize,
        "two steps per instance"
    );
    let twice: Vec<_> = per_key.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "steps run twice: {twice:?}");
    runtime.shutdown().await;
    other.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resumes_at_once_drive_each_instance_once_in_memory() {
    resumed_twice_at_once(Arc::new(MemoryStore::new()), 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resumes_at_once_drive_each_instance_once_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("chores.sqlite")).unwrap();
    resumed_twice_at_once(Arc::new(store), 2_000).await;
}

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Reading {
        initial Asked    { celsius: f64 }
        state   Measured { celsius: f64 }
        final   Logged   { celsius: f64 }
        measure: Asked -> Measured;
        log:     Measured -> Logged, on Correction;
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Correction {
    by: f64,
}

/// A thermometer that reads `NaN` when asked for a negative temperature.
struct Thermometer;

impl reading::Activities for Thermometer {
    type Error = String;
    async fn measure(
        &self,
        from: &reading::Asked,
        _: &StepCtx,
    ) -> Result<reading::Measured, String> {
        let celsius = if from.celsius < 0.0 {
            f64::NAN
        } else {
            from.celsius
        };
        Ok(reading::Measured { celsius })
    }
    async fn log(
        &self,
        from: &reading::Measured,
        event: &Correction,
        _: &StepCtx,
    ) -> Result<reading::Logged, String> {
        Ok(reading::Logged {
            celsius: from.celsius + event.by,
        })
    }
}

async fn unstorable_values_are_refused(store: Arc<dyn Store>) {
    let runtime = Runtime::<reading::Flow, _>::with_store(Thermometer, store);

    // A start state JSON cannot hold is handed back; nothing is written.
    let refused = runtime
        .start_with_id("nan", reading::Asked { celsius: f64::NAN })
        .await
        .unwrap_err();
    let RuntimeError::Unstorable { what, .. } = &refused.error else {
        panic!("{}", refused.error)
    };
    assert_eq!(*what, "the initial state");
    assert!(matches!(refused.into_value(), reading::State::Asked(a) if a.celsius.is_nan()));
    assert!(matches!(
        runtime.state(&InstanceId::new("nan")).await.unwrap_err(),
        RuntimeError::Unknown(_)
    ));

    // A step that returns one fails its attempt; the instance stays where it was, readable.
    let id = runtime
        .start_with_id("cold", reading::Asked { celsius: -4.0 })
        .await
        .unwrap();
    let Outcome::Failed { failure, state, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    assert_eq!(
        (failure.step(), failure.kind()),
        ("measure", FailureKind::Unstorable)
    );
    assert_eq!(
        state,
        reading::State::Asked(reading::Asked { celsius: -4.0 })
    );
    assert_eq!(runtime.state(&id).await.unwrap(), state);

    // An event that holds one is handed back; nothing is posted.
    let id = runtime
        .start_with_id("warm", reading::Asked { celsius: 21.0 })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(10)).await;
    let refused = runtime
        .send(&id, Correction { by: f64::INFINITY })
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused.error,
            RuntimeError::Unstorable {
                what: "the event",
                ..
            }
        ),
        "{}",
        refused.error
    );
    assert!(
        runtime
            .store()
            .inbox("Reading", &id)
            .await
            .unwrap()
            .is_empty()
    );
    runtime
        .send(&id, Correction { by: 0.5 })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Completed(reading::State::Logged(reading::Logged { celsius: 21.5 }))
    );
}

#[tokio::test(start_paused = true)]
async fn states_and_events_json_cannot_hold_are_refused_in_memory() {
    unstorable_values_are_refused(Arc::new(MemoryStore::new())).await;
}

#[tokio::test(start_paused = true)]
async fn states_and_events_json_cannot_hold_are_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("readings.sqlite")).unwrap();
    unstorable_values_are_refused(Arc::new(store)).await;
}
