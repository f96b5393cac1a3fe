use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, retry(0, 1s..10s);
    }
}

fn main() {}
