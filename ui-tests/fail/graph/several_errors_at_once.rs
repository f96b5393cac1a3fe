use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Lost {}
        final Shipped {}
        final Archived {}
        ship: Placed -> Shipped;
        cancel: Placed -> Shipped;
    }
}

fn main() {}
