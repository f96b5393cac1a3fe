use workflow_core::prelude::*;

workflow! {
    pub Order {
        initial Placed {}
        final Shipped {}
        ship: Placed -> Shipped undo unship;
    }
}

struct Fakes;

impl order::Activities for Fakes {
    type Error = String;
    async fn ship(&self, _: &order::Placed, _: &StepCtx) -> Result<order::Shipped, String> {
        Ok(order::Shipped {})
    }
}

fn main() {}
