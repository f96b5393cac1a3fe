use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Checked {}
        check: Applied -> Checked,
            parallel(credit: u32 undo void_credit, income: u64 undo forget_income),
            join(checked),
            undo(parallel),
            undo(parallel);
    }
}

fn main() {}
