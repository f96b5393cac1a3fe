//! Scenario S1, order fulfilment, driven step by step through the typestate API.
//!
//! ```text
//! cargo run --example order
//! ```
//!
//! Three orders go through the flow with in-memory fakes of a warehouse, a payment provider
//! and a carrier, each printing what it does:
//!
//! - **in stock, paid**: checked, paid, reserved, shipped. Ends `Shipped`, no undo.
//! - **out of stock** (product `out_of_stock`): ends `Cancelled` at once; nothing is paid,
//!   nothing is undone.
//! - **payment fails** (amount above 1000.00): the stock hold is released, once, and the order
//!   ends **Failed**, carrying the payment error.
//!
//! Why Failed and not Cancelled: a declined payment is an error of the `pay` step, not a
//! decision of the flow. `Cancelled` is a state the flow chooses to land in (the warehouse
//! has no stock); a step that fails leaves the instance where it was and unwinds what was done
//! before it. The caller gets the original error and the state, and decides what to tell the
//! customer.
//!
//! Every transition is a method that consumes the state it starts from, so skipping a step
//! (`placed.pay(..)`) or reusing a state after it moved on does not compile. On failure the
//! state comes back inside `Failed`. Undoing is explicit here; the typed saga and the driver
//! do it for you.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;

/// What the customer ordered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderRequest {
    pub id: String,
    pub product: String,
    pub quantity: u32,
    pub amount: Money,
}

/// An amount in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Money(pub u64);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// Stock held for an order while it is paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldId(pub String);

/// A payment taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChargeId(pub String);

/// Stock set aside for picking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReservationId(pub String);

workflow! {
    /// Scenario S1: check inventory, pay, reserve stock, create the shipping note.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Order {
        /// The customer placed the order.
        initial Placed    { order: OrderRequest }
        /// The warehouse holds the stock while the customer pays.
        state   InStock   { order: OrderRequest, hold: HoldId }
        /// The customer paid.
        state   Paid      { order: OrderRequest, hold: HoldId, charge: ChargeId }
        /// The held stock is reserved for picking.
        state   Reserved  { order: OrderRequest, charge: ChargeId, reservation: ReservationId }
        /// The parcel left with a tracking number.
        final   Shipped   { order: OrderRequest, tracking: String }
        /// The flow decided not to go on.
        final   Cancelled { order_id: String, reason: String }

        /// Is there stock? Hold it, or cancel.
        check_inventory:      Placed   -> InStock undo release_hold | Cancelled;
        /// Charge the customer.
        pay:                  InStock  -> Paid undo refund, retry(3, 200ms..2s), timeout(10s);
        /// Turn the hold into a reservation.
        reserve_stock:        Paid     -> Reserved undo unreserve_stock;
        /// Hand the parcel to the carrier.
        create_shipping_note: Reserved -> Shipped;
    }
}

/// Why a fake service refused.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("card declined: {amount} is above the 1000.00 limit")]
    Declined { amount: Money },
}

/// In-memory warehouse, payment provider and carrier. Each call prints one line.
#[derive(Default)]
struct Shop {
    next_id: AtomicU32,
}

impl Shop {
    fn id(&self, prefix: &str) -> String {
        format!(
            "{prefix}-{}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    fn tracking(&self) -> String {
        format!(
            "TRACK-{:04}",
            self.next_id.fetch_add(1, Ordering::Relaxed) + 1
        )
    }
}

fn say(service: &str, action: impl fmt::Display) {
    println!("  {service:<10} {action}");
}

impl order::Activities for Shop {
    type Error = ShopError;

    async fn check_inventory(
        &self,
        from: &order::Placed,
        _: &StepCtx,
    ) -> Result<order::CheckInventoryTo, ShopError> {
        let order = &from.order;
        if order.product == "out_of_stock" {
            say("warehouse", format!("no stock of {}", order.product));
            return Ok(order::Cancelled {
                order_id: order.id.clone(),
                reason: "out of stock".into(),
            }
            .into());
        }
        let hold = HoldId(self.id("hold"));
        say(
            "warehouse",
            format!("hold {} x {} -> {}", order.quantity, order.product, hold.0),
        );
        Ok(order::InStock {
            order: order.clone(),
            hold,
        }
        .into())
    }

    async fn release_hold(&self, state: &order::InStock, _: &StepCtx) -> Result<(), ShopError> {
        say("warehouse", format!("release {}", state.hold.0));
        Ok(())
    }

    async fn pay(&self, from: &order::InStock, ctx: &StepCtx) -> Result<order::Paid, ShopError> {
        let amount = from.order.amount;
        if amount > Money(100_000) {
            say(
                "payments",
                format!("charge {amount} -> declined (attempt {})", ctx.attempt()),
            );
            return Err(ShopError::Declined { amount });
        }
        let charge = ChargeId(self.id("charge"));
        say("payments", format!("charge {amount} -> {}", charge.0));
        Ok(order::Paid {
            order: from.order.clone(),
            hold: from.hold.clone(),
            charge,
        })
    }

    async fn refund(&self, state: &order::Paid, _: &StepCtx) -> Result<(), ShopError> {
        say("payments", format!("refund {}", state.charge.0));
        Ok(())
    }

    async fn reserve_stock(
        &self,
        from: &order::Paid,
        _: &StepCtx,
    ) -> Result<order::Reserved, ShopError> {
        let reservation = ReservationId(self.id("reservation"));
        say(
            "warehouse",
            format!("reserve {} -> {}", from.hold.0, reservation.0),
        );
        Ok(order::Reserved {
            order: from.order.clone(),
            charge: from.charge.clone(),
            reservation,
        })
    }

    async fn unreserve_stock(&self, state: &order::Reserved, _: &StepCtx) -> Result<(), ShopError> {
        say("warehouse", format!("unreserve {}", state.reservation.0));
        Ok(())
    }

    async fn create_shipping_note(
        &self,
        from: &order::Reserved,
        _: &StepCtx,
    ) -> Result<order::Shipped, ShopError> {
        let tracking = self.tracking();
        say(
            "carrier",
            format!("shipping note for {} -> {tracking}", from.reservation.0),
        );
        Ok(order::Shipped {
            order: from.order.clone(),
            tracking,
        })
    }
}

/// How an order ended.
#[derive(Debug)]
enum Outcome {
    Shipped(order::Shipped),
    Cancelled(order::Cancelled),
    Failed {
        step: &'static str,
        error: ShopError,
    },
}

/// Runs one order through the flow, one typestate method per step.
async fn fulfil(shop: &Shop, placed: order::Placed) -> Outcome {
    let in_stock = match placed.check_inventory(shop).await {
        Ok(order::CheckInventoryTo::InStock(in_stock)) => in_stock,
        Ok(order::CheckInventoryTo::Cancelled(cancelled)) => return Outcome::Cancelled(cancelled),
        Err(failed) => {
            return Outcome::Failed {
                step: "check_inventory",
                error: failed.error,
            };
        }
    };
    let paid = match in_stock.pay(shop).await {
        Ok(paid) => paid,
        Err(Failed {
            state: in_stock,
            error,
        }) => {
            // The state came back: undo what brought us here, the hold.
            let _ =
                order::Activities::release_hold(shop, &in_stock, &StepCtx::local("release_hold"))
                    .await;
            return Outcome::Failed { step: "pay", error };
        }
    };
    let reserved = match paid.reserve_stock(shop).await {
        Ok(reserved) => reserved,
        Err(Failed { state: paid, error }) => {
            let _ = order::Activities::refund(shop, &paid, &StepCtx::local("refund")).await;
            let in_stock = order::InStock {
                order: paid.order,
                hold: paid.hold,
            };
            let _ =
                order::Activities::release_hold(shop, &in_stock, &StepCtx::local("release_hold"))
                    .await;
            return Outcome::Failed {
                step: "reserve_stock",
                error,
            };
        }
    };
    match reserved.create_shipping_note(shop).await {
        Ok(shipped) => Outcome::Shipped(shipped),
        Err(failed) => Outcome::Failed {
            step: "create_shipping_note",
            error: failed.error,
        },
    }
}

fn request(id: &str, product: &str, quantity: u32, cents: u64) -> order::Placed {
    order::Placed {
        order: OrderRequest {
            id: id.into(),
            product: product.into(),
            quantity,
            amount: Money(cents),
        },
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shop = Shop::default();
    let orders = [
        (
            "in stock, paid",
            request("order-1", "espresso-machine", 1, 49_900),
        ),
        ("out of stock", request("order-2", "out_of_stock", 2, 1_990)),
        (
            "payment fails",
            request("order-3", "grand-piano", 1, 1_250_000),
        ),
    ];
    for (case, placed) in orders {
        let order = &placed.order;
        println!(
            "{} ({case}): {} x {}, {}",
            order.id, order.quantity, order.product, order.amount
        );
        match fulfil(&shop, placed).await {
            Outcome::Shipped(shipped) => println!("  => Shipped, tracking {}", shipped.tracking),
            Outcome::Cancelled(cancelled) => println!("  => Cancelled: {}", cancelled.reason),
            Outcome::Failed { step, error } => println!("  => Failed at `{step}`: {error}"),
        }
        println!();
    }
    println!(
        "The flow as a diagram (paste into any Mermaid renderer):\n\n{}",
        order::MERMAID
    );
}
