use workflow_core::workflow;

pub struct Credit;
pub struct Income;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked undo uncheck, parallel(credit: Credit, income: Income), join(checked);
    }
}

fn main() {}
