use workflow_core::prelude::*;

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Shipment {
        initial Picking { order: u32 }
        final HandedOver { order: u32 }
        hand_over: Picking -> HandedOver;
    }
}

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Order {
        initial Paid { order: u32 }
        state Shipped { order: u32 }
        final Delivered { order: u32 }
        ship: Paid -> Shipped, child(shipment, to_shipment), join(shipped);
        deliver: Shipped -> Delivered;
    }
}

fn to_shipment(from: &order::Paid) -> shipment::Picking {
    shipment::Picking { order: from.order }
}

// Lands in a state `ship` does not go to.
fn shipped(from: &order::Paid, _: shipment::State) -> order::Delivered {
    order::Delivered { order: from.order }
}

fn main() {}
