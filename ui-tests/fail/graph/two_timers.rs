use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Cancelled {}
        remind: Placed -> Shipped, after(1h);
        expire: Placed -> Cancelled, after(2h);
    }
}

fn main() {}
