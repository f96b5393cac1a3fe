use workflow_core::workflow;

workflow! {
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    Membership {
        initial Trial { trial_days: u32 }
        final Charged {}

        charge: Trial -> Charged, after(trial_days);
    }
}

fn main() {}
