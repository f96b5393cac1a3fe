//! The typed API `workflow!` generates, on the order flow of DESIGN §3: typestate moves,
//! failures that hand the state back, conversions, the static definition and dispatch by index.

mod common;

use common::*;
use workflow_core::plumbing::{Dispatch, DispatchError, Mismatch};
use workflow_core::prelude::*;
use workflow_core::{FlowState, RetryPolicy, StateKind, Trigger, WrongState};

#[tokio::test]
async fn happy_path_moves_through_every_state() {
    let acts = Fakes::default();
    let order::ReserveTo::Reserved(reserved) = placed(1, 50).reserve(&acts).await.unwrap() else {
        panic!("order 1 is in stock");
    };
    assert_eq!(reserved.hold, 71);
    let paid = reserved.pay(&acts).await.unwrap();
    let shipped = paid.ship(&acts).await.unwrap();
    assert_eq!(shipped.tracking, "TRACK-1");
    assert_eq!(
        acts.contexts(),
        [
            "reserve attempt 1 key none",
            "pay attempt 1 key none",
            "ship attempt 1 key none"
        ]
    );
}

#[tokio::test]
async fn a_transition_with_two_targets_returns_its_outcome_enum() {
    let acts = Fakes::default();
    let outcome = placed(0, 50).reserve(&acts).await.unwrap();
    assert_eq!(outcome.name(), "Cancelled");
    assert_eq!(
        outcome,
        order::ReserveTo::Cancelled(Cancelled {
            order_id: 0,
            reason: "out of stock".into()
        })
    );
    assert_eq!(order::State::from(outcome).name(), "Cancelled");
}

#[tokio::test]
async fn a_failed_step_hands_its_state_back() {
    let acts = Fakes::default();
    let reserved = Reserved {
        order: OrderRequest {
            id: 2,
            amount: 5000,
        },
        hold: 72,
    };
    let failed = reserved.clone().pay(&acts).await.unwrap_err();
    assert_eq!(failed.error, "declined: 5000");
    assert_eq!(failed.state, reserved);
    assert_eq!(failed.to_string(), "step failed: declined: 5000");
}

#[tokio::test]
async fn an_event_transition_takes_the_event_from_every_source() {
    let acts = Fakes::default();
    let event = CancelRequested {
        reason: "changed my mind".into(),
    };
    let from_placed = placed(3, 10).cancel(&acts, &event).await.unwrap();
    let from_paid = Paid {
        order: OrderRequest { id: 4, amount: 10 },
        hold: 1,
        charge: 2,
    }
    .cancel(&acts, &event)
    .await
    .unwrap();
    assert_eq!(
        from_placed,
        Cancelled {
            order_id: 3,
            reason: "changed my mind (from Placed)".into()
        }
    );
    assert_eq!(from_paid.reason, "changed my mind (from Paid)");
    assert_eq!(from_paid.order_id, 4);
    assert_eq!(acts.calls(), ["cancel", "cancel"]);
}

#[test]
fn the_state_enum_converts_both_ways_and_hands_back_a_wrong_state() {
    let state = order::State::from(placed(5, 1));
    assert_eq!(state.name(), "Placed");
    assert!(!state.is_final());
    assert_eq!(state.index(), 0);
    let wrong: WrongState<order::State> = Paid::try_from(state.clone()).unwrap_err();
    assert_eq!(wrong.to_string(), "expected state `Paid`, found `Placed`");
    assert_eq!(wrong.into_state(), state);
    assert_eq!(Placed::try_from(state).unwrap(), placed(5, 1));
    let shipped = order::State::from(Shipped {
        order: OrderRequest { id: 1, amount: 1 },
        tracking: "T".into(),
    });
    assert!(shipped.is_final());
    assert!(FlowState::is_final(&shipped));
}

#[test]
fn states_and_the_state_enum_round_trip_through_serde() {
    let state = order::State::from(Reserved {
        order: OrderRequest { id: 6, amount: 7 },
        hold: 8,
    });
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(
        json,
        r#"{"Reserved":{"order":{"id":6,"amount":7},"hold":8}}"#
    );
    assert_eq!(serde_json::from_str::<order::State>(&json).unwrap(), state);
}

#[test]
fn the_event_enum_wraps_every_event_type() {
    let event = order::Event::from(CancelRequested { reason: "r".into() });
    assert_eq!(event.name(), "CancelRequested");
    assert_eq!(event.index(), 0);
}

#[test]
fn the_definition_describes_states_triggers_policies_and_undos() {
    let def = &order::DEFINITION;
    assert_eq!(def.name(), "Order");
    let names: Vec<_> = def
        .states()
        .iter()
        .map(workflow_core::StateDef::name)
        .collect();
    assert_eq!(
        names,
        ["Placed", "Reserved", "Paid", "Shipped", "Cancelled"]
    );
    assert_eq!(def.initial().name(), "Placed");
    assert_eq!(def.states()[3].kind(), StateKind::Final);
    let fields: Vec<_> = def.states()[1]
        .fields()
        .iter()
        .map(|f| (f.name(), f.ty()))
        .collect();
    assert_eq!(fields, [("order", "OrderRequest"), ("hold", "u32")]);

    let reserved = def.state_index("Reserved").unwrap();
    let pay = def.transition_index("pay").unwrap();
    let expire = def.transition_index("expire").unwrap();
    let cancel = def.transition_index("cancel").unwrap();
    assert_eq!(def.automatic(reserved), Some(pay));
    assert_eq!(
        def.timer(reserved),
        Some((expire, std::time::Duration::from_mins(15).into()))
    );
    assert_eq!(def.on_event(reserved, 0), Some(cancel));
    assert_eq!(def.on_event(def.state_index("Shipped").unwrap(), 0), None);

    let pay_def = &def.transitions()[pay];
    assert_eq!(
        pay_def.retry(),
        Some(RetryPolicy::new(
            3,
            std::time::Duration::from_millis(100),
            std::time::Duration::from_secs(2),
            false
        ))
    );
    assert_eq!(
        pay_def.timeout(),
        Some(std::time::Duration::from_secs(30).into())
    );
    assert_eq!(
        def.transitions()[cancel].trigger(),
        Trigger::On { event: 0 }
    );
    assert!(def.transitions()[cancel].compensate());
    assert_eq!(def.transitions()[cancel].sources(), [0, 1, 2]);

    let release = def
        .undo_for(def.transition_index("reserve").unwrap(), reserved)
        .unwrap();
    assert_eq!(def.undos()[release].name(), "release");
    assert_eq!(
        def.undo_for(def.transition_index("reserve").unwrap(), 4),
        None
    );
    assert_eq!(def.events()[0].name(), "CancelRequested");
}

#[tokio::test]
async fn dispatch_runs_any_transition_and_undo_by_index() {
    let acts = Fakes::default();
    let ctx = StepCtx::new(InstanceId::new("o-1"), "reserve", 2, "o-1/1/reserve");
    let state = order::State::from(placed(1, 5));
    let next = <order::Flow as Dispatch<Fakes>>::run_transition(&acts, 0, &state, None, &ctx)
        .await
        .unwrap();
    assert_eq!(next.name(), "Reserved");
    let undo = <order::Flow as Dispatch<Fakes>>::run_undo(&acts, 0, &next, &ctx).await;
    assert_eq!(undo, Ok(()));

    let event = order::Event::from(CancelRequested {
        reason: "why not".into(),
    });
    let cancel = order::DEFINITION.transition_index("cancel").unwrap();
    let cancelled =
        <order::Flow as Dispatch<Fakes>>::run_transition(&acts, cancel, &next, Some(&event), &ctx)
            .await
            .unwrap();
    assert_eq!(cancelled.name(), "Cancelled");
    assert_eq!(
        acts.contexts(),
        [
            "reserve attempt 2 key o-1/1/reserve",
            "release attempt 2 key o-1/1/reserve",
            "cancel attempt 2 key o-1/1/reserve"
        ]
    );
}

#[tokio::test]
async fn dispatch_refuses_a_step_that_does_not_fit_and_runs_nothing() {
    let acts = Fakes::default();
    let ctx = StepCtx::local("ship");
    let state = order::State::from(placed(1, 5));
    let ship = order::DEFINITION.transition_index("ship").unwrap();
    let refused =
        <order::Flow as Dispatch<Fakes>>::run_transition(&acts, ship, &state, None, &ctx).await;
    assert_eq!(
        refused,
        Err(DispatchError::Mismatch(Mismatch {
            step: "ship",
            state: "Placed",
            event: None
        }))
    );
    let cancel = order::DEFINITION.transition_index("cancel").unwrap();
    let no_event =
        <order::Flow as Dispatch<Fakes>>::run_transition(&acts, cancel, &state, None, &ctx).await;
    assert_eq!(
        no_event,
        Err(DispatchError::Mismatch(Mismatch {
            step: "cancel",
            state: "Placed",
            event: None
        }))
    );
    let undo = <order::Flow as Dispatch<Fakes>>::run_undo(&acts, 1, &state, &ctx).await;
    assert_eq!(
        undo,
        Err(DispatchError::Mismatch(Mismatch {
            step: "refund",
            state: "Placed",
            event: None
        }))
    );
    assert!(acts.calls().is_empty());
}

mod changed {
    use super::{CancelRequested, OrderRequest};
    use workflow_core::workflow;

    workflow! {
        /// The same order flow with different policies: same graph, same fingerprint.
        pub Order {
            initial Placed    { order: OrderRequest }
            state   Reserved  { order: OrderRequest, hold: u32 }
            state   Paid      { order: OrderRequest, hold: u32, charge: u32 }
            final   Shipped   { order: OrderRequest, tracking: String }
            final   Cancelled { order_id: u32, reason: String }

            reserve: Placed   -> Reserved undo release | Cancelled;
            pay:     Reserved -> Paid undo refund, retry(5, 1s..1min, jitter), timeout(1min);
            ship:    Paid     -> Shipped;
            cancel:  Placed | Reserved | Paid -> Cancelled, on CancelRequested, compensate;
            expire:  Reserved -> Cancelled, after(1h), compensate;
        }
    }

    workflow! {
        /// The order flow with one more transition: a different graph.
        pub OrderWithRefusal {
            initial Placed    { order: OrderRequest }
            state   Reserved  { order: OrderRequest, hold: u32 }
            state   Paid      { order: OrderRequest, hold: u32, charge: u32 }
            final   Shipped   { order: OrderRequest, tracking: String }
            final   Cancelled { order_id: u32, reason: String }

            reserve: Placed   -> Reserved undo release | Cancelled;
            pay:     Reserved -> Paid undo refund | Cancelled;
            ship:    Paid     -> Shipped;
            cancel:  Placed | Reserved | Paid -> Cancelled, on CancelRequested, compensate;
            expire:  Reserved -> Cancelled, after(15min), compensate;
        }
    }
}

#[test]
fn the_fingerprint_follows_the_graph_not_the_policies() {
    let original = order::DEFINITION.fingerprint();
    assert_eq!(changed::order::DEFINITION.fingerprint(), original);
    assert_ne!(
        changed::order_with_refusal::DEFINITION.fingerprint(),
        original
    );
    assert_eq!(original.to_string().len(), 16);
}

#[test]
fn the_diagram_shows_every_edge_with_its_trigger_and_undo() {
    assert_eq!(
        order::MERMAID,
        "stateDiagram-v2
    [*] --> Placed
    Placed --> Reserved: reserve, undo release
    Placed --> Cancelled: reserve
    Reserved --> Paid: pay, undo refund
    Paid --> Shipped: ship
    Placed --> Cancelled: cancel on CancelRequested, compensate
    Reserved --> Cancelled: cancel on CancelRequested, compensate
    Paid --> Cancelled: cancel on CancelRequested, compensate
    Reserved --> Cancelled: expire after 15min, compensate
    Shipped --> [*]
    Cancelled --> [*]
"
    );
}

#[test]
fn a_direct_typestate_call_has_no_idempotency_key() {
    let ctx = StepCtx::local("pay");
    assert_eq!(ctx.attempt(), 1);
    assert_eq!(ctx.step(), "pay");
    assert_eq!(ctx.instance().as_str(), "local");
    assert_eq!(ctx.idempotency_key(), None);
}
