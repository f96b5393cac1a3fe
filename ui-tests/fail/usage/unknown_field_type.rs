use workflow_core::workflow;

workflow! {
    pub Order {
        initial Placed { request: OrderRequst }
        final Shipped {}
        ship: Placed -> Shipped;
    }
}

fn main() {}
