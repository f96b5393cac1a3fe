use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, retries(3, 1s..2s);
    }
}

fn main() {}
