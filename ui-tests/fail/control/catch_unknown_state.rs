use workflow_core::workflow;

workflow! {
    Claim {
        initial Filed {}
        state Assessed {}
        final Paid {}

        assess: Filed -> Assessed, retry(3, 1s..10s), catch(Review, to_review);
        pay: Assessed -> Paid;
    }
}

fn main() {}
