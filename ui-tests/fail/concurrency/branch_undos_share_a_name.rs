use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32 undo void, income: u32 undo void), join(checked);
    }
}

fn main() {}
