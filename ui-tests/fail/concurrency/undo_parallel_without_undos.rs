use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32, income: u64), join(checked), undo(parallel);
    }
}

fn main() {}
