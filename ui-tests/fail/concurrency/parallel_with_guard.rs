use workflow_core::workflow;

workflow! {
    Loan {
        initial Applied {}
        final Approved {}
        final Declined {}
        decide: Applied -> Approved | Declined, guard(choose), parallel(credit: u32, income: u32), join(decided);
    }
}

fn main() {}
