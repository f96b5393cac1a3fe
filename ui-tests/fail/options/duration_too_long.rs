use workflow_core::workflow;

pub struct Go;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Cancelled {}
        ship: Placed -> Shipped, on Go;
        expire: Placed -> Cancelled, after(3000000000000h);
    }
}

fn main() {}
