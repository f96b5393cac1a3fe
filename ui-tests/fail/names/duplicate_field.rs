use workflow_core::workflow;

workflow! {
    Order {
        initial Placed { id: u32, id: u64 }
        final Shipped {}
        ship: Placed -> Shipped;
    }
}

fn main() {}
