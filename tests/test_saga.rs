//! The typed saga on the order flow: each success pushes its undo onto the chain's type; a
//! failing step, or `abort`, unwinds newest first, each undo once, and says what ran.

mod common;

use common::*;
use workflow_core::saga::{Empty, Link};
use workflow_core::{Aborted, Entry, Report, Unwound};

/// The chain after reserve and pay, as the compiler sees it.
type AfterPay = Link<order::steps::Pay, Reserved, Link<order::steps::Reserve, Placed, Empty>>;

fn undone(steps: &[&'static str]) -> Report<String> {
    let mut report = Report::new();
    for step in steps {
        report.undone(step);
    }
    report
}

async fn reserved(
    acts: &Fakes,
    placed: Placed,
) -> order::Saga<Reserved, Link<order::steps::Reserve, Placed, Empty>> {
    match order::Saga::start(placed).reserve(acts).await.unwrap() {
        order::ReserveSaga::Reserved(saga) => saga,
        order::ReserveSaga::Cancelled(_) => panic!("the order is in stock"),
    }
}

#[tokio::test]
async fn a_saga_that_succeeds_runs_no_undo_and_keeps_its_state() {
    let acts = Fakes::default();
    let saga = reserved(&acts, placed(1, 50)).await;
    let paid: order::Saga<Paid, AfterPay> = saga.pay(&acts).await.unwrap();
    assert_eq!(paid.state().charge, 9);
    let shipped = paid.ship(&acts).await.unwrap().into_state();
    assert_eq!(shipped.tracking, "TRACK-1");
    assert_eq!(acts.calls(), ["reserve", "pay", "ship"]);
}

#[tokio::test]
async fn a_failing_step_unwinds_what_came_before_and_hands_back_the_start() {
    let acts = Fakes::default();
    let saga = reserved(&acts, placed(2, 5000)).await;
    let aborted = saga.pay(&acts).await.unwrap_err();
    assert_eq!(
        aborted,
        Aborted {
            step: "pay",
            error: "declined: 5000".to_string(),
            input: Some(placed(2, 5000)),
            report: undone(&["release"])
        }
    );
    assert_eq!(acts.calls(), ["reserve", "pay", "release"]);
}

#[tokio::test]
async fn undos_run_newest_first_each_once() {
    let acts = Fakes::failing(&["ship"]);
    let paid = reserved(&acts, placed(3, 50))
        .await
        .pay(&acts)
        .await
        .unwrap();
    let aborted = paid.ship(&acts).await.unwrap_err();
    assert_eq!(aborted.step, "ship");
    assert_eq!(aborted.error, "ship failed");
    assert_eq!(aborted.report, undone(&["refund", "release"]));
    assert_eq!(aborted.input, Some(placed(3, 50)));
    assert_eq!(
        acts.calls(),
        ["reserve", "pay", "ship", "refund", "release"]
    );
}

#[tokio::test]
async fn an_undo_that_fails_is_reported_and_the_older_ones_are_skipped() {
    let acts = Fakes::failing(&["ship", "refund"]);
    let paid = reserved(&acts, placed(4, 50))
        .await
        .pay(&acts)
        .await
        .unwrap();
    let aborted = paid.ship(&acts).await.unwrap_err();
    assert_eq!(aborted.error, "ship failed", "the original error is kept");
    assert_eq!(
        aborted.report.entries(),
        [
            Entry::UndoFailed {
                undo: "refund",
                error: "refund failed".to_string()
            },
            Entry::Skipped { undo: "release" },
        ]
    );
    assert_eq!(
        aborted.input, None,
        "nothing to hand back: compensation did not complete"
    );
    assert_eq!(acts.calls(), ["reserve", "pay", "ship", "refund"]);
}

#[tokio::test]
async fn abort_unwinds_on_demand() {
    let acts = Fakes::default();
    let paid = reserved(&acts, placed(5, 50))
        .await
        .pay(&acts)
        .await
        .unwrap();
    let unwound = paid.abort(&acts).await;
    assert_eq!(
        unwound,
        Unwound {
            state: Some(placed(5, 50)),
            report: undone(&["refund", "release"])
        }
    );
    assert_eq!(acts.calls(), ["reserve", "pay", "refund", "release"]);
}

#[tokio::test]
async fn a_landing_without_undo_has_nothing_to_unwind() {
    let acts = Fakes::default();
    let cancelled = match order::Saga::start(placed(0, 50))
        .reserve(&acts)
        .await
        .unwrap()
    {
        order::ReserveSaga::Cancelled(saga) => saga,
        order::ReserveSaga::Reserved(_) => panic!("order 0 is out of stock"),
    };
    assert_eq!(cancelled.state().reason, "out of stock");
    let unwound = cancelled.abort(&acts).await;
    assert_eq!(
        unwound,
        Unwound {
            state: Some(placed(0, 50)),
            report: Report::new()
        }
    );
    assert_eq!(acts.calls(), ["reserve"]);
}

#[tokio::test]
async fn a_failure_before_anything_completed_undoes_nothing() {
    let acts = Fakes::failing(&["reserve"]);
    let aborted = order::Saga::start(placed(6, 50))
        .reserve(&acts)
        .await
        .unwrap_err();
    assert_eq!(
        aborted,
        Aborted::new("reserve", "reserve failed".to_string(), Some(placed(6, 50)))
    );
    assert_eq!(acts.calls(), ["reserve"]);
}

#[tokio::test]
async fn a_compensating_transition_unwinds_the_chain_before_landing() {
    let acts = Fakes::default();
    let paid = reserved(&acts, placed(7, 50))
        .await
        .pay(&acts)
        .await
        .unwrap();
    let event = CancelRequested {
        reason: "changed my mind".into(),
    };
    let (cancelled, report): (order::Saga<Cancelled, Empty>, _) =
        paid.cancel(&acts, &event).await.unwrap();
    assert_eq!(cancelled.state().reason, "changed my mind (from Paid)");
    assert_eq!(report, undone(&["refund", "release"]));
    assert_eq!(
        acts.calls(),
        ["reserve", "pay", "cancel", "refund", "release"]
    );
    // The chain is empty now: aborting undoes nothing more.
    assert_eq!(cancelled.abort(&acts).await.report, Report::new());
}

#[tokio::test]
async fn a_compensating_transition_whose_undo_fails_names_that_undo() {
    let acts = Fakes::failing(&["refund"]);
    let paid = reserved(&acts, placed(8, 50))
        .await
        .pay(&acts)
        .await
        .unwrap();
    let event = CancelRequested {
        reason: "too slow".into(),
    };
    let aborted = paid.cancel(&acts, &event).await.unwrap_err();
    assert_eq!(aborted.step, "refund");
    assert_eq!(aborted.error, "refund failed");
    assert_eq!(aborted.input, None);
    assert_eq!(
        aborted.report.entries(),
        [Entry::Skipped { undo: "release" }]
    );
    assert_eq!(acts.calls(), ["reserve", "pay", "cancel", "refund"]);
}

#[tokio::test]
async fn an_after_transition_is_a_saga_method_too() {
    let acts = Fakes::default();
    let saga = reserved(&acts, placed(9, 50)).await;
    let (expired, report) = saga.expire(&acts).await.unwrap();
    assert_eq!(expired.state().reason, "expired");
    assert_eq!(report, undone(&["release"]));
    assert_eq!(acts.calls(), ["reserve", "expire", "release"]);
}
