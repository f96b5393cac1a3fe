use workflow_core::prelude::*;

workflow! {
    pub Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32, income: u32), join(checkd);
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
    async fn income(&self, _: &loan::Applied, _: &StepCtx) -> Result<u32, String> {
        Ok(2)
    }
}

fn main() {}
