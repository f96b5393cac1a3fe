use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32 timeout(0s), income: u32), join(checked);
    }
}

fn main() {}
