use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Reserved {}
        reserve: Placed -> Reserved, retry(3, 1s..10s), undo release;
    }
}

fn main() {}
