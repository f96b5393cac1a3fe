use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, timeout(1.5s);
    }
}

fn main() {}
