//! Version 2 of S1's order flow, for scenario S15: a fraud check between `InStock` and `Paid`,
//! and the typed mapping that moves v1 instances (the `order` flow of `shop.rs`) to it.

use workflow_core::runtime::Mapped;

use super::shop::order;

/// Version 2 of the order flow: a fraud check before payment.
pub mod v2 {
    use super::super::shop::OrderRequest;
    use serde::{Deserialize, Serialize};
    use workflow_core::prelude::*;

    workflow! {
        /// S1 with a fraud check between `InStock` and `Paid`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub Order {
            initial Placed    { order: OrderRequest }
            state   InStock   { order: OrderRequest, hold: String }
            state   Screened  { order: OrderRequest, hold: String }
            state   Paid      { order: OrderRequest, hold: String, charge: String }
            state   Reserved  { order: OrderRequest, charge: String, reservation: String }
            final   Shipped   { order: OrderRequest, tracking: String }
            final   Cancelled { order_id: String, reason: String }

            check_inventory:      Placed   -> InStock undo release_hold | Cancelled;
            fraud_check:          InStock  -> Screened | Cancelled;
            pay:                  Screened -> Paid undo refund, retry(3, 200ms..2s);
            reserve_stock:        Paid     -> Reserved undo unreserve_stock;
            create_shipping_note: Reserved -> Shipped;
        }
    }
}

/// The mapping: each v1 state to its v2 state. Reserved orders are about to ship: they finish
/// on v1. A `match` with no wildcard, so a v1 state forgotten does not compile.
pub fn to_v2(state: order::State) -> Mapped<v2::order::State> {
    match state {
        order::State::Placed(s) => Mapped::To(v2::order::Placed { order: s.order }.into()),
        order::State::InStock(s) => Mapped::To(
            v2::order::InStock {
                order: s.order,
                hold: s.hold,
            }
            .into(),
        ),
        order::State::Paid(s) => Mapped::To(
            v2::order::Paid {
                order: s.order,
                hold: s.hold,
                charge: s.charge,
            }
            .into(),
        ),
        order::State::Reserved(_) | order::State::Shipped(_) | order::State::Cancelled(_) => {
            Mapped::Keep
        }
    }
}
