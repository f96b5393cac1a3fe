use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;

/// Not `Clone`.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub seat: u32,
}

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Show {
        initial Chosen { seats: Vec<u32> }
        final   Held   { tickets: usize }
        hold: Chosen -> Held, each(seats, 2, hold_seat: Ticket undo release_seat), join(held);
    }
}

fn held(_: &show::Chosen, tickets: Vec<Ticket>) -> show::Held {
    show::Held { tickets: tickets.len() }
}

struct Box_;

impl show::Activities for Box_ {
    type Error = String;
    async fn hold_seat(&self, _: &show::Chosen, seat: &u32, _: &StepCtx) -> Result<Ticket, String> {
        Ok(Ticket { seat: *seat })
    }
    async fn release_seat(&self, _: &Ticket, _: &StepCtx) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    let saga = show::Saga::start(show::Chosen { seats: vec![1, 2, 3] });
    // The saga keeps each ticket to release it later: `Ticket` must be `Clone`.
    let _ = futures::executor::block_on(saga.hold(&Box_));
}
