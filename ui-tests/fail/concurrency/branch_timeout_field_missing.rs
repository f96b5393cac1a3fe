use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied { limit: std::time::Duration }
        final Checked {}
        check: Applied -> Checked, parallel(credit: u32 timeout(limt), income: u32), join(checked);
    }
}

fn main() {}
