use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, timeout(30 s);
    }
}

fn main() {}
