use workflow_core::workflow;

workflow! {
    pub Super {
        initial Draft {}
        final Done {}
        finish: Draft -> Done;
    }
}

fn main() {}
