use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32, income: u32), jion(checked);
    }
}

fn main() {}
