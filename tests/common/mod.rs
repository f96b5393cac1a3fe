//! The order flow of DESIGN §3 and fake activities, shared by the behaviour tests.
//!
//! The fakes record every call by name, in order, and the context each got; they fail the
//! steps a test names. Order id 0 is out of stock; an amount above 1000 is declined.
#![allow(dead_code, reason = "each test crate uses a part of it")]

use std::collections::BTreeSet;
use std::sync::Mutex;

use workflow_core::prelude::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest {
    pub id: u32,
    pub amount: u32,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CancelRequested {
    pub reason: String,
}

workflow! {
    /// Order fulfilment, as in DESIGN §3.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Order {
        initial Placed    { order: OrderRequest }
        state   Reserved  { order: OrderRequest, hold: u32 }
        state   Paid      { order: OrderRequest, hold: u32, charge: u32 }
        final   Shipped   { order: OrderRequest, tracking: String }
        final   Cancelled { order_id: u32, reason: String }

        reserve: Placed   -> Reserved undo release | Cancelled;
        pay:     Reserved -> Paid undo refund, retry(3, 100ms..2s), timeout(30s);
        ship:    Paid     -> Shipped;
        cancel:  Placed | Reserved | Paid -> Cancelled, on CancelRequested, compensate;
        expire:  Reserved -> Cancelled, after(15min), compensate;
    }
}

pub use order::{Cancelled, Paid, Placed, Reserved, Shipped};

/// Fake activities for the order flow.
#[derive(Default)]
pub struct Fakes {
    calls: Mutex<Vec<&'static str>>,
    contexts: Mutex<Vec<String>>,
    failing: BTreeSet<&'static str>,
}

impl Fakes {
    /// Fakes that fail the named steps (transitions or undos).
    pub fn failing(steps: &[&'static str]) -> Self {
        Self {
            failing: steps.iter().copied().collect(),
            ..Self::default()
        }
    }

    /// Every call, by step name, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }

    /// `step attempt N key K` for every call, in order.
    pub fn contexts(&self) -> Vec<String> {
        self.contexts.lock().unwrap().clone()
    }

    fn enter(&self, step: &'static str, ctx: &StepCtx) -> Result<(), String> {
        self.calls.lock().unwrap().push(step);
        let key = ctx.idempotency_key().unwrap_or("none");
        self.contexts
            .lock()
            .unwrap()
            .push(format!("{step} attempt {} key {key}", ctx.attempt()));
        if self.failing.contains(step) {
            Err(format!("{step} failed"))
        } else {
            Ok(())
        }
    }
}

impl order::Activities for Fakes {
    type Error = String;

    async fn reserve(&self, from: &Placed, ctx: &StepCtx) -> Result<order::ReserveTo, String> {
        self.enter("reserve", ctx)?;
        if from.order.id == 0 {
            return Ok(Cancelled {
                order_id: 0,
                reason: "out of stock".into(),
            }
            .into());
        }
        Ok(Reserved {
            order: from.order.clone(),
            hold: 70 + from.order.id,
        }
        .into())
    }

    async fn pay(&self, from: &Reserved, ctx: &StepCtx) -> Result<Paid, String> {
        self.enter("pay", ctx)?;
        if from.order.amount > 1000 {
            return Err(format!("declined: {}", from.order.amount));
        }
        Ok(Paid {
            order: from.order.clone(),
            hold: from.hold,
            charge: 9,
        })
    }

    async fn ship(&self, from: &Paid, ctx: &StepCtx) -> Result<Shipped, String> {
        self.enter("ship", ctx)?;
        Ok(Shipped {
            order: from.order.clone(),
            tracking: format!("TRACK-{}", from.order.id),
        })
    }

    async fn cancel(
        &self,
        from: order::CancelFrom<'_>,
        event: &CancelRequested,
        ctx: &StepCtx,
    ) -> Result<Cancelled, String> {
        self.enter("cancel", ctx)?;
        let order_id = match from {
            order::CancelFrom::Placed(s) => s.order.id,
            order::CancelFrom::Reserved(s) => s.order.id,
            order::CancelFrom::Paid(s) => s.order.id,
        };
        Ok(Cancelled {
            order_id,
            reason: format!("{} (from {})", event.reason, from.name()),
        })
    }

    async fn expire(&self, from: &Reserved, ctx: &StepCtx) -> Result<Cancelled, String> {
        self.enter("expire", ctx)?;
        Ok(Cancelled {
            order_id: from.order.id,
            reason: "expired".into(),
        })
    }

    async fn release(&self, _: &Reserved, ctx: &StepCtx) -> Result<(), String> {
        self.enter("release", ctx)
    }

    async fn refund(&self, _: &Paid, ctx: &StepCtx) -> Result<(), String> {
        self.enter("refund", ctx)
    }
}

/// An order placed with id `id` for `amount`.
pub fn placed(id: u32, amount: u32) -> Placed {
    Placed {
        order: OrderRequest { id, amount },
    }
}
