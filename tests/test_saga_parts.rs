//! The typed saga through steps made of parts: an `each` and a `parallel` step run in process,
//! the saga keeps what their undos need, and a later failure (or `abort`) undoes them with
//! the rest of the chain, newest first; a part that fails undoes the step's completed parts,
//! then the chain. The same undos the driver runs for the same failure.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use workflow_core::Entry;
use workflow_core::prelude::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    pub city: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visa {
    pub number: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub number: u32,
}

workflow! {
    /// A trip: a room in each city (two at a time), then a visa, insurance and a weather check
    /// at once, then confirmed.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Trip {
        initial Planned   { cities: Vec<String> }
        state   Booked    { rooms: Vec<Room> }
        state   Checked   { rooms: usize, visa: u32 }
        final   Confirmed { rooms: usize }

        book:    Planned -> Booked, each(cities, 2, book_room: Room undo cancel_room), join(booked);
        check:   Booked -> Checked,
            parallel(visa: Visa undo void_visa, insurance: Policy undo cancel_policy, weather: u32),
            join(checked);
        confirm: Checked -> Confirmed;
    }
}

fn booked(_: &trip::Planned, rooms: Vec<Room>) -> trip::Booked {
    trip::Booked { rooms }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "a join takes the outputs by value"
)]
fn checked(from: &trip::Booked, visa: Visa, _: Policy, _: u32) -> trip::Checked {
    trip::Checked {
        rooms: from.rooms.len(),
        visa: visa.number,
    }
}

/// Every call, in order; the activities named in `failing` fail.
#[derive(Default)]
struct Agency {
    calls: Mutex<Vec<String>>,
    failing: Vec<&'static str>,
}

impl Agency {
    fn failing(failing: &[&'static str]) -> Self {
        Self {
            failing: failing.to_vec(),
            ..Self::default()
        }
    }

    fn call(&self, what: String) -> Result<(), String> {
        let fails = self.failing.iter().any(|f| what.starts_with(f));
        let failed = fails.then(|| format!("{what} failed"));
        self.calls.lock().unwrap().push(what);
        failed.map_or(Ok(()), Err)
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl trip::Activities for Agency {
    type Error = String;

    async fn book_room(
        &self,
        _: &trip::Planned,
        city: &String,
        _: &StepCtx,
    ) -> Result<Room, String> {
        self.call(format!("book_room {city}"))?;
        Ok(Room { city: city.clone() })
    }
    async fn cancel_room(&self, room: &Room, _: &StepCtx) -> Result<(), String> {
        self.call(format!("cancel_room {}", room.city))
    }
    async fn visa(&self, _: &trip::Booked, _: &StepCtx) -> Result<Visa, String> {
        self.call("visa".into())?;
        Ok(Visa { number: 7 })
    }
    async fn void_visa(&self, visa: &Visa, _: &StepCtx) -> Result<(), String> {
        self.call(format!("void_visa {}", visa.number))
    }
    async fn insurance(&self, _: &trip::Booked, _: &StepCtx) -> Result<Policy, String> {
        self.call("insurance".into())?;
        Ok(Policy { number: 9 })
    }
    async fn cancel_policy(&self, policy: &Policy, _: &StepCtx) -> Result<(), String> {
        self.call(format!("cancel_policy {}", policy.number))
    }
    async fn weather(&self, _: &trip::Booked, _: &StepCtx) -> Result<u32, String> {
        self.call("weather".into())?;
        Ok(20)
    }
    async fn confirm(&self, from: &trip::Checked, _: &StepCtx) -> Result<trip::Confirmed, String> {
        self.call("confirm".into())?;
        Ok(trip::Confirmed { rooms: from.rooms })
    }
}

fn planned() -> trip::Planned {
    trip::Planned {
        cities: vec!["lyon".into(), "turin".into(), "graz".into()],
    }
}

fn lines(report: &workflow_core::Report<String>) -> Vec<String> {
    report
        .entries()
        .iter()
        .map(|entry| match entry {
            Entry::Undone { undo } => format!("undone {undo}"),
            Entry::UndoFailed { undo, error } => format!("failed {undo}: {error}"),
            Entry::Skipped { undo } => format!("skipped {undo}"),
            Entry::AlsoFailed { step, .. } => format!("also failed {step}"),
        })
        .collect()
}

#[tokio::test]
async fn a_later_failure_undoes_every_part_with_the_output_it_returned_newest_first() {
    let agency = Agency::failing(&["confirm"]);
    let booked = trip::Saga::start(planned()).book(&agency).await.unwrap();
    assert_eq!(booked.state().rooms.len(), 3);
    let checked = booked.check(&agency).await.unwrap();
    let failed = checked.confirm(&agency).await.unwrap_err();
    assert_eq!(
        (failed.step, failed.error.as_str()),
        ("confirm", "confirm failed")
    );
    assert_eq!(
        failed.input,
        Some(planned()),
        "every undo ran: back where it started"
    );
    assert_eq!(
        lines(&failed.report),
        [
            "undone cancel_policy",
            "undone void_visa",
            "undone cancel_room",
            "undone cancel_room",
            "undone cancel_room"
        ],
        "the check's branches in reverse order (weather has no undo), then the rooms"
    );
    let calls = agency.calls();
    assert_eq!(
        calls[calls.len() - 5..],
        [
            "cancel_policy 9",
            "void_visa 7",
            "cancel_room graz",
            "cancel_room turin",
            "cancel_room lyon"
        ],
        "each undo receives its part's own output"
    );
}

#[tokio::test]
async fn a_part_that_fails_undoes_the_steps_completed_parts_then_the_chain() {
    let agency = Agency::failing(&["insurance"]);
    let booked = trip::Saga::start(planned()).book(&agency).await.unwrap();
    let failed = booked.check(&agency).await.unwrap_err();
    assert_eq!(
        (failed.step, failed.error.as_str()),
        ("check", "insurance failed")
    );
    assert_eq!(failed.input, Some(planned()));
    assert_eq!(
        lines(&failed.report),
        [
            "undone void_visa",
            "undone cancel_room",
            "undone cancel_room",
            "undone cancel_room"
        ],
        "the visa (completed) is undone, the failed insurance is not, then the rooms"
    );
}

#[tokio::test]
async fn an_item_that_fails_undoes_the_items_booked_and_the_saga_is_back_at_its_start() {
    let agency = Agency::failing(&["book_room graz"]);
    let failed = trip::Saga::start(planned())
        .book(&agency)
        .await
        .unwrap_err();
    assert_eq!(failed.step, "book");
    assert_eq!(failed.input, Some(planned()));
    let mut undone = lines(&failed.report);
    undone.sort();
    assert_eq!(undone, ["undone cancel_room", "undone cancel_room"]);
    let mut cancelled: Vec<_> = agency
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("cancel_room"))
        .collect();
    cancelled.sort();
    assert_eq!(cancelled, ["cancel_room lyon", "cancel_room turin"]);
}

#[tokio::test]
async fn an_undo_of_a_part_that_fails_skips_the_older_ones() {
    let agency = Agency::failing(&["void_visa"]);
    let checked = trip::Saga::start(planned())
        .book(&agency)
        .await
        .unwrap()
        .check(&agency)
        .await
        .unwrap();
    let aborted = checked.abort(&agency).await;
    assert_eq!(aborted.state, None, "an undo failed: not back at the start");
    assert_eq!(
        lines(&aborted.report),
        [
            "undone cancel_policy",
            "failed void_visa: void_visa 7 failed",
            "skipped cancel_room",
            "skipped cancel_room",
            "skipped cancel_room"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_driver_runs_the_same_undos_for_the_same_failure() {
    use workflow_core::runtime::{Outcome, Runtime};

    let saga_agency = Agency::failing(&["confirm"]);
    let checked = trip::Saga::start(planned())
        .book(&saga_agency)
        .await
        .unwrap()
        .check(&saga_agency)
        .await
        .unwrap();
    let mut by_saga = lines(&checked.confirm(&saga_agency).await.unwrap_err().report);

    let runtime = Runtime::<trip::Flow, _>::new(Agency::failing(&["confirm"]));
    let id = runtime.start(planned()).await.unwrap();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!("failed")
    };
    let mut by_driver: Vec<String> = report
        .entries()
        .iter()
        .map(|entry| match entry {
            Entry::Undone { undo } => format!("undone {undo}"),
            other => format!("{other:?}"),
        })
        .collect();
    // The driver undoes parts in the order they completed, which timing decides.
    by_saga.sort();
    by_driver.sort();
    assert_eq!(by_saga, by_driver);
}
