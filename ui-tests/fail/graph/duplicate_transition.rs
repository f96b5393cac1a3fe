use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Paid {}
        final Shipped {}
        go: Placed -> Paid;
        go: Paid -> Shipped;
    }
}

fn main() {}
