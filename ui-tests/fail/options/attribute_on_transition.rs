use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Shipped {}
        #[inline]
        ship: Placed -> Shipped;
    }
}

fn main() {}
