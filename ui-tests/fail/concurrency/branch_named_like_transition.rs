use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        state Checked {}
        final Approved {}
        check: Applied -> Checked, parallel(approve: u32, income: u32), join(checked);
        approve: Checked -> Approved;
    }
}

fn main() {}
