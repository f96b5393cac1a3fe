use workflow_core::workflow;

workflow! {
    Shipping {
        initial Packed {}
        final Shipped {}

        ship: Packed -> Shipped, guard(choose);
    }
}

fn main() {}
