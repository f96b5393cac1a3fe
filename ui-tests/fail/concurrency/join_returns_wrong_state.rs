use workflow_core::prelude::*;

workflow! {
    pub Loan {
        initial Applied {}
        state Checked {}
        final Approved {}
        check: Applied -> Checked, parallel(credit: u32, income: u32), join(checked);
        approve: Checked -> Approved;
    }
}

fn checked(_: &loan::Applied, _: u32, _: u32) -> loan::Approved {
    loan::Approved {}
}

struct Bureaus;

impl loan::Activities for Bureaus {
    type Error = String;
    async fn credit(&self, _: &loan::Applied, _: &StepCtx) -> Result<u32, String> {
        Ok(1)
    }
    async fn income(&self, _: &loan::Applied, _: &StepCtx) -> Result<u32, String> {
        Ok(2)
    }
    async fn approve(&self, _: &loan::Checked, _: &StepCtx) -> Result<loan::Approved, String> {
        Ok(loan::Approved {})
    }
}

fn main() {}
