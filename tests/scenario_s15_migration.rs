//! Scenario S15, orders moved to a new version, on SQLite: version 2 of S1 adds a fraud check
//! between `InStock` and `Paid`. Running v1 orders are migrated through a typed mapping; the
//! ones it keeps, and one it refuses, finish on v1, hosted beside v2 on the same store.

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;
#[path = "../examples/order/v2.rs"]
mod v2_flow;

use std::sync::Arc;
use std::time::Duration;

use shop::{Shop, ShopError, order, request};
use tokio::sync::Notify;
use v2_flow::{to_v2, v2};
use workflow_core::prelude::*;
use workflow_core::runtime::{
    Client, Host, Mapped, MigrateError, Migration, Outcome, RuntimeError,
};
use workflow_core::store::{RecordKind, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault};

/// The v1 shop, except that the step `stall` of product `product` acts and then never
/// answers: the process is stopped while it runs.
struct StallingShop {
    shop: Shop,
    stalls: Vec<(&'static str, &'static str)>,
    stalled: Arc<Notify>,
}

impl StallingShop {
    async fn maybe_stall(&self, product: &str, ctx: &StepCtx) {
        if self.stalls.contains(&(product, ctx.step())) {
            self.stalled.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

impl order::Activities for StallingShop {
    type Error = ShopError;

    async fn check_inventory(
        &self,
        from: &order::Placed,
        ctx: &StepCtx,
    ) -> Result<order::CheckInventoryTo, ShopError> {
        self.shop.check_inventory(from, ctx).await
    }
    async fn release_hold(&self, state: &order::InStock, ctx: &StepCtx) -> Result<(), ShopError> {
        self.shop.release_hold(state, ctx).await
    }
    async fn pay(&self, from: &order::InStock, ctx: &StepCtx) -> Result<order::Paid, ShopError> {
        let paid = self.shop.pay(from, ctx).await;
        self.maybe_stall(&from.order.product, ctx).await;
        paid
    }
    async fn refund(&self, state: &order::Paid, ctx: &StepCtx) -> Result<(), ShopError> {
        self.shop.refund(state, ctx).await
    }
    async fn reserve_stock(
        &self,
        from: &order::Paid,
        ctx: &StepCtx,
    ) -> Result<order::Reserved, ShopError> {
        let reserved = self.shop.reserve_stock(from, ctx).await;
        self.maybe_stall(&from.order.product, ctx).await;
        reserved
    }
    async fn unreserve_stock(
        &self,
        state: &order::Reserved,
        ctx: &StepCtx,
    ) -> Result<(), ShopError> {
        self.shop.unreserve_stock(state, ctx).await
    }
    async fn create_shipping_note(
        &self,
        from: &order::Reserved,
        ctx: &StepCtx,
    ) -> Result<order::Shipped, ShopError> {
        self.shop.create_shipping_note(from, ctx).await
    }
}

/// The v2 shop: the v1 services, and a fraud check that stops product `stolen-card`.
struct ShopV2(CallLog);

impl v2::order::Activities for ShopV2 {
    type Error = Fault;

    async fn check_inventory(
        &self,
        from: &v2::order::Placed,
        ctx: &StepCtx,
    ) -> Result<v2::order::CheckInventoryTo, Fault> {
        self.0.call(ctx)?;
        Ok(v2::order::InStock {
            order: from.order.clone(),
            hold: format!("hold-v2-{}", from.order.id),
        }
        .into())
    }
    async fn release_hold(&self, _: &v2::order::InStock, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
    async fn fraud_check(
        &self,
        from: &v2::order::InStock,
        ctx: &StepCtx,
    ) -> Result<v2::order::FraudCheckTo, Fault> {
        self.0.call(ctx)?;
        if from.order.product == "stolen-card" {
            return Ok(v2::order::Cancelled {
                order_id: from.order.id.clone(),
                reason: "fraud".into(),
            }
            .into());
        }
        Ok(v2::order::Screened {
            order: from.order.clone(),
            hold: from.hold.clone(),
        }
        .into())
    }
    async fn pay(
        &self,
        from: &v2::order::Screened,
        ctx: &StepCtx,
    ) -> Result<v2::order::Paid, Fault> {
        self.0.call(ctx)?;
        Ok(v2::order::Paid {
            order: from.order.clone(),
            hold: from.hold.clone(),
            charge: format!("charge-v2-{}", from.order.id),
        })
    }
    async fn refund(&self, _: &v2::order::Paid, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
    async fn reserve_stock(
        &self,
        from: &v2::order::Paid,
        ctx: &StepCtx,
    ) -> Result<v2::order::Reserved, Fault> {
        self.0.call(ctx)?;
        Ok(v2::order::Reserved {
            order: from.order.clone(),
            charge: from.charge.clone(),
            reservation: format!("reservation-v2-{}", from.order.id),
        })
    }
    async fn unreserve_stock(&self, _: &v2::order::Reserved, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }
    async fn create_shipping_note(
        &self,
        from: &v2::order::Reserved,
        ctx: &StepCtx,
    ) -> Result<v2::order::Shipped, Fault> {
        self.0.call(ctx)?;
        Ok(v2::order::Shipped {
            order: from.order.clone(),
            tracking: format!("TRACK-v2-{}", from.order.id),
        })
    }
}

fn in_stock(id: &str, product: &str) -> order::InStock {
    order::InStock {
        order: request(id, product, 1, 10_000).order,
        hold: format!("hold-v1-{id}"),
    }
}

fn reserved(id: &str) -> order::Reserved {
    order::Reserved {
        order: request(id, "lamp", 1, 10_000).order,
        charge: format!("charge-v1-{id}"),
        reservation: format!("reservation-v1-{id}"),
    }
}

/// The orders of the scenario, as v1 left them when its workers stopped.
async fn v1_orders(store: &Arc<dyn Store>) -> CallLog {
    // Two orders a v1 worker was in the middle of when it stopped: one paying (the card was
    // charged, the answer never came), one reserving stock after its payment.
    let log = CallLog::new();
    let stalled = Arc::new(Notify::new());
    let shop = StallingShop {
        shop: Shop::new(log.clone()),
        stalls: vec![("slow-card", "pay"), ("slow-warehouse", "reserve_stock")],
        stalled: Arc::clone(&stalled),
    };
    let host = Host::builder()
        .store(Arc::clone(store))
        .flow(order::Flow, shop)
        .build();
    let v1 = host.client::<order::Flow>();
    for (id, product) in [("paying", "slow-card"), ("reserving", "slow-warehouse")] {
        v1.start_with_id(id, request(id, product, 1, 10_000))
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(30), stalled.notified())
            .await
            .expect("the step starts");
    }
    host.shutdown().await;

    // Orders stored by v1 and waiting for a worker: placed, in stock, reserved.
    let v1 = Client::<order::Flow>::new(Arc::clone(store));
    v1.start_with_id("placed", request("placed", "lamp", 1, 10_000))
        .await
        .unwrap();
    for (id, product) in [("in-stock", "lamp"), ("in-stock-fraud", "stolen-card")] {
        v1.start_with_id(id, in_stock(id, product)).await.unwrap();
    }
    v1.start_with_id("reserved", reserved("reserved"))
        .await
        .unwrap();
    log
}

/// Migrates the scenario's orders: four moved, the reserved one kept, the one paying
/// refused with nothing of it changed, each move in its history.
async fn migrate_and_check(store: &Arc<dyn Store>) {
    let paying_before = store.load("Order", &"paying".into()).await.unwrap();
    let paying_history = store.history("Order", &"paying".into()).await.unwrap();

    let migration = Migration::<order::Flow, v2::order::Flow, _>::new(Arc::clone(store), to_v2);
    let report = migration.all().await.unwrap();
    let mut moved: Vec<&str> = report.moved.iter().map(InstanceId::as_str).collect();
    moved.sort_unstable();
    assert_eq!(moved, ["in-stock", "in-stock-fraud", "placed", "reserving"]);
    assert_eq!(report.kept, [InstanceId::new("reserved")]);
    let [refused] = report.refused.as_slice() else {
        panic!("{:?}", report.refused)
    };
    // The payment may have gone through: not dropped, not carried to a state `pay` does not
    // leave in v2.
    let MigrateError::StepInProgress { id, step, from, to } = refused else {
        panic!("{refused}")
    };
    assert_eq!(
        (id.as_str(), step.as_str(), from.as_str(), *to),
        ("paying", "pay", "InStock", "InStock")
    );
    assert!(
        refused
            .to_string()
            .contains("let it finish on the old definition")
    );
    // Refused: nothing of it changed.
    assert_eq!(
        store.load("Order", &"paying".into()).await.unwrap(),
        paying_before
    );
    assert_eq!(
        store.history("Order", &"paying".into()).await.unwrap(),
        paying_history
    );
    // Each move is in the history, with the state it came from.
    let history = store.history("Order", &"reserving".into()).await.unwrap();
    let last = history.last().unwrap();
    assert!(
        matches!(&last.kind, RecordKind::Migrated { from_state, .. } if from_state == "Paid"),
        "{last:?}"
    );
    // A second run finds nothing more to move.
    let again = migration.all().await.unwrap();
    assert!(again.moved.is_empty(), "{again:?}");
}

#[tokio::test]
async fn v1_orders_move_to_v2_as_mapped_and_the_rest_finish_on_v1_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("orders.db")).unwrap());
    let v1_log = v1_orders(&store).await;
    migrate_and_check(&store).await;

    // v2 and v1 hosted side by side on the store.
    let v2_log = CallLog::new();
    let v2_host = Host::builder()
        .store(Arc::clone(&store))
        .flow(v2::order::Flow, ShopV2(v2_log.clone()))
        .build();
    let v1_host = Host::builder()
        .store(Arc::clone(&store))
        .flow(order::Flow, Shop::new(v1_log.clone()))
        .build();
    v2_host.resume().await.unwrap();
    v1_host.resume().await.unwrap();
    let v2 = v2_host.client::<v2::order::Flow>();
    let v1 = v1_host.client::<order::Flow>();
    let ends = Duration::from_secs(30);

    // Migrated orders waiting in InStock (and the one placed) get the fraud check.
    for id in ["placed", "in-stock"] {
        let end = tokio::time::timeout(ends, v2.outcome(&id.into()))
            .await
            .unwrap();
        let Ok(Outcome::Completed(v2::order::State::Shipped(shipped))) = end else {
            panic!("{id}: {end:?}")
        };
        assert_eq!(shipped.tracking, format!("TRACK-v2-{id}"));
    }
    let end = tokio::time::timeout(ends, v2.outcome(&"in-stock-fraud".into()))
        .await
        .unwrap();
    assert!(
        matches!(end, Ok(Outcome::Completed(v2::order::State::Cancelled(ref c))) if c.reason == "fraud"),
        "{end:?}"
    );
    // The order migrated mid-reservation had paid: no fraud check; its reservation is made
    // again under the key of the one cut short, and its chain was carried: it ships.
    let end = tokio::time::timeout(ends, v2.outcome(&"reserving".into()))
        .await
        .unwrap();
    assert!(
        matches!(end, Ok(Outcome::Completed(v2::order::State::Shipped(_)))),
        "{end:?}"
    );
    let key_of = |log: &CallLog, step: &str, id: &str| {
        log.calls()
            .into_iter()
            .find(|c| c.step == step && c.key.as_deref().is_some_and(|k| k.starts_with(id)))
            .and_then(|c| c.key)
    };
    assert_eq!(
        key_of(&v2_log, "reserve_stock", "reserving"),
        key_of(&v1_log, "reserve_stock", "reserving")
    );
    let fraud_checked: Vec<String> = v2_log
        .calls()
        .into_iter()
        .filter(|c| c.step == "fraud_check")
        .filter_map(|c| c.key)
        .map(|k| k.split('/').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(fraud_checked.len(), 3, "{fraud_checked:?}");

    // The orders left on v1 finish there, with no fraud check: the refused one pays again
    // under its key (the charge it made is the one it gets), the kept one ships.
    for id in ["paying", "reserved"] {
        let end = tokio::time::timeout(ends, v1.outcome(&id.into()))
            .await
            .unwrap();
        assert!(
            matches!(end, Ok(Outcome::Completed(order::State::Shipped(_)))),
            "{id}: {end:?}"
        );
    }
    assert_eq!(
        v1_log
            .calls()
            .iter()
            .filter(|c| c.step == "pay" && c.key.as_deref().is_some_and(|k| k.starts_with("paying")))
            .map(|c| c.key.clone())
            .collect::<std::collections::HashSet<_>>()
            .len(),
        1,
        "one payment key for the refused order"
    );
    v2_host.shutdown().await;
    v1_host.shutdown().await;
}

/// A mapping may not end an instance, and an undo whose state the mapping keeps on v1 cannot
/// be carried: both refused with what to do, nothing changed.
#[tokio::test]
async fn a_mapping_that_cannot_carry_an_instance_refuses_it_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("orders.db")).unwrap());
    let v1 = Client::<order::Flow>::new(Arc::clone(&store));
    v1.start_with_id("placed", request("placed", "lamp", 1, 10_000))
        .await
        .unwrap();
    let before = store.load("Order", &"placed".into()).await.unwrap();
    let ending = Migration::<order::Flow, v2::order::Flow, _>::new(Arc::clone(&store), |_| {
        Mapped::To(
            v2::order::Cancelled {
                order_id: "placed".into(),
                reason: "migrated".into(),
            }
            .into(),
        )
    });
    let refused = ending.instance(&"placed".into()).await.unwrap_err();
    assert!(
        matches!(&refused, MigrateError::ToFinal { to, .. } if *to == "Cancelled"),
        "{refused}"
    );
    assert_eq!(store.load("Order", &"placed".into()).await.unwrap(), before);
    // Migrated once, an instance is on v2: the v1 client no longer drives it.
    let moved = Migration::<order::Flow, v2::order::Flow, _>::new(Arc::clone(&store), to_v2);
    moved.instance(&"placed".into()).await.unwrap();
    let v2 = Client::<v2::order::Flow>::new(Arc::clone(&store));
    assert_eq!(v2.state(&"placed".into()).await.unwrap().name(), "Placed");
    let v1_says = v1.outcome(&"placed".into()).await;
    assert!(
        matches!(v1_says, Err(RuntimeError::DefinitionChanged { .. })),
        "{v1_says:?}"
    );
}
