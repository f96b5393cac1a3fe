use workflow_core::workflow;

workflow! {
    Claim {
        initial Filed {}
        state Assessed {}
        final Paid {}

        assess: Filed -> Assessed, retry(3, backoff = 1s), catch(Review, to_review);
        pay: Assessed -> Paid;
    }
}

fn main() {}
