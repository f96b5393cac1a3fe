use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(creditScore: u32, income: u32), join(checked);
    }
}

fn main() {}
