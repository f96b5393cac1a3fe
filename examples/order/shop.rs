//! Scenario S1, order fulfilment: the flow, and a fake shop (warehouse, payment provider,
//! carrier) that narrates what it does through `tracing` and records every call in a
//! `CallLog`. Shared by the `order` example and the S1 tests.
//!
//! - Product `out_of_stock` has no stock: the order is cancelled at once.
//! - An amount above 1000.00 is declined by the payment provider.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::testing::{CallLog, Fault};

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

workflow! {
    /// Scenario S1: check inventory, pay, reserve stock, create the shipping note.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Order {
        /// The customer placed the order.
        initial Placed    { order: OrderRequest }
        /// The warehouse holds the stock while the customer pays.
        state   InStock   { order: OrderRequest, hold: String }
        /// The customer paid.
        state   Paid      { order: OrderRequest, hold: String, charge: String }
        /// The held stock is reserved for picking.
        state   Reserved  { order: OrderRequest, charge: String, reservation: String }
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShopError {
    #[error("card declined: {amount} is above the 1000.00 limit")]
    Declined { amount: Money },
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// An in-memory warehouse, payment provider and carrier.
#[derive(Debug, Default)]
pub struct Shop {
    log: CallLog,
    next_id: AtomicU32,
    /// The number each request was issued, by idempotency key: a request made again (after a
    /// crash cut it short) gets what it got the first time, as from an idempotent API.
    issued: Mutex<HashMap<String, u32>>,
    /// A step in the middle of which the process dies, to show a restart resuming it.
    crash_in: Option<String>,
}

impl Shop {
    /// A shop recording its calls in `log` (which can also inject faults).
    pub fn new(log: CallLog) -> Self {
        Self {
            log,
            next_id: AtomicU32::new(0),
            issued: Mutex::default(),
            crash_in: None,
        }
    }

    /// A shop whose process dies (aborts) in the middle of the first call to `step`, after
    /// the outside system acted and before the flow hears of it.
    pub fn crash_in(mut self, step: &str) -> Self {
        self.crash_in = Some(step.to_string());
        self
    }

    /// Records the call; dies there if told to.
    fn call(&self, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)?;
        if self.crash_in.as_deref() == Some(ctx.step()) {
            eprintln!(
                "\n!! the process dies in the middle of `{}` (key {})",
                ctx.step(),
                ctx.idempotency_key().unwrap_or("none")
            );
            std::process::abort();
        }
        Ok(())
    }

    /// Every call the shop received.
    pub fn log(&self) -> &CallLog {
        &self.log
    }

    /// The number issued to the request `ctx` describes: a new one, or the one its key got.
    fn number(&self, ctx: &StepCtx) -> u32 {
        let key = ctx.idempotency_key().unwrap_or_default().to_string();
        let mut issued = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *issued
            .entry(key)
            .or_insert_with(|| self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn id(&self, prefix: &str, ctx: &StepCtx) -> String {
        format!("{prefix}-{}", self.number(ctx))
    }
}

impl order::Activities for Shop {
    type Error = ShopError;

    async fn check_inventory(
        &self,
        from: &order::Placed,
        ctx: &StepCtx,
    ) -> Result<order::CheckInventoryTo, ShopError> {
        self.call(ctx)?;
        let order = &from.order;
        if order.product == "out_of_stock" {
            tracing::info!(product = %order.product, "warehouse: no stock");
            return Ok(order::Cancelled {
                order_id: order.id.clone(),
                reason: "out of stock".into(),
            }
            .into());
        }
        let hold = self.id("hold", ctx);
        tracing::info!(%hold, "warehouse: holding {} x {}", order.quantity, order.product);
        Ok(order::InStock {
            order: order.clone(),
            hold,
        }
        .into())
    }

    async fn release_hold(&self, state: &order::InStock, ctx: &StepCtx) -> Result<(), ShopError> {
        self.call(ctx)?;
        tracing::info!(hold = %state.hold, "warehouse: hold released");
        Ok(())
    }

    async fn pay(&self, from: &order::InStock, ctx: &StepCtx) -> Result<order::Paid, ShopError> {
        self.call(ctx)?;
        let amount = from.order.amount;
        if amount > Money(100_000) {
            tracing::warn!(%amount, "payments: declined");
            return Err(ShopError::Declined { amount });
        }
        let charge = self.id("charge", ctx);
        let key = ctx.idempotency_key().unwrap_or("none");
        tracing::info!(%amount, %charge, %key, "payments: charged");
        Ok(order::Paid {
            order: from.order.clone(),
            hold: from.hold.clone(),
            charge,
        })
    }

    async fn refund(&self, state: &order::Paid, ctx: &StepCtx) -> Result<(), ShopError> {
        self.call(ctx)?;
        tracing::info!(charge = %state.charge, "payments: refunded");
        Ok(())
    }

    async fn reserve_stock(
        &self,
        from: &order::Paid,
        ctx: &StepCtx,
    ) -> Result<order::Reserved, ShopError> {
        self.call(ctx)?;
        let reservation = self.id("reservation", ctx);
        tracing::info!(hold = %from.hold, %reservation, "warehouse: reserved");
        Ok(order::Reserved {
            order: from.order.clone(),
            charge: from.charge.clone(),
            reservation,
        })
    }

    async fn unreserve_stock(
        &self,
        state: &order::Reserved,
        ctx: &StepCtx,
    ) -> Result<(), ShopError> {
        self.call(ctx)?;
        tracing::info!(reservation = %state.reservation, "warehouse: unreserved");
        Ok(())
    }

    async fn create_shipping_note(
        &self,
        from: &order::Reserved,
        ctx: &StepCtx,
    ) -> Result<order::Shipped, ShopError> {
        self.call(ctx)?;
        let tracking = format!("TRACK-{:04}", self.number(ctx));
        tracing::info!(%tracking, "carrier: shipping note created");
        Ok(order::Shipped {
            order: from.order.clone(),
            tracking,
        })
    }
}

/// An order for `quantity` x `product` at `cents`.
pub fn request(id: &str, product: &str, quantity: u32, cents: u64) -> order::Placed {
    order::Placed {
        order: OrderRequest {
            id: id.into(),
            product: product.into(),
            quantity,
            amount: Money(cents),
        },
    }
}
