use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Paid;
        final Shipped {}
        pay: Placed -> Paid, retry();
        ship Paid -> Shipped;
    }
}

fn main() {}
