use workflow_core::workflow;

pub struct Go;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked, on Go, parallel(credit: u32 timeout(5s), income: u32), join(checked);
    }
}

fn main() {}
