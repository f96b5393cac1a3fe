use workflow_core::prelude::*;

pub struct Credit;
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Income;

workflow! {
    pub Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: Credit, income: Income), join(checked);
    }
}

fn checked(_: &loan::Applied, _: Credit, _: Income) -> loan::Checked {
    loan::Checked {}
}

struct Bureaus;

impl loan::Activities for Bureaus {
    type Error = String;
    async fn credit(&self, _: &loan::Applied, _: &StepCtx) -> Result<Credit, String> {
        Ok(Credit)
    }
    async fn income(&self, _: &loan::Applied, _: &StepCtx) -> Result<Income, String> {
        Ok(Income)
    }
}

fn main() {}
