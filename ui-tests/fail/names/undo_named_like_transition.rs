use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped undo ship;
    }
}

fn main() {}
