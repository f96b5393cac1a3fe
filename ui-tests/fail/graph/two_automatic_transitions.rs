use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Cancelled {}
        ship: Placed -> Shipped;
        cancel: Placed -> Cancelled;
    }
}

fn main() {}
