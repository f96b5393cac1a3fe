use workflow_core::workflow;

pub struct NewPrice {
    pub cents: u64,
}

workflow! {
    Membership {
        initial Active {}
        final Ended {}

        reprice: Active -> Ended, on NewPrice, internal;
    }
}

fn main() {}
