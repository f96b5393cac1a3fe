use workflow_core::workflow;

workflow! {
    Claim {
        initial Filed {}
        state Review {}
        final Paid {}

        assess: Filed -> Paid, retry(3, 1s..10s), catch(Review, to_review, undo);
        close: Review -> Paid;
    }
}

fn main() {}
