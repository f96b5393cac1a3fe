use workflow_core::workflow;

pub struct Go;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped
        cancel: Placed -> Shipped, on Go;
    }
}

fn main() {}
