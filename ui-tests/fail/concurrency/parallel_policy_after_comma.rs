use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32, retry(3, 1s..10s), income: u32), join(checked);
    }
}

fn main() {}
