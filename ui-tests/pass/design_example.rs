//! The flow of DESIGN §3, verbatim.

use workflow_core::prelude::*;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderRequest;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HoldId;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ChargeId;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tracking;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OrderId;
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CancelRequested;

workflow! {
    /// Order fulfilment.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Order {
        initial Placed    { order: OrderRequest }
        state   Reserved  { order: OrderRequest, hold: HoldId }
        state   Paid      { order: OrderRequest, hold: HoldId, charge: ChargeId }
        final   Shipped   { order: OrderRequest, tracking: Tracking }
        final   Cancelled { order_id: OrderId, reason: String }

        reserve: Placed   -> Reserved undo release | Cancelled;
        pay:     Reserved -> Paid undo refund, retry(3, 100ms..2s), timeout(30s);
        ship:    Paid     -> Shipped;
        cancel:  Placed | Reserved | Paid -> Cancelled, on CancelRequested, compensate;
        expire:  Reserved -> Cancelled, after(15min), compensate;
    }
}

fn main() {
    assert_eq!(order::DEFINITION.states().len(), 5);
    assert_eq!(order::DEFINITION.transitions().len(), 5);
    assert_eq!(order::DEFINITION.undos().len(), 2);
    let _: order::steps::Reserve = order::Reserve;
}
