use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        shipNow: Placed -> Shipped;
    }
}

fn main() {}
