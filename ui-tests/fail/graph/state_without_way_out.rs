use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state OnHold {}
        final Shipped {}
        ship: Placed -> Shipped | OnHold;
    }
}

fn main() {}
