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
        final Shipped { order: u32 }
        ship: Paid -> Shipped, child(delivery, to_shipment), join(shipped);
    }
}

fn to_shipment(from: &order::Paid) -> shipment::Picking {
    shipment::Picking { order: from.order }
}

fn shipped(from: &order::Paid, _: shipment::State) -> order::Shipped {
    order::Shipped { order: from.order }
}

fn main() {}
