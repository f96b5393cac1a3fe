use workflow_core::prelude::*;

workflow! {
    pub Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32 undo void_credit, income: u32), join(checked);
    }
}

fn checked(_: &loan::Applied, _: u32, _: u32) -> loan::Checked {
    loan::Checked {}
}

struct Bureaus;

impl loan::Activities for Bureaus {
    type Error = String;
    async fn credit(&self, _: &loan::Applied, _: &StepCtx) -> Result<u32, String> {
        Ok(1)
    }
    async fn void_credit(&self, _: &u32, _: &StepCtx) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
