use workflow_core::prelude::*;

pub struct Cancel;

workflow! {
    pub Order {
        initial Placed { id: u32 }
        state Paid { id: u32, charge: u64 }
        final Shipped { id: u32 }
        final Cancelled { id: u32 }
        pay: Placed -> Paid undo refund;
        ship: Paid -> Shipped;
        cancel: Placed | Paid -> Cancelled, on Cancel;
    }
}

struct Fakes;

impl order::Activities for Fakes {
    type Error = String;
    async fn pay(&self, from: &order::Placed, _: &StepCtx) -> Result<order::Paid, String> {
        Ok(order::Paid { id: from.id, charge: 1 })
    }
    async fn ship(&self, from: &order::Paid, _: &StepCtx) -> Result<order::Shipped, String> {
        Ok(order::Shipped { id: from.id })
    }
    async fn cancel(&self, from: order::CancelFrom<'_>, _: &Cancel, _: &StepCtx) -> Result<order::Cancelled, String> {
        let id = match from {
            order::CancelFrom::Placed(s) => s.id,
            order::CancelFrom::Paid(s) => s.id,
        };
        Ok(order::Cancelled { id })
    }
    async fn refund(&self, _: &order::Paid, _: &StepCtx) -> Result<(), String> {
        Ok(())
    }
}

async fn run(placed: order::Placed) {
    let _paid = placed.pay(&Fakes).await;
    let _again = placed.pay(&Fakes).await;
}

fn main() {}
