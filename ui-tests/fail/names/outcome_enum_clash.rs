use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final ShipTo {}
        final Shipped {}
        ship: Placed -> Shipped | ShipTo;
    }
}

fn main() {}
