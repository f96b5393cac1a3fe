use workflow_core::workflow;

pub struct Go;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Cancelled {}
        ship: Placed -> Shipped, on Go;
        cancel: Placed -> Cancelled, on Go;
    }
}

fn main() {}
