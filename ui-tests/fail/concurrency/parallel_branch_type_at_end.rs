use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(income: u32, credit:), join(checked);
    }
}

fn main() {}
