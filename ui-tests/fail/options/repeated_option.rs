use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, timeout(1s), timeout(2s);
    }
}

fn main() {}
