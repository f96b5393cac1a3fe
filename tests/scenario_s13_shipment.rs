//! Scenario S13, an order with a shipment child flow: the order's `ship` step starts a
//! Shipment instance (pick, pack, then hand over after its own timer) exactly once, waits for
//! it without holding a worker, and lands from the shipment's final state. Cancelling the
//! order cancels the shipment, which compensates its own steps. A shipment that fails fails
//! the order's step. Killed after the child started, the resumed parent starts no second
//! child and carries on when the child ends. A later step of the order that fails
//! compensates the completed shipment (held in its final state for the order until the
//! order ends), then the order's own steps. Run in virtual time, in memory and on SQLite;
//! and in real time on PostgreSQL, where the parent's host is stopped while the child waits
//! and another host, on another connection, resumes it and cancels it.

#[path = "support/postgres.rs"]
mod pg_server;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Host, Outcome};
use workflow_core::store::{
    MemoryStore, PostgresStore, RecordKind, SqliteStore, Status, Store, Work,
};
use workflow_core::testing::{CallLog, Fault, crash_check_host};
use workflow_core::{Entry, FailureKind};

workflow! {
    /// The shipment of one order: picked, packed, then handed to the courier an hour later.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Shipment {
        initial Picking    { order: u32, lines: u32 }
        state   Picked     { order: u32, lines: u32 }
        state   Packed     { order: u32, parcel: u32, courier_in: Duration }
        final   HandedOver { order: u32, parcel: u32, tracking: String }

        pick:      Picking -> Picked undo restock;
        pack:      Picked  -> Packed undo unpack;
        /// The courier comes `courier_in` after the packing (an hour, as the warehouse says).
        hand_over: Packed  -> HandedOver, after(courier_in);
    }
}

workflow! {
    /// Scenario S13: pay, ship through a Shipment child flow, then invoice.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Order {
        initial Placed   { order: u32, lines: u32 }
        state   Paid     { order: u32, lines: u32, charge: u32, ship_within: Duration }
        state   Shipped  { order: u32, tracking: String }
        final   Invoiced { order: u32, tracking: String }

        pay:     Placed -> Paid undo refund;
        /// The shipment has `ship_within` to be handed over, or it is cancelled.
        ship:    Paid -> Shipped, child(shipment, to_shipment), join(shipped), timeout(ship_within);
        invoice: Shipped -> Invoiced;
    }
}

fn to_shipment(from: &order::Paid) -> shipment::Picking {
    shipment::Picking {
        order: from.order,
        lines: from.lines,
    }
}

fn shipped(from: &order::Paid, child: shipment::State) -> order::Shipped {
    let tracking = match child {
        shipment::State::HandedOver(handed) => handed.tracking,
        other => format!("not handed over: {}", other.name()),
    };
    order::Shipped {
        order: from.order,
        tracking,
    }
}

/// The warehouse and the payment desk: every call logged with its idempotency key.
#[derive(Debug, Clone)]
struct Warehouse {
    calls: Arc<Mutex<Vec<(String, String)>>>,
    failing: Arc<Mutex<Vec<String>>>,
    gate: Arc<Mutex<Option<String>>>,
    ship_within: Arc<Mutex<Duration>>,
    courier_in: Arc<Mutex<Duration>>,
    /// Where the crash checker reads the calls, if it runs the warehouse.
    checked: Option<CallLog>,
}

impl Default for Warehouse {
    fn default() -> Self {
        Self {
            calls: Arc::default(),
            failing: Arc::default(),
            gate: Arc::default(),
            // The courier comes after an hour: a day is plenty.
            ship_within: Arc::new(Mutex::new(Duration::from_hours(24))),
            courier_in: Arc::new(Mutex::new(Duration::from_hours(1))),
            checked: None,
        }
    }
}

impl Warehouse {
    fn failing(self, activity: &str) -> Self {
        self.failing.lock().unwrap().push(activity.into());
        self
    }

    /// Its courier comes `after` the packing.
    fn courier_after(self, after: Duration) -> Self {
        *self.courier_in.lock().unwrap() = after;
        self
    }

    /// The orders it takes payment for give their shipment `within` to be handed over.
    fn shipping_within(self, within: Duration) -> Self {
        *self.ship_within.lock().unwrap() = within;
        self
    }

    /// `activity` waits, before it does anything, until the gate is opened.
    fn gated(self, activity: &str) -> Self {
        *self.gate.lock().unwrap() = Some(activity.into());
        self
    }

    fn open_gate(&self) {
        *self.gate.lock().unwrap() = None;
    }

    async fn pass_gate(&self, activity: &str) {
        // Bounded: an hour of virtual time.
        for _ in 0..3_600 {
            if self.gate.lock().unwrap().as_deref() != Some(activity) {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    fn log(&self, activity: &str, ctx: &StepCtx) -> Result<(), Fault> {
        let key = ctx.idempotency_key().unwrap_or_default().to_string();
        self.calls.lock().unwrap().push((activity.into(), key));
        if let Some(log) = &self.checked {
            // No fault is injected through it: the warehouse injects its own.
            let _ = log.call(ctx);
        }
        if self.failing.lock().unwrap().iter().any(|a| a == activity) {
            return Err(Fault {
                step: activity.into(),
                attempt: ctx.attempt(),
            });
        }
        Ok(())
    }

    fn names(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }

    fn keys(&self, activity: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == activity)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

impl order::Activities for Warehouse {
    type Error = Fault;

    async fn pay(&self, from: &order::Placed, ctx: &StepCtx) -> Result<order::Paid, Fault> {
        self.log("pay", ctx)?;
        Ok(order::Paid {
            order: from.order,
            lines: from.lines,
            charge: 500,
            ship_within: *self.ship_within.lock().unwrap(),
        })
    }

    async fn refund(&self, _: &order::Paid, ctx: &StepCtx) -> Result<(), Fault> {
        self.log("refund", ctx)
    }

    async fn invoice(
        &self,
        from: &order::Shipped,
        ctx: &StepCtx,
    ) -> Result<order::Invoiced, Fault> {
        self.log("invoice", ctx)?;
        Ok(order::Invoiced {
            order: from.order,
            tracking: from.tracking.clone(),
        })
    }
}

impl shipment::Activities for Warehouse {
    type Error = Fault;

    async fn pick(
        &self,
        from: &shipment::Picking,
        ctx: &StepCtx,
    ) -> Result<shipment::Picked, Fault> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.log("pick", ctx)?;
        Ok(shipment::Picked {
            order: from.order,
            lines: from.lines,
        })
    }

    async fn pack(
        &self,
        from: &shipment::Picked,
        ctx: &StepCtx,
    ) -> Result<shipment::Packed, Fault> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.log("pack", ctx)?;
        Ok(shipment::Packed {
            order: from.order,
            parcel: from.lines * 10,
            courier_in: *self.courier_in.lock().unwrap(),
        })
    }

    async fn hand_over(
        &self,
        from: &shipment::Packed,
        ctx: &StepCtx,
    ) -> Result<shipment::HandedOver, Fault> {
        self.log("hand_over", ctx)?;
        Ok(shipment::HandedOver {
            order: from.order,
            parcel: from.parcel,
            tracking: format!("TRK-{}-{}", from.order, from.parcel),
        })
    }

    async fn restock(&self, _: &shipment::Picked, ctx: &StepCtx) -> Result<(), Fault> {
        self.log("restock", ctx)
    }

    async fn unpack(&self, _: &shipment::Packed, ctx: &StepCtx) -> Result<(), Fault> {
        self.pass_gate("unpack").await;
        self.log("unpack", ctx)
    }
}

fn host(store: Arc<dyn Store>, warehouse: &Warehouse) -> Host {
    Host::builder()
        .store(store)
        .flow(order::Flow, warehouse.clone())
        .flow(shipment::Flow, warehouse.clone())
        .build()
}

fn placed() -> order::Placed {
    order::Placed { order: 7, lines: 3 }
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).unwrap())
}

/// The one shipment instance in the store, and its status.
async fn the_shipment(store: &Arc<dyn Store>) -> (InstanceId, Status) {
    let shipments = store.list("Shipment").await.unwrap();
    assert_eq!(shipments.len(), 1, "exactly one child: {shipments:?}");
    (shipments[0].id.clone(), shipments[0].status)
}

/// Order `order-7` run in memory to its failure: the store, the host, the failure and the
/// report.
async fn failed_order(
    warehouse: &Warehouse,
) -> (
    Arc<dyn Store>,
    Host,
    workflow_core::Failure,
    workflow_core::Report<workflow_core::Failure>,
) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = host(Arc::clone(&store), warehouse);
    let orders = host.client::<order::Flow>();
    let id = orders.start_with_id("order-7", placed()).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = orders.outcome(&id).await.unwrap()
    else {
        panic!("the order fails")
    };
    (store, host, failure, report)
}

/// The order's report when its invoice fails: the shipment, then the payment.
const UNDONE_AFTER_INVOICE: [Entry<workflow_core::Failure>; 2] = [
    Entry::Undone { undo: "ship" },
    Entry::Undone { undo: "refund" },
];

/// Every call when the invoice fails: the shipment's undos before the payment's.
const CALLS_UNTIL_REFUND: [&str; 8] = [
    "pay",
    "pick",
    "pack",
    "hand_over",
    "invoice",
    "unpack",
    "restock",
    "refund",
];

/// The status the one shipment ends with (released or compensated after its parent).
async fn the_shipment_ended(store: &Arc<dyn Store>) -> Status {
    let mut status = Status::Running;
    until(async || {
        status = the_shipment(store).await.1;
        status.is_finished()
    })
    .await;
    status
}

/// Waits, in virtual time, until `done` holds; at most 10,000 turns of a second (the
/// shipment's courier comes after an hour).
async fn until(mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..10_000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("not reached in 10,000 s of virtual time");
}

#[tokio::test(start_paused = true)]
async fn the_order_waits_for_its_shipment_and_lands_from_its_final_state() {
    let warehouse = Warehouse::default();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = host(Arc::clone(&store), &warehouse);
    let orders = host.client::<order::Flow>();
    let id = orders.start_with_id("order-7", placed()).await.unwrap();
    let started = tokio::time::Instant::now();
    let outcome = orders.outcome(&id).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Completed(order::State::Invoiced(order::Invoiced {
            order: 7,
            tracking: "TRK-7-30".into()
        }))
    );
    assert!(
        started.elapsed() >= Duration::from_hours(1),
        "the order waited for the shipment's own hour"
    );
    assert_eq!(
        warehouse.names(),
        ["pay", "pick", "pack", "hand_over", "invoice"]
    );
    // The child's id is the parent's step key: derived from the parent and the step.
    let (child, _) = the_shipment(&store).await;
    assert_eq!(child.as_str(), "order-7/2/ship");
    // Held for the order until it ended, then released: completed, never compensated.
    assert_eq!(the_shipment_ended(&store).await, Status::Completed);
    let shipment_history = store.history("Shipment", &child).await.unwrap();
    assert!(matches!(
        shipment_history.last().map(|r| &r.kind),
        Some(RecordKind::Ended {
            status: Status::Completed
        })
    ));
    let snapshot = store.load("Shipment", &child).await.unwrap().unwrap();
    let parent = snapshot.parent.expect("the child names its parent");
    assert_eq!((&*parent.flow, parent.id.as_str()), ("Order", "order-7"));
    // The child's activities get keys of their own instance.
    assert!(warehouse.keys("pick")[0].starts_with("order-7/2/ship/"));
    let history = orders.history(&id).await.unwrap();
    let kinds: Vec<_> = history.iter().map(|r| &r.kind).collect();
    assert!(
        kinds.iter().any(|k| matches!(k, RecordKind::ChildStarted { transition, child: c } if transition == "ship" && c == &child)),
        "the parent's history says which child it started: {kinds:?}"
    );
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_order_cancels_the_shipment_which_compensates_itself() {
    let warehouse = Warehouse::default();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let host = host(Arc::clone(&store), &warehouse);
    let orders = host.client::<order::Flow>();
    let shipments = host.client::<shipment::Flow>();
    let id = orders.start_with_id("order-7", placed()).await.unwrap();
    // The shipment is packed and waits for the courier's hour.
    until(async || warehouse.names().len() == 3).await;
    let (child, _) = the_shipment(&store).await;
    orders.cancel(&id).await.unwrap();
    let Outcome::Cancelled { report, .. } = orders.outcome(&id).await.unwrap() else {
        panic!("the order is cancelled")
    };
    assert_eq!(report.entries(), [Entry::Undone { undo: "refund" }]);
    let Outcome::Cancelled { report, .. } = shipments.outcome(&child).await.unwrap() else {
        panic!("the shipment is cancelled")
    };
    assert_eq!(
        report.entries(),
        [
            Entry::Undone { undo: "unpack" },
            Entry::Undone { undo: "restock" }
        ]
    );
    let names = warehouse.names();
    assert_eq!(&names[..3], ["pay", "pick", "pack"]);
    let mut undos = names[3..].to_vec();
    undos.sort();
    assert_eq!(undos, ["refund", "restock", "unpack"], "each undo once");
    assert!(!names.contains(&"hand_over".to_string()));
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_shipment_that_fails_fails_the_orders_step_and_the_order_compensates() {
    let warehouse = Warehouse::default().failing("pack");
    let (store, host, failure, report) = failed_order(&warehouse).await;
    assert_eq!(failure.step(), "ship");
    assert!(failure.is(FailureKind::Child), "{failure:?}");
    assert!(
        failure
            .message()
            .contains("`Shipment` child `order-7/2/ship` failed"),
        "{failure}"
    );
    assert_eq!(report.entries(), [Entry::Undone { undo: "refund" }]);
    assert_eq!(
        warehouse.names(),
        ["pay", "pick", "pack", "restock", "refund"]
    );
    assert_eq!(the_shipment(&store).await.1, Status::Failed);
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_later_step_that_fails_compensates_the_completed_shipment_before_the_orders_own_steps() {
    let warehouse = Warehouse::default().failing("invoice");
    let (store, host, failure, report) = failed_order(&warehouse).await;
    let (orders, shipments) = (
        host.client::<order::Flow>(),
        host.client::<shipment::Flow>(),
    );
    let id = InstanceId::new("order-7");
    assert_eq!(failure.step(), "invoice");
    // The child step is undone as one undo of the order, newest first.
    assert_eq!(report.entries(), UNDONE_AFTER_INVOICE);
    assert_eq!(
        warehouse.names(),
        CALLS_UNTIL_REFUND,
        "the shipment undone before the payment, each undo once"
    );
    let (child, _) = the_shipment(&store).await;
    let Outcome::Cancelled { state, report } = shipments.outcome(&child).await.unwrap() else {
        panic!("the shipment is compensated")
    };
    assert_eq!(state.name(), "HandedOver");
    assert_eq!(
        report.entries(),
        [
            Entry::Undone { undo: "unpack" },
            Entry::Undone { undo: "restock" }
        ]
    );
    let history = orders.history(&id).await.unwrap();
    assert!(
        history
            .iter()
            .any(|r| matches!(&r.kind, RecordKind::Undone { undo, .. } if undo == "ship"))
    );
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn killed_while_it_compensates_the_shipment_the_resumed_order_asks_once_and_waits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite");
    let warehouse = Warehouse::default().failing("invoice").gated("unpack");
    let store = open(&path);
    let first = host(Arc::clone(&store), &warehouse);
    let id = first
        .client::<order::Flow>()
        .start_with_id("order-7", placed())
        .await
        .unwrap();
    // Stopped while the order waits for the shipment to compensate: the shipment's first
    // undo waits at its gate, and is given up with the host.
    until(async || {
        let shipments = store.list("Shipment").await.unwrap();
        let Some(shipment) = shipments.first() else {
            return false;
        };
        let snapshot = store.load("Shipment", &shipment.id).await.unwrap().unwrap();
        matches!(snapshot.work, Some(Work::Compensation(_)))
    })
    .await;
    first.shutdown().await;
    drop(first);
    drop(store);
    assert_eq!(
        warehouse.names(),
        ["pay", "pick", "pack", "hand_over", "invoice"],
        "stopped before the shipment's first undo"
    );

    warehouse.open_gate();
    let store = open(&path);
    let second = host(Arc::clone(&store), &warehouse);
    second.resume().await.unwrap();
    let Outcome::Failed { report, .. } = second.client::<order::Flow>().outcome(&id).await.unwrap()
    else {
        panic!("the order fails")
    };
    assert_eq!(report.entries(), UNDONE_AFTER_INVOICE);
    assert_eq!(
        warehouse.names(),
        CALLS_UNTIL_REFUND,
        "each step and each undo once across the crash"
    );
    assert_eq!(the_shipment_ended(&store).await, Status::Cancelled);
    second.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn killed_after_the_child_started_the_resumed_parent_starts_no_second_child() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.sqlite");
    let warehouse = Warehouse::default();
    let first = host(open(&path), &warehouse);
    let id = first
        .client::<order::Flow>()
        .start_with_id("order-7", placed())
        .await
        .unwrap();
    // Stopped once the shipment is packed and waits for its timer.
    until(async || warehouse.names().len() == 3).await;
    first.shutdown().await;
    drop(first);
    let store = open(&path);
    let history = store.history("Order", &id).await.unwrap();
    assert!(matches!(
        history.last().map(|r| &r.kind),
        Some(RecordKind::ChildStarted { .. })
    ));

    let second = host(Arc::clone(&store), &warehouse);
    second.resume().await.unwrap();
    let outcome = second.client::<order::Flow>().outcome(&id).await.unwrap();
    let Outcome::Completed(order::State::Invoiced(invoiced)) = outcome else {
        panic!("invoiced: {outcome:?}")
    };
    assert_eq!(invoiced.tracking, "TRK-7-30");
    assert_eq!(
        warehouse.names(),
        ["pay", "pick", "pack", "hand_over", "invoice"],
        "no second child, no step twice"
    );
    assert_eq!(the_shipment_ended(&store).await, Status::Completed);
    second.shutdown().await;
}

#[tokio::test]
async fn on_postgres_a_resumed_parent_starts_no_second_child_and_its_cancel_reaches_the_child() {
    let Some(server) = pg_server::Server::shared() else {
        return;
    };
    let db = server.database("s13_child").await;
    let connect = async || {
        let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
        store
    };
    // Real time here (the server answers on its own clock), in bounded loops.
    let warehouse = Warehouse::default();
    let first = host(connect().await, &warehouse);
    let id = first
        .client::<order::Flow>()
        .start_with_id("order-7", placed())
        .await
        .unwrap();
    // Stopped once the shipment is packed and that is written (waiting for its courier): a
    // stop between the packing and its write would rightly pack again, under its key.
    let mut packed = false;
    for _ in 0..1_500 {
        let shipments = first.store().list("Shipment").await.unwrap();
        packed = shipments
            .first()
            .is_some_and(|s| &*s.state_name == "Packed");
        if packed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(packed, "the shipment is packed");
    first.shutdown().await;
    drop(first);

    let store = connect().await;
    let second = host(Arc::clone(&store), &warehouse);
    second.resume().await.unwrap();
    let orders = second.client::<order::Flow>();
    orders.cancel(&id).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), orders.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Cancelled { report, .. } = outcome else {
        panic!("the order is cancelled: {outcome:?}")
    };
    assert_eq!(report.entries(), [Entry::Undone { undo: "refund" }]);
    let (child, _) = the_shipment(&store).await;
    let shipments = second.client::<shipment::Flow>();
    let outcome = tokio::time::timeout(Duration::from_secs(30), shipments.outcome(&child))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Cancelled { report, .. } = outcome else {
        panic!("the shipment is cancelled: {outcome:?}")
    };
    assert_eq!(
        report.entries(),
        [
            Entry::Undone { undo: "unpack" },
            Entry::Undone { undo: "restock" }
        ]
    );
    let mut names = warehouse.names();
    names[3..].sort();
    assert_eq!(
        names,
        ["pay", "pick", "pack", "refund", "restock", "unpack"],
        "one child, each step and each undo once"
    );
    second.shutdown().await;
}

#[test]
fn the_definition_and_the_diagram_name_the_child_flow() {
    let ship = &order::DEFINITION.transitions()[1];
    assert_eq!(ship.name(), "ship");
    assert_eq!(
        ship.child().map(workflow_core::Definition::name),
        Some("Shipment")
    );
    assert!(order::DEFINITION.transitions()[0].child().is_none());
    assert!(
        order::MERMAID.contains("Paid --> Shipped: ship, child(shipment)"),
        "{}",
        order::MERMAID
    );
}

#[tokio::test(start_paused = true)]
async fn a_shipment_not_handed_over_in_time_is_cancelled_and_the_orders_step_times_out() {
    // The courier comes after an hour; the order gives the shipment half of one.
    let warehouse = Warehouse::default().shipping_within(Duration::from_mins(30));
    let (store, host, failure, report) = failed_order(&warehouse).await;
    assert_eq!(failure.step(), "ship");
    assert!(failure.is(FailureKind::Timeout), "{failure:?}");
    assert_eq!(
        failure.message(),
        "its `Shipment` child `order-7/2/ship` did not end within 30min: it is cancelled"
    );
    assert_eq!(report.entries(), [Entry::Undone { undo: "refund" }]);
    // The shipment is cancelled and compensates its own steps; it is never handed over.
    assert_eq!(the_shipment_ended(&store).await, Status::Cancelled);
    let names = warehouse.names();
    assert_eq!(&names[..3], ["pay", "pick", "pack"]);
    let mut undos = names[3..].to_vec();
    undos.sort();
    assert_eq!(undos, ["refund", "restock", "unpack"], "each undo once");
    host.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_of_either_flow_the_order_ends_the_same_each_call_once() {
    // The order and its shipment on one host; stopped after any write of either.
    let flows = |host: workflow_core::runtime::HostBuilder, acts: &Arc<Warehouse>| {
        host.flow(order::Flow, Arc::clone(acts))
            .flow(shipment::Flow, Arc::clone(acts))
    };
    let events: [(Duration, order::Event); 0] = [];
    let invoiced = crash_check_host::<order::Flow, _>(
        placed(),
        |log| Warehouse {
            checked: Some(log),
            ..Warehouse::default()
        },
        flows,
        &events,
    )
    .await
    .unwrap();
    // Both flows' writes, from the order's creation to the shipment's release.
    assert_eq!((invoiced.writes, invoiced.points), (12, 11));
    // The invoice fails: the held shipment is compensated, then the payment refunded.
    let compensated = crash_check_host::<order::Flow, _>(
        placed(),
        |log| Warehouse {
            checked: Some(log),
            ..Warehouse::default().failing("invoice")
        },
        flows,
        &events,
    )
    .await
    .unwrap();
    assert_eq!((compensated.writes, compensated.points), (18, 17));
}

#[tokio::test]
async fn on_postgres_a_later_failure_compensates_the_completed_shipment_through_the_store() {
    let Some(server) = pg_server::Server::shared() else {
        return;
    };
    let db = server.database("s13_held").await;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    // Real time: the courier comes 50 ms after the packing; the invoice fails.
    let warehouse = Warehouse::default()
        .courier_after(Duration::from_millis(50))
        .failing("invoice");
    let host = host(Arc::clone(&store), &warehouse);
    let orders = host.client::<order::Flow>();
    let id = orders.start_with_id("order-7", placed()).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(30), orders.outcome(&id))
        .await
        .unwrap()
        .unwrap();
    let Outcome::Failed { report, .. } = outcome else {
        panic!("the order fails: {outcome:?}")
    };
    assert_eq!(report.entries(), UNDONE_AFTER_INVOICE);
    assert_eq!(
        warehouse.names(),
        CALLS_UNTIL_REFUND,
        "the held shipment compensated (Compensate and its end through PostgreSQL's inbox) before the payment"
    );
    let (child, _) = the_shipment(&store).await;
    let shipments = host.client::<shipment::Flow>();
    let outcome = tokio::time::timeout(Duration::from_secs(30), shipments.outcome(&child))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    host.shutdown().await;
}
