//! Flow control of a step on a host, in virtual time: at most N attempts at once, at most so
//! many started per period, and a circuit breaker that fails attempts at once while it is
//! open, then lets one through. Each test also runs the same instances without the limit, so
//! that it cannot pass by accident.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use workflow_core::FailureKind;
use workflow_core::prelude::*;
use workflow_core::runtime::{FlowControl, Host, Outcome, Runtime};
use workflow_core::store::RecordKind;

workflow! {
    /// One payment: a charge, retried every 3 seconds.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Payment {
        initial Due  { n: u32 }
        final   Paid { n: u32 }

        charge: Due -> Paid, retry(10, 3s..3s);
    }
}

/// A payment gateway: each charge takes `takes`, fails before `down_until`, and the calls
/// are counted.
#[derive(Debug)]
pub struct Gateway {
    takes: Duration,
    down_until: Duration,
    start: Instant,
    in_flight: AtomicU32,
    most_at_once: AtomicU32,
    calls: Mutex<Vec<Duration>>,
}

impl Gateway {
    fn new(takes: Duration, down_until: Duration) -> Self {
        Self {
            takes,
            down_until,
            start: Instant::now(),
            in_flight: AtomicU32::new(0),
            most_at_once: AtomicU32::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// When each call was made, in milliseconds from the start.
    fn calls_ms(&self) -> Vec<u128> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(Duration::as_millis)
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the gateway is down")]
pub struct Down;

impl payment::Activities for Gateway {
    type Error = Down;

    async fn charge(&self, from: &payment::Due, _: &StepCtx) -> Result<payment::Paid, Down> {
        let at = self.start.elapsed();
        self.calls.lock().unwrap().push(at);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.takes).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if at < self.down_until {
            return Err(Down);
        }
        Ok(payment::Paid { n: from.n })
    }
}

/// Runs `count` payments on a host with `control` on `charge` (if any) and returns the
/// gateway, once every payment has ended.
async fn pay(
    count: u32,
    gateway: Gateway,
    control: Option<FlowControl>,
) -> Runtime<payment::Flow, Gateway> {
    let mut builder = Host::builder();
    if let Some(control) = control {
        builder = builder.control(payment::Flow, "charge", control);
    }
    let runtime = Runtime::with_host(gateway, builder);
    let mut ids = Vec::new();
    for n in 0..count {
        ids.push(runtime.start(payment::Due { n }).await.unwrap());
    }
    for id in &ids {
        let outcome = tokio::time::timeout(Duration::from_hours(1), runtime.outcome(id));
        outcome.await.expect("ends within the hour").unwrap();
    }
    runtime
}

#[tokio::test(start_paused = true)]
async fn at_most_n_attempts_run_at_once_and_the_rest_wait_their_turn() {
    let started = Instant::now();
    let limited = pay(
        6,
        Gateway::new(Duration::from_secs(1), Duration::ZERO),
        Some(FlowControl::new().concurrency(2)),
    )
    .await;
    assert_eq!(limited.activities().most_at_once.load(Ordering::SeqCst), 2);
    assert_eq!(
        limited.activities().calls_ms(),
        [0, 0, 1_000, 1_000, 2_000, 2_000]
    );
    assert_eq!(started.elapsed(), Duration::from_secs(3));

    let free = pay(
        6,
        Gateway::new(Duration::from_secs(1), Duration::ZERO),
        None,
    )
    .await;
    assert_eq!(free.activities().most_at_once.load(Ordering::SeqCst), 6);
}

#[tokio::test(start_paused = true)]
async fn attempts_start_at_the_rate_after_a_burst_of_the_buckets_size() {
    let limited = pay(
        6,
        Gateway::new(Duration::ZERO, Duration::ZERO),
        Some(FlowControl::new().rate(2, Duration::from_secs(1))),
    )
    .await;
    assert_eq!(
        limited.activities().calls_ms(),
        [0, 0, 500, 1_000, 1_500, 2_000]
    );

    let free = pay(6, Gateway::new(Duration::ZERO, Duration::ZERO), None).await;
    assert_eq!(free.activities().calls_ms(), [0; 6]);
}

#[tokio::test(start_paused = true)]
async fn an_open_breaker_fails_attempts_at_once_then_lets_one_through() {
    // Down for the first 8 seconds; the breaker opens after 2 failures, for 6 seconds.
    let gateway = Gateway::new(Duration::ZERO, Duration::from_secs(8));
    let control = FlowControl::new().breaker(2, Duration::from_secs(6));
    let runtime = pay(1, gateway, Some(control)).await;
    // Called at 0 s and 3 s (both fail: open until 9 s); the attempt at 6 s fails at once
    // without a call; at 9 s one is let through, and succeeds.
    assert_eq!(runtime.activities().calls_ms(), [0, 3_000, 9_000]);
    let id = runtime.list().await.unwrap()[0].id.clone();
    let outcome = runtime.outcome(&id).await.unwrap();
    assert!(
        matches!(outcome, Outcome::Completed(payment::State::Paid(_))),
        "{outcome:?}"
    );
    let kinds: Vec<FailureKind> = runtime
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter_map(|record| match &record.kind {
            RecordKind::AttemptFailed { failure, .. } => Some(failure.kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            FailureKind::Activity,
            FailureKind::Activity,
            FailureKind::CircuitOpen
        ]
    );

    // Without the breaker, every attempt calls the gateway: at 0, 3, 6 and 9 s.
    let free = pay(
        1,
        Gateway::new(Duration::ZERO, Duration::from_secs(8)),
        None,
    )
    .await;
    assert_eq!(free.activities().calls_ms(), [0, 3_000, 6_000, 9_000]);
}

#[test]
#[should_panic(expected = "flow `Payment` has no transition or undo called `refund`")]
fn limits_on_a_step_the_flow_does_not_have_are_refused() {
    let _ = Host::builder().control(payment::Flow, "refund", FlowControl::new().concurrency(1));
}
