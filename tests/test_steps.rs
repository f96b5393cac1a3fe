//! Generated transitions are steps: they compose with `then`, `par`, `or` and the adapters,
//! and their compensation composes with them.

mod common;

use common::*;
use workflow_core::combinators::{adapt, identity};
use workflow_core::{Aborted, Either, Entry, Report, Step, StepExt};

fn undone(steps: &[&'static str]) -> Report<String> {
    let mut report = Report::new();
    for step in steps {
        report.undone(step);
    }
    report
}

#[tokio::test]
async fn reserve_then_pay_is_a_step_from_placed() {
    let acts = Fakes::default();
    let reserve_and_pay = order::Reserve.then(order::Pay);
    let (out, _) = reserve_and_pay.run(&acts, placed(1, 50)).await.unwrap();
    let Either::Left(paid) = out else {
        panic!("order 1 is in stock")
    };
    assert_eq!(paid.charge, 9);
    assert_eq!(acts.calls(), ["reserve", "pay"]);
}

#[tokio::test]
async fn a_branch_that_does_not_continue_passes_through() {
    let acts = Fakes::default();
    let (out, _) = order::Reserve
        .then(order::Pay)
        .run(&acts, placed(0, 50))
        .await
        .unwrap();
    let Either::Right(cancelled) = out else {
        panic!("order 0 is out of stock")
    };
    assert_eq!(cancelled.reason, "out of stock");
    assert_eq!(acts.calls(), ["reserve"], "pay never ran");
}

#[tokio::test]
async fn when_the_second_step_fails_the_first_is_undone() {
    let acts = Fakes::default();
    let aborted = order::Reserve
        .then(order::Pay)
        .run(&acts, placed(2, 5000))
        .await
        .unwrap_err();
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
async fn undoing_a_composition_undoes_the_second_step_then_the_first() {
    let acts = Fakes::default();
    let chain = order::Reserve.then(order::Pay).then(order::Ship);
    let (out, memo) = chain.run(&acts, placed(3, 50)).await.unwrap();
    let mut report = Report::new();
    let back = chain.undo(&acts, out, memo, &mut report).await;
    assert_eq!(back, Some(placed(3, 50)));
    assert_eq!(report, undone(&["refund", "release"]), "ship has no undo");
    assert_eq!(
        acts.calls(),
        ["reserve", "pay", "ship", "refund", "release"]
    );
}

#[tokio::test]
async fn a_failed_undo_skips_the_older_ones() {
    let acts = Fakes::failing(&["ship", "refund"]);
    let aborted = order::Reserve
        .then(order::Pay)
        .then(order::Ship)
        .run(&acts, placed(4, 50))
        .await
        .unwrap_err();
    assert_eq!(
        (aborted.step, aborted.error.as_str(), aborted.input),
        ("ship", "ship failed", None)
    );
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
}

#[tokio::test]
async fn identity_and_adapters_compose_with_transitions() {
    let acts = Fakes::default();
    let chain = identity()
        .then(adapt(|o: &OrderRequest| placed(o.id, o.amount)))
        .then(order::Reserve);
    let (out, memo) = chain
        .run(&acts, OrderRequest { id: 5, amount: 10 })
        .await
        .unwrap();
    assert_eq!(out.name(), "Reserved");
    let mut report = Report::new();
    let back = chain.undo(&acts, out, memo, &mut report).await;
    assert_eq!(
        back,
        Some(OrderRequest { id: 5, amount: 10 }),
        "the adapter kept its input"
    );
    assert_eq!(report, undone(&["release"]));
}

#[tokio::test]
async fn or_runs_the_side_its_input_is_on() {
    let acts = Fakes::default();
    let reserved = Reserved {
        order: OrderRequest { id: 6, amount: 10 },
        hold: 1,
    };
    let pay_or_expire = order::Pay.or(order::Expire);
    let (out, _) = pay_or_expire
        .run(&acts, Either::Right(reserved.clone()))
        .await
        .unwrap();
    assert!(matches!(out, Either::Right(ref cancelled) if cancelled.reason == "expired"));
    let (out, _) = pay_or_expire
        .run(&acts, Either::Left(reserved))
        .await
        .unwrap();
    assert!(matches!(out, Either::Left(ref paid) if paid.charge == 9));
    assert_eq!(acts.calls(), ["expire", "pay"]);
}

#[tokio::test]
async fn a_two_target_outcome_feeds_an_or() {
    let acts = Fakes::default();
    let chain = order::Reserve.then(order::Pay.or(identity()));
    let (out, _) = chain.run(&acts, placed(0, 10)).await.unwrap();
    assert!(matches!(out, Either::Right(ref cancelled) if cancelled.order_id == 0));
    let (out, _) = chain.run(&acts, placed(7, 10)).await.unwrap();
    assert!(matches!(out, Either::Left(_)));
}

#[tokio::test]
async fn when_one_side_of_par_fails_the_other_side_is_undone() {
    let acts = Fakes::failing(&["ship"]);
    let reserved = Reserved {
        order: OrderRequest { id: 8, amount: 10 },
        hold: 1,
    };
    let paid = Paid {
        order: OrderRequest { id: 9, amount: 10 },
        hold: 2,
        charge: 3,
    };
    let both = order::Pay.par(order::Ship);
    let aborted = both
        .run(&acts, (reserved.clone(), paid.clone()))
        .await
        .unwrap_err();
    assert_eq!(aborted.step, "ship");
    assert_eq!(
        aborted.report,
        undone(&["refund"]),
        "pay completed, so it was undone"
    );
    assert_eq!(aborted.input, Some((reserved, paid)));
    let mut calls = acts.calls();
    calls.sort_unstable();
    assert_eq!(calls, ["pay", "refund", "ship"]);
}

#[tokio::test]
async fn when_both_sides_of_par_fail_both_errors_are_kept() {
    let acts = Fakes::failing(&["pay", "ship"]);
    let reserved = Reserved {
        order: OrderRequest { id: 10, amount: 10 },
        hold: 1,
    };
    let paid = Paid {
        order: OrderRequest { id: 11, amount: 10 },
        hold: 2,
        charge: 3,
    };
    let aborted = order::Pay
        .par(order::Ship)
        .run(&acts, (reserved, paid))
        .await
        .unwrap_err();
    assert_eq!(
        (aborted.step, aborted.error.as_str()),
        ("pay", "pay failed")
    );
    assert_eq!(
        aborted.report.entries(),
        [Entry::AlsoFailed {
            step: "ship",
            error: "ship failed".to_string()
        }]
    );
    assert!(
        aborted.input.is_some(),
        "neither side completed, so both inputs come back"
    );
}

#[tokio::test]
async fn a_multi_source_transition_is_a_step_from_its_owned_input() {
    let acts = Fakes::default();
    let event = CancelRequested {
        reason: "no longer needed".into(),
    };
    let input = (order::CancelInput::from(placed(12, 10)), event);
    let (cancelled, memo) = order::Cancel.run(&acts, input).await.unwrap();
    assert_eq!(cancelled.reason, "no longer needed (from Placed)");
    assert_eq!(memo.0.name(), "Placed", "the memo is the input");
    let mut report = Report::new();
    let back = order::Cancel
        .undo(&acts, cancelled, memo, &mut report)
        .await;
    assert_eq!(back.map(|(input, _)| input.name()), Some("Placed"));
    assert_eq!(report, Report::new(), "cancelling records no undo");
}
