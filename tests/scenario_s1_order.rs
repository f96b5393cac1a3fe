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

/// The generated paths of the order flow: every landing, every failure with its
/// compensation, and a cancel in every state the instance can be cancelled in, each run to
/// its end against the fake shop.
#[tokio::test(start_paused = true)]
async fn every_generated_path_ends_as_it_says_with_its_undos_newest_first() {
    use workflow_core::testing::{ExpectedUndo, PathRunner, paths};

    let paths = paths(&order::DEFINITION);
    let described: Vec<String> = paths.iter().map(ToString::to_string).collect();
    let ship = "-pay-> Paid -reserve_stock-> Reserved -create_shipping_note-> Shipped";
    assert_eq!(
        described,
        [
            format!("Placed -check_inventory-> InStock {ship}: completed in Shipped"),
            "Placed -check_inventory-> Cancelled: completed in Cancelled".into(),
            "Placed -check_inventory fails-> failed in Placed (check_inventory failed)".into(),
            "Placed -check_inventory-> InStock -pay fails-> failed in InStock (pay failed)".into(),
            "Placed -check_inventory-> InStock -cancel-> cancelled in InStock".into(),
            "Placed -check_inventory-> InStock -pay-> Paid -reserve_stock fails-> failed in Paid (reserve_stock failed)".into(),
            "Placed -check_inventory-> InStock -pay-> Paid -cancel-> cancelled in Paid".into(),
            "Placed -check_inventory-> InStock -pay-> Paid -reserve_stock-> Reserved -create_shipping_note fails-> failed in Reserved (create_shipping_note failed)".into(),
            "Placed -check_inventory-> InStock -pay-> Paid -reserve_stock-> Reserved -cancel-> cancelled in Reserved".into(),
        ]
    );
    // A cancel in Reserved undoes the three landings, newest first.
    assert_eq!(
        paths[8].expected_undos(),
        ["unreserve_stock", "refund", "release_hold"].map(ExpectedUndo::One)
    );

    // The data steers the stock check: an out-of-stock order for the path that cancels.
    let runner = PathRunner::<order::Flow>::new(|path| {
        if path.takes("check_inventory", "Cancelled") {
            request("order-p", "out_of_stock", 2, 1_990)
        } else {
            request("order-p", "espresso-machine", 1, 49_900)
        }
    });
    let checked = runner.run_all(&paths, Shop::new).await.unwrap();
    assert_eq!((checked.paths, checked.moves), (9, 24));
}

/// A runner that starts every path with an in-stock order cannot take the path where the
/// stock check cancels: it says so, with both landings.
#[tokio::test(start_paused = true)]
async fn a_path_the_start_data_does_not_steer_is_reported_with_where_it_went() {
    use workflow_core::testing::{PathProblem, PathRunner, paths};

    let paths = paths(&order::DEFINITION);
    let runner =
        PathRunner::<order::Flow>::new(|_| request("order-q", "espresso-machine", 1, 49_900));
    let mismatch = runner.run(&paths[1], Shop::new).await.unwrap_err();
    assert_eq!(
        mismatch.problem,
        PathProblem::Diverged {
            expected: vec!["check_inventory -> Cancelled".into()],
            got: [
                "check_inventory -> InStock",
                "pay -> Paid",
                "reserve_stock -> Reserved",
                "create_shipping_note -> Shipped"
            ]
            .map(String::from)
            .to_vec(),
        }
    );
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(64))]

    /// Random walks (landings, failures and cancels interleaved) each end as the walk says,
    /// with exactly the compensation chain's undos, newest first.
    #[test]
    fn a_random_walk_ends_as_it_says_with_its_undos(
        walk in workflow_core::testing::walks(&order::DEFINITION, 6)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let runner = workflow_core::testing::PathRunner::<order::Flow>::new(|path| {
            if path.takes("check_inventory", "Cancelled") {
                request("order-w", "out_of_stock", 2, 1_990)
            } else {
                request("order-w", "espresso-machine", 1, 49_900)
            }
        });
        let ran = runtime.block_on(runner.run(&walk, Shop::new));
        proptest::prop_assert!(ran.is_ok(), "{}", ran.unwrap_err());
    }
}
