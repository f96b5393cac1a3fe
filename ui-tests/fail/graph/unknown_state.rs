use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Reserved {}
        final Shipped {}
        reserve: Placed -> Reserved;
        ship: Reservd -> Shipped;
    }
}

fn main() {}
