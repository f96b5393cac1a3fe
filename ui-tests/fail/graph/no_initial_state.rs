use workflow_core::workflow;

workflow! {
    Order {
        state Placed {}
        final Shipped {}
        ship: Placed -> Shipped;
    }
}

fn main() {}
