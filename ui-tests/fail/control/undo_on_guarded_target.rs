use workflow_core::workflow;

workflow! {
    Shipping {
        initial Packed {}
        final Express {}
        final Freight {}

        route: Packed -> Express undo unroute | Freight, guard(by_weight);
    }
}

fn main() {}
