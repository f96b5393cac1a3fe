use workflow_core::workflow;

workflow! {
    Membership {
        initial Trial { trial: std::time::Duration }
        final Charged {}

        charge: Trial -> Charged, after(trail);
    }
}

fn main() {}
