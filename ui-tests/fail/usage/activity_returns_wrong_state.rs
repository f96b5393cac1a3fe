use workflow_core::prelude::*;

workflow! {
    pub Order {
        initial Placed {}
        state Paid {}
        final Shipped {}
        pay: Placed -> Paid;
        ship: Paid -> Shipped;
    }
}

struct Fakes;

impl order::Activities for Fakes {
    type Error = String;
    async fn pay(&self, _: &order::Placed, _: &StepCtx) -> Result<order::Shipped, String> {
        Ok(order::Shipped {})
    }
    async fn ship(&self, _: &order::Paid, _: &StepCtx) -> Result<order::Shipped, String> {
        Ok(order::Shipped {})
    }
}

fn main() {}
