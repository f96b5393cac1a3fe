use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        initial Imported {}
        final Shipped {}
        ship: Placed | Imported -> Shipped;
    }
}

fn main() {}
