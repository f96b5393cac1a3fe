use workflow_core::workflow;

pub struct Credit;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: Credit), join(checked);
    }
}

fn main() {}
