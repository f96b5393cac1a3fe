//! Scenario S1, order fulfilment, run by the driver in virtual time, with the flow and fake
//! shop of the `order` example.

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;

use shop::{Shop, order, request};
use workflow_core::FailureKind;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::testing::CallLog;

async fn run(placed: order::Placed) -> (Outcome<order::State>, CallLog) {
    let runtime = Runtime::<order::Flow, _>::new(Shop::new(CallLog::new()));
    let id = runtime.start(placed).await.unwrap();
    (
        runtime.outcome(&id).await.unwrap(),
        runtime.activities().log().clone(),
    )
}

#[tokio::test(start_paused = true)]
async fn happy_path_ends_shipped_with_tracking_and_no_undo() {
    let (finished, log) = run(request("order-1", "espresso-machine", 1, 49_900)).await;
    let Outcome::Completed(order::State::Shipped(shipped)) = finished else {
        panic!("{finished:?}")
    };
    assert!(shipped.tracking.starts_with("TRACK-"));
    assert_eq!(shipped.order.id, "order-1");
    log.assert_steps(&[
        "check_inventory",
        "pay",
        "reserve_stock",
        "create_shipping_note",
    ]);
}

#[tokio::test(start_paused = true)]
async fn out_of_stock_ends_cancelled_with_no_payment_and_no_undo() {
    let (finished, log) = run(request("order-2", "out_of_stock", 2, 1_990)).await;
    let Outcome::Completed(order::State::Cancelled(cancelled)) = finished else {
        panic!("{finished:?}")
    };
    assert_eq!(cancelled.reason, "out of stock");
    log.assert_steps(&["check_inventory"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_payment_releases_the_stock_once_and_ends_failed() {
    let (finished, log) = run(request("order-3", "grand-piano", 1, 100_001)).await;
    let Outcome::Failed {
        failure,
        state,
        report,
    } = finished
    else {
        panic!("{finished:?}")
    };
    assert_eq!(
        (failure.step(), failure.attempt(), failure.kind()),
        ("pay", 3, FailureKind::Activity)
    );
    assert_eq!(state.name(), "InStock");
    assert_eq!(report.undone_steps(), ["release_hold"]);
    assert_eq!(log.count("release_hold"), 1);
    assert_eq!(log.count("pay"), 3, "pay's policy allows three attempts");
    assert_eq!(log.count("refund"), 0);
}

#[tokio::test(start_paused = true)]
async fn exactly_1000_is_paid() {
    let (finished, _) = run(request("order-4", "lamp", 1, 100_000)).await;
    assert!(
        matches!(finished, Outcome::Completed(order::State::Shipped(_))),
        "{finished:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_each_path_resumes_to_the_same_end_with_each_effect_once() {
    use workflow_core::testing::crash_check;

    // The writes of each path: its creation, then each step's (a failed payment's three
    // attempts, then its compensation, then the undo with the end).
    for (placed, writes) in [
        (request("order-1", "espresso-machine", 1, 49_900), 5),
        (request("order-2", "out_of_stock", 2, 1_990), 2),
        (request("order-3", "grand-piano", 1, 100_001), 6),
    ] {
        let checked = crash_check::<order::Flow, _>(placed, Shop::new)
            .await
            .unwrap();
        assert_eq!((checked.writes, checked.points), (writes, writes - 1));
    }
}
