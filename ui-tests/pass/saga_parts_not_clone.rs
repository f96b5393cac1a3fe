//! A flow whose parts return outputs that are not `Clone` compiles and runs through its
//! typestate API; only the saga's method for that step needs `Clone` (see
//! `fail/usage/saga_part_output_not_clone.rs`).

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
    let chosen = show::Chosen { seats: vec![1, 2, 3] };
    let held = futures::executor::block_on(chosen.hold(&Box_)).unwrap();
    assert_eq!(held.tickets, 3);
}
