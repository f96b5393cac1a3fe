//! Start or deliver: an event sent to the instance with a business key, starting it first
//! when none has that key, in one atomic write; callers racing on a new key start it once
//! and every event reaches it. On the in-memory store and on SQLite, with and without a
//! host in the caller's process.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Client, Host, Outcome, Runtime, RuntimeError};
use workflow_core::store::{MemoryStore, SqliteStore, Store};

/// An item put on the tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub cents: u64,
}

/// The tab is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pay;

workflow! {
    /// A tab per table: items are added to it until it is paid.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Tab {
        initial Open   { items: u32, cents: u64 }
        final   Closed { items: u32, cents: u64 }

        add: Open -> Open, on Item, internal;
        pay: Open -> Closed, on Pay;
    }
}

use tab::{Closed, Open};

#[derive(Debug, Default)]
pub struct Till;

impl tab::Activities for Till {
    type Error = std::convert::Infallible;

    async fn add(&self, from: &Open, item: &Item, _: &StepCtx) -> Result<Open, Self::Error> {
        Ok(Open {
            items: from.items + 1,
            cents: from.cents + item.cents,
        })
    }

    async fn pay(&self, from: &Open, _: &Pay, _: &StepCtx) -> Result<Closed, Self::Error> {
        Ok(Closed {
            items: from.items,
            cents: from.cents,
        })
    }
}

fn empty() -> Open {
    Open { items: 0, cents: 0 }
}

fn runtime(store: Arc<dyn Store>) -> Runtime<tab::Flow, Till> {
    Runtime::with_store(Till, store)
}

async fn closed(runtime: &Runtime<tab::Flow, Till>, table: &str) -> Closed {
    let id = InstanceId::new(table);
    runtime
        .send(&id, Pay)
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    let Outcome::Completed(tab::State::Closed(closed)) = runtime.outcome(&id).await.unwrap() else {
        panic!("closed")
    };
    closed
}

#[tokio::test(start_paused = true)]
async fn the_first_event_starts_the_instance_and_the_next_reach_it() {
    let runtime = runtime(Arc::new(MemoryStore::new()));
    let first = runtime
        .start_or_send("table-7", empty(), Item { cents: 450 })
        .await
        .unwrap();
    assert!(first.started);
    first.delivery.applied().await.unwrap();
    let second = runtime
        .start_or_send("table-7", empty(), Item { cents: 300 })
        .await
        .unwrap();
    assert!(!second.started, "the tab was open");
    second.delivery.applied().await.unwrap();
    assert_eq!(
        closed(&runtime, "table-7").await,
        Closed {
            items: 2,
            cents: 750
        }
    );
}

#[tokio::test(start_paused = true)]
async fn callers_racing_on_a_new_key_start_it_once_and_every_event_reaches_it() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("tabs.db")).unwrap());
    let runtime = Arc::new(runtime(store));
    let callers = (1..=10).map(|cents| {
        let runtime = Arc::clone(&runtime);
        tokio::spawn(async move {
            let sent = runtime
                .start_or_send("table-3", empty(), Item { cents })
                .await
                .unwrap();
            let started = sent.started;
            sent.delivery.applied().await.unwrap();
            started
        })
    });
    let started = futures::future::join_all(callers).await;
    let starts = started.iter().filter(|s| *s.as_ref().unwrap()).count();
    assert_eq!(starts, 1, "{started:?}");
    assert_eq!(
        closed(&runtime, "table-3").await,
        Closed {
            items: 10,
            cents: 55
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_without_a_host_creates_the_instance_with_its_event_for_any_host() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let client = Client::<tab::Flow>::new(Arc::clone(&store));
    let sent = client
        .start_or_send("table-9", empty(), Item { cents: 100 })
        .await
        .unwrap();
    assert!(sent.started);
    // Nothing runs it yet; a host on the same store takes it with its event.
    let host = Host::builder()
        .store(Arc::clone(&store))
        .flow(tab::Flow, Till)
        .build();
    host.resume().await.unwrap();
    let applied = tokio::time::timeout(std::time::Duration::from_mins(1), sent.delivery.applied());
    applied.await.expect("the host takes it").unwrap();
    let state = client.state(&InstanceId::new("table-9")).await.unwrap();
    assert_eq!(
        state,
        tab::State::Open(Open {
            items: 1,
            cents: 100
        })
    );
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_ended_instance_refuses_and_hands_back_the_state_and_the_event() {
    let runtime = runtime(Arc::new(MemoryStore::new()));
    runtime
        .start_or_send("table-1", empty(), Pay)
        .await
        .unwrap()
        .delivery
        .applied()
        .await
        .unwrap();
    let refused = runtime
        .start_or_send("table-1", empty(), Item { cents: 5 })
        .await
        .unwrap_err();
    assert!(
        matches!(refused.error, RuntimeError::Ended { .. }),
        "{:?}",
        refused.error
    );
    let (state, event) = refused.into_value();
    assert_eq!(state, tab::State::Open(empty()));
    assert_eq!(event, tab::Event::Item(Item { cents: 5 }));
}
