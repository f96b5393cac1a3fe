use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Refunded {}
        final Shipped {}
        ship: Placed -> Shipped;
        close: Refunded -> Shipped;
    }
}

fn main() {}
