use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final State {}
        finish: Placed -> State;
    }
}

fn main() {}
