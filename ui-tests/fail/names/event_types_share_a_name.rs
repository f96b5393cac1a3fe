use workflow_core::workflow;

mod warehouse {
    pub struct Done;
}
mod billing {
    pub struct Done;
}

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        final Cancelled {}
        ship: Placed -> Shipped, on warehouse::Done;
        cancel: Placed -> Cancelled, on billing::Done;
    }
}

fn main() {}
