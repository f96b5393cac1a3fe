use workflow_core::workflow;

workflow! {
    Order {
        initial placed {}
        final Shipped {}
        ship: placed -> Shipped;
    }
}

fn main() {}
