//! Names that coincide with generated items: a transition named like its target state, an
//! event type named like its transition, user types named `Event`, `State` and `Flow`.

use workflow_core::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: u64,
}
#[derive(Debug, Clone, PartialEq)]
pub struct State(pub u8);
#[derive(Debug, Clone, PartialEq)]
pub struct Flow;
#[derive(Debug, Clone, PartialEq)]
pub struct Kick;

workflow! {
    #[derive(Debug, Clone, PartialEq)]
    pub Door {
        initial Closed { last: Event, mood: State, history: Vec<Event> }
        final Open { by: Flow }
        final Kicked {}
        open: Closed -> Open;
        kick: Closed -> Kicked, on Kick;
    }
}

struct Acts;

impl door::Activities for Acts {
    type Error = String;
    async fn open(&self, _: &door::Closed, _: &StepCtx) -> Result<door::Open, String> {
        Ok(door::Open { by: Flow })
    }
    async fn kick(&self, _: &door::Closed, _: &Kick, _: &StepCtx) -> Result<door::Kicked, String> {
        Ok(door::Kicked {})
    }
}

fn main() {
    let closed = door::Closed { last: Event { at: 1 }, mood: State(2), history: vec![] };
    assert_eq!(closed.mood, State(2));
    let kicked = futures::executor::block_on(closed.kick(&Acts, &Kick)).unwrap();
    assert_eq!(kicked, door::Kicked {});
    let _: door::steps::Open = door::Open;
    assert_eq!(door::Event::from(Kick).name(), "Kick");
}
