use workflow_core::workflow;

pub struct Stop;

workflow! {
    Membership {
        initial Active {}
        final Ended {}

        touch: Active -> Active, internal;
        stop: Active -> Ended, on Stop;
    }
}

fn main() {}
