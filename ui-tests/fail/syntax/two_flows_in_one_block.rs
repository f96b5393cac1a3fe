use workflow_core::workflow;

workflow! {
    First {
        initial A {}
        final B {}
        go: A -> B;
    }
    Second {
        initial A {}
        final B {}
        go: A -> B;
    }
}

fn main() {}
