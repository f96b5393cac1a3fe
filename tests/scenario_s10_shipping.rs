//! Scenario S10, shipping by data: a packed parcel goes Express when it weighs under 2 kg and
//! stays in the country, else Freight, chosen by a guard (a pure function of the state) with
//! no activity call; the history says which branch was taken, in the transition's own record.

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::RecordKind;
use workflow_core::store::SqliteStore;
use workflow_core::testing::{CallLog, Fault};

workflow! {
    /// Scenario S10: a choice made by a guard.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Shipping {
        initial Packed  { parcel: String, grams: u32, domestic: bool }
        state   Express { parcel: String }
        state   Freight { parcel: String, grams: u32 }
        final   Shipped { parcel: String, carrier: String }

        route:        Packed -> Express | Freight, guard(by_weight);
        send_express: Express -> Shipped;
        send_freight: Freight -> Shipped;
    }
}

use shipping::{Express, Freight, Packed, RouteTo, Shipped};

workflow! {
    /// The same flow with the choice made by an activity, to compare what each writes.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub ShippingByActivity {
        initial Packed  { parcel: String, grams: u32, domestic: bool }
        state   Express { parcel: String }
        state   Freight { parcel: String, grams: u32 }
        final   Shipped { parcel: String, carrier: String }

        route:        Packed -> Express | Freight;
        send_express: Express -> Shipped;
        send_freight: Freight -> Shipped;
    }
}

/// Routes with an activity, as the guard does.
#[derive(Debug, Default)]
pub struct Router;

impl shipping_by_activity::Activities for Router {
    type Error = Fault;

    async fn route(
        &self,
        from: &shipping_by_activity::Packed,
        _: &StepCtx,
    ) -> Result<shipping_by_activity::RouteTo, Fault> {
        Ok(shipping_by_activity::Express {
            parcel: from.parcel.clone(),
        }
        .into())
    }

    async fn send_express(
        &self,
        from: &shipping_by_activity::Express,
        _: &StepCtx,
    ) -> Result<shipping_by_activity::Shipped, Fault> {
        Ok(shipping_by_activity::Shipped {
            parcel: from.parcel.clone(),
            carrier: "courier".into(),
        })
    }

    async fn send_freight(
        &self,
        from: &shipping_by_activity::Freight,
        _: &StepCtx,
    ) -> Result<shipping_by_activity::Shipped, Fault> {
        Ok(shipping_by_activity::Shipped {
            parcel: from.parcel.clone(),
            carrier: "freight".into(),
        })
    }
}

/// Express for a light parcel that stays in the country; freight for the rest.
fn by_weight(packed: &Packed) -> RouteTo {
    if packed.grams < 2_000 && packed.domestic {
        RouteTo::Express(Express {
            parcel: packed.parcel.clone(),
        })
    } else {
        RouteTo::Freight(Freight {
            parcel: packed.parcel.clone(),
            grams: packed.grams,
        })
    }
}

#[derive(Debug, Default)]
pub struct Carriers {
    pub log: CallLog,
}

impl shipping::Activities for Carriers {
    type Error = Fault;

    async fn send_express(&self, from: &Express, ctx: &StepCtx) -> Result<Shipped, Fault> {
        self.log.call(ctx)?;
        Ok(Shipped {
            parcel: from.parcel.clone(),
            carrier: "courier".into(),
        })
    }

    async fn send_freight(&self, from: &Freight, ctx: &StepCtx) -> Result<Shipped, Fault> {
        self.log.call(ctx)?;
        Ok(Shipped {
            parcel: from.parcel.clone(),
            carrier: "freight".into(),
        })
    }
}

fn packed(grams: u32, domestic: bool) -> Packed {
    Packed {
        parcel: format!("parcel-{grams}-{domestic}"),
        grams,
        domestic,
    }
}

async fn ship(parcel: Packed) -> (String, Vec<String>, Vec<String>) {
    let runtime = Runtime::<shipping::Flow, _>::new(Carriers::default());
    let id = runtime.start(parcel).await.unwrap();
    let Outcome::Completed(shipping::State::Shipped(shipped)) = runtime.outcome(&id).await.unwrap()
    else {
        panic!("shipped")
    };
    let history = runtime
        .history(&id)
        .await
        .unwrap()
        .iter()
        .map(|r| match &r.kind {
            RecordKind::Started => format!("started in {}", r.state_name),
            RecordKind::Decided { transition, branch } => format!("{transition} chose {branch}"),
            RecordKind::Transition { transition, .. } => {
                format!("{transition} -> {}", r.state_name)
            }
            other => format!("{other:?}"),
        })
        .collect();
    (shipped.carrier, history, runtime.activities().log.steps())
}

#[tokio::test(start_paused = true)]
async fn a_light_domestic_parcel_goes_express_with_no_activity_for_the_choice() {
    let (carrier, history, steps) = ship(packed(1_500, true)).await;
    assert_eq!(carrier, "courier");
    assert_eq!(
        history,
        [
            "started in Packed",
            "route chose Express",
            "send_express -> Shipped"
        ],
        "the decision is one record, the transition's own"
    );
    assert_eq!(steps, ["send_express"], "no activity call for `route`");
}

#[tokio::test(start_paused = true)]
async fn a_heavy_or_foreign_parcel_goes_by_freight() {
    for parcel in [packed(2_000, true), packed(500, false)] {
        let (carrier, history, steps) = ship(parcel).await;
        assert_eq!(carrier, "freight");
        assert_eq!(history[1], "route chose Freight");
        assert_eq!(steps, ["send_freight"]);
    }
}

#[test]
fn the_typestate_guard_is_a_plain_function_call() {
    let RouteTo::Express(express) = packed(10, true).route() else {
        panic!("express")
    };
    assert_eq!(express.parcel, "parcel-10-true");
    let def = &shipping::DEFINITION;
    let route = def.transition_index("route").unwrap();
    assert!(def.transitions()[route].is_guarded());
    assert!(shipping::MERMAID.contains("Packed --> Express: route [by_weight]"));
}

/// The writes to SQLite of one light parcel shipped, with the choice made by `route`.
async fn sqlite_writes<W, A>(activities: A, initial: W::State) -> (u64, usize)
where
    W: workflow_core::runtime::Runnable<A>,
    A: Send + Sync + 'static,
{
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(SqliteStore::open(dir.path().join("s10.db")).unwrap());
    let runtime = Runtime::<W, A>::with_store(activities, store.clone());
    let Ok(id) = runtime.start(initial).await else {
        panic!("started")
    };
    let outcome = runtime.outcome(&id).await.unwrap();
    assert!(matches!(outcome, Outcome::Completed(_)));
    let records = runtime.history(&id).await.unwrap().len();
    runtime.shutdown().await;
    (store.stats().writes, records)
}

#[tokio::test(start_paused = true)]
async fn a_guard_decision_writes_nothing_beyond_the_transitions_own_record() {
    let guarded =
        sqlite_writes::<shipping::Flow, _>(Carriers::default(), packed(1_500, true).into()).await;
    let by_activity = sqlite_writes::<shipping_by_activity::Flow, _>(
        Router,
        shipping_by_activity::Packed {
            parcel: "p".into(),
            grams: 1_500,
            domestic: true,
        }
        .into(),
    )
    .await;
    // The instance's creation, the decision's record, the last step's record.
    assert_eq!(guarded, (3, 3), "(writes, records)");
    assert_eq!(
        guarded, by_activity,
        "(writes, records) with a guard and with an activity making the same choice"
    );
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_each_route_ships_the_same_with_each_call_once() {
    use workflow_core::testing::crash_check;

    // The guard's choice is a record of its own, decided again from the stored state after
    // a crash: the same route every time.
    for (grams, domestic) in [(400, true), (40_000, false)] {
        let checked =
            crash_check::<shipping::Flow, _>(packed(grams, domestic), |log| Carriers { log })
                .await
                .unwrap();
        // Created; the guard's decision; the carrier's step.
        assert_eq!((checked.writes, checked.points), (3, 2));
    }
}
