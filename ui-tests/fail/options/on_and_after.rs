use workflow_core::workflow;

pub struct Go;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped, on Go, after(10s);
    }
}

fn main() {}
