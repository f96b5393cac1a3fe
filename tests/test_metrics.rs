//! Metrics through the `metrics` facade: S1's paths, counted by a debugging recorder.

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;

use std::collections::BTreeMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use shop::{Shop, order, request};
use workflow_core::runtime::Runtime;
use workflow_core::testing::CallLog;

/// Runs `orders` to their ends with a recorder installed, and reads each counter by its name
/// and labels (`name{label=value,..}`), and how many values each histogram has.
fn measured(orders: &[(&str, &str, u64)]) -> BTreeMap<String, u64> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
            .block_on(async {
                let runtime = Runtime::<order::Flow, _>::new(Shop::new(CallLog::new()));
                for (id, product, amount) in orders {
                    let id = runtime
                        .start_with_id(*id, request(id, product, 1, *amount))
                        .await
                        .unwrap();
                    runtime.outcome(&id).await.unwrap();
                }
                runtime.shutdown().await;
            });
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let name = format!("{}{{{}}}", key.key().name(), labels.join(","));
            let value = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(values) => values.len() as u64,
                // No gauges yet.
                DebugValue::Gauge(_) => u64::MAX,
            };
            (name, value)
        })
        .collect()
}

#[test]
fn attempts_transitions_compensations_and_endings_are_counted() {
    let counted = measured(&[
        ("o-1", "espresso-machine", 49_900),
        ("o-2", "grand-piano", 100_001),
    ]);
    let get = |name: &str| counted.get(name).copied().unwrap_or(0);
    assert_eq!(get("workflow_instances_started_total{flow=Order}"), 2);
    assert_eq!(
        get("workflow_instances_ended_total{flow=Order,status=completed}"),
        1
    );
    assert_eq!(
        get("workflow_instances_ended_total{flow=Order,status=failed}"),
        1
    );
    // The declined payment: three attempts, each an error; the happy one: one, ok.
    assert_eq!(
        get("workflow_attempts_total{flow=Order,of=step,outcome=error,step=pay}"),
        3
    );
    assert_eq!(
        get("workflow_attempts_total{flow=Order,of=step,outcome=ok,step=pay}"),
        1
    );
    assert_eq!(
        get("workflow_attempt_seconds{flow=Order,of=step,step=pay}"),
        4,
        "each attempt timed"
    );
    assert_eq!(
        get("workflow_attempts_total{flow=Order,of=undo,outcome=ok,step=release_hold}"),
        1
    );
    assert_eq!(get("workflow_compensations_total{flow=Order}"), 1);
    assert_eq!(
        get("workflow_transitions_total{flow=Order,transition=check_inventory}"),
        2
    );
    assert_eq!(
        get("workflow_transitions_total{flow=Order,transition=create_shipping_note}"),
        1
    );
}
