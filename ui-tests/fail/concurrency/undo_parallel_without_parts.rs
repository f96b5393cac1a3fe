use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Reserved {}
        reserve: Placed -> Reserved undo release, undo(parallel);
    }
}

fn main() {}
