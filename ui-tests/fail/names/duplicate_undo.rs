use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Reserved {}
        final Shipped {}
        reserve: Placed -> Reserved undo release;
        ship: Reserved -> Shipped undo release;
    }
}

fn main() {}
