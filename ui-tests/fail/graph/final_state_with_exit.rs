use workflow_core::workflow;

pub struct Reopen;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped;
        reopen: Shipped -> Placed, on Reopen;
    }
}

fn main() {}
