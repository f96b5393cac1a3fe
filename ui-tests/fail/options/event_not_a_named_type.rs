use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, on (u32, u32);
    }
}

fn main() {}
