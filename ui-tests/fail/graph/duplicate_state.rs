use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Shipped { tracking: String }
        ship: Placed -> Shipped;
    }
}

fn main() {}
