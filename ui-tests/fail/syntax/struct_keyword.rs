use workflow_core::workflow;

workflow! {
    pub struct Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped;
    }
}

fn main() {}
