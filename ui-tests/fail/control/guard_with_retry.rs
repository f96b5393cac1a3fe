use workflow_core::workflow;

workflow! {
    Shipping {
        initial Packed {}
        final Express {}
        final Freight {}

        route: Packed -> Express | Freight, guard(by_weight), retry(3, 1s..10s);
    }
}

fn main() {}
