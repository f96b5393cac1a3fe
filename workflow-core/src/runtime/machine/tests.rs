//! The machine on its own: no tokio, no store. A small simulator plays the host: it commits
//! every effect at once, runs the commands with scripted results, keeps the inbox, and can
//! "crash" (restore the machine from its last snapshot, losing what was in flight).

// The flow's generated items are `pub`, as in a user's crate; expanded in this crate, the
// hidden macros they come from are local, so the lint sees them in a private module.
#![allow(unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;

use super::{Command, Effects, Input, Machine, Message};
use crate::runtime::Outcome;
use crate::store::{Answer, MessageId, Record, RecordKind, Snapshot, Status, Wake};
use crate::{Entry, Failure, FailureKind, InstanceId, Workflow};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(
    unreachable_pub,
    reason = "the flow's event types are public like its states"
)]
pub struct Confirm;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[allow(
    unreachable_pub,
    reason = "the flow's event types are public like its states"
)]
pub struct Finish;

crate::workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Trip {
        initial Planned   { n: f64 }
        state   Booked    { n: f64 }
        state   Paid      { n: f64 }
        state   Confirmed { n: f64 }
        final   Done      { n: f64 }
        final   Dropped   { n: f64 }

        book:    Planned -> Booked undo unbook, retry(2, 1s..1s);
        pay:     Booked -> Paid undo refund, retry(3, 1s..4s), timeout(10s);
        confirm: Paid -> Confirmed undo unconfirm, on Confirm;
        finish:  Confirmed -> Done, on Finish;
        lapse:   Paid -> Dropped, after(1h), compensate;
    }
}

use trip::{Booked, Confirmed, Done, Dropped, Paid, Planned, State};

type M = Machine<trip::Flow>;

/// What a step returns: its target, built from the source state.
fn target(transition: &str, from: &State) -> State {
    let n = match from {
        State::Planned(s) => s.n,
        State::Booked(s) => s.n,
        State::Paid(s) => s.n,
        State::Confirmed(s) => s.n,
        State::Done(s) => s.n,
        State::Dropped(s) => s.n,
    };
    match transition {
        "book" => Booked { n }.into(),
        "pay" => Paid { n }.into(),
        "confirm" => Confirmed { n }.into(),
        "finish" => Done { n }.into(),
        _ => Dropped { n }.into(),
    }
}

/// The host, played by hand.
struct Sim {
    machine: M,
    now: u64,
    /// Every record committed, in order.
    records: Vec<Record>,
    /// The inbox: every message posted, with its answer once given.
    inbox: BTreeMap<MessageId, (Message<trip::Flow>, Option<Answer>)>,
    next_message: u64,
    /// The attempt the machine asked for and that has not ended.
    command: Option<Command>,
    /// Forward steps and undos called, as `(name, key, attempt)`.
    calls: Vec<(String, String, u32)>,
    /// The undos that succeeded, by key.
    undone: Vec<String>,
    snapshot: Snapshot,
}

fn clone_message(message: &Message<trip::Flow>) -> Message<trip::Flow> {
    match message {
        Message::Event { id, event, json } => Message::Event {
            id: *id,
            event: event.clone(),
            json: Arc::clone(json),
        },
        Message::Cancel { id } => Message::Cancel { id: *id },
        Message::Compensate { id } => Message::Compensate { id: *id },
        Message::Release { id } => Message::Release { id: *id },
        Message::Pause { id } => Message::Pause { id: *id },
        Message::Unpause { id } => Message::Unpause { id: *id },
        Message::ChildEnded { id, child } => Message::ChildEnded {
            id: *id,
            child: child.clone(),
        },
    }
}

impl Sim {
    fn start(n: f64) -> Self {
        let (machine, fx) = M::start(InstanceId::new("t-1"), Planned { n }.into(), 0)
            .map_err(|(why, _)| why)
            .unwrap();
        let snapshot = machine.snapshot();
        let mut sim = Self {
            machine,
            now: 0,
            records: Vec::new(),
            inbox: BTreeMap::new(),
            next_message: 0,
            command: None,
            calls: Vec::new(),
            undone: Vec::new(),
            snapshot,
        };
        sim.commit(fx);
        sim
    }

    /// Writes `fx` (records, answers, snapshot), then takes its command.
    fn commit(&mut self, mut fx: Effects) {
        for record in fx.records.drain(..) {
            let expected = self.records.last().map_or(1, |r| r.seq + 1);
            assert_eq!(
                record.seq, expected,
                "records are numbered one after the other"
            );
            self.records.push(record);
        }
        for (id, answer) in fx.answers.drain(..) {
            let entry = self
                .inbox
                .get_mut(&id)
                .expect("an answer to a posted message");
            assert!(entry.1.is_none(), "message {id} answered twice");
            entry.1 = Some(answer);
        }
        self.snapshot = self.machine.snapshot();
        assert_eq!(self.snapshot.seq, self.records.len() as u64);
        if let Some(command) = fx.command.take() {
            assert!(self.command.is_none(), "two attempts at once");
            self.command = Some(command);
        }
    }

    fn input(&mut self, input: Input<trip::Flow>) {
        let mut fx = Effects::new();
        self.machine.handle(input, self.now, &mut fx);
        self.commit(fx);
    }

    fn post(&mut self, message: impl FnOnce(MessageId) -> Message<trip::Flow>) -> MessageId {
        self.next_message += 1;
        let id = MessageId(self.next_message);
        let message = message(id);
        if self.machine.status().is_finished() {
            // The store refuses a post to an ended instance.
            return id;
        }
        self.inbox.insert(id, (clone_message(&message), None));
        self.input(Input::Message(message));
        id
    }

    fn send_confirm(&mut self) -> MessageId {
        self.post(|id| Message::Event {
            id,
            event: Confirm.into(),
            json: r#"{"Confirm":null}"#.into(),
        })
    }

    fn send_finish(&mut self) -> MessageId {
        self.post(|id| Message::Event {
            id,
            event: Finish.into(),
            json: r#"{"Finish":null}"#.into(),
        })
    }

    fn cancel(&mut self) -> MessageId {
        self.post(|id| Message::Cancel { id })
    }

    /// Ends the attempt in progress, successfully or not.
    fn complete(&mut self, ok: bool) -> bool {
        let Some(command) = self.command.take() else {
            return false;
        };
        match command {
            Command::Step {
                attempt,
                transition,
                number,
                key,
                ..
            } => {
                let name = trip::Flow::DEFINITION.transitions()[transition].name();
                self.calls.push((name.to_string(), key.to_string(), number));
                let result = if ok {
                    Ok(target(name, self.machine.state()))
                } else {
                    Err(Failure::new(name, number, FailureKind::Activity, "down"))
                };
                self.input(Input::StepDone { attempt, result });
            }
            Command::Undo {
                attempt,
                undo,
                number,
                key,
                ..
            } => {
                let name = trip::Flow::DEFINITION.undos()[undo].name();
                self.calls.push((name.to_string(), key.to_string(), number));
                if ok {
                    self.undone.push(key.to_string());
                }
                let result = if ok {
                    Ok(())
                } else {
                    Err(Failure::new(name, number, FailureKind::Activity, "down"))
                };
                self.input(Input::UndoDone { attempt, result });
            }
            // The trip flow runs no child.
            Command::UndoChild { .. } => return false,
        }
        true
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.input(Input::Tick);
    }

    /// The process dies: the attempt in flight is lost, the machine comes back from its last
    /// snapshot, and the unanswered messages are fed to it again, oldest first.
    fn crash(&mut self) {
        self.command = None;
        self.machine = M::restore(&self.snapshot).unwrap();
        let mut fx = Effects::new();
        self.machine.resume(self.now, &mut fx);
        let unanswered: Vec<Message<trip::Flow>> = self
            .inbox
            .values()
            .filter(|(_, answer)| answer.is_none())
            .map(|(message, _)| clone_message(message))
            .collect();
        for message in unanswered {
            self.machine
                .handle(Input::Message(message), self.now, &mut fx);
        }
        self.commit(fx);
    }

    fn kinds(&self) -> Vec<String> {
        self.records
            .iter()
            .map(|r| match &r.kind {
                RecordKind::Started => "started".to_string(),
                RecordKind::EventAccepted { transition, .. } => format!("event {transition}"),
                RecordKind::TimerFired { transition } => format!("timer {transition}"),
                RecordKind::AttemptFailed { failure, .. } => format!("failed {}", failure.step),
                RecordKind::Transition { transition, .. } => format!("-> {transition}"),
                RecordKind::Caught { transition, .. } => format!("caught {transition}"),
                RecordKind::Decided { transition, branch } => {
                    format!("{transition} chose {branch}")
                }
                RecordKind::CompensationStarted { .. } => "compensate".to_string(),
                RecordKind::Undone { undo, .. } => format!("undone {undo}"),
                RecordKind::Ended { status } => format!("ended {status}"),
                RecordKind::PartDone {
                    transition, part, ..
                } => format!("{transition} part {part}"),
                RecordKind::ChildStarted { transition, child } => {
                    format!("{transition} started {child}")
                }
                RecordKind::Migrated { from_state, .. } => format!("migrated from {from_state}"),
                RecordKind::Paused => "paused".to_string(),
                RecordKind::Unpaused => "unpaused".to_string(),
            })
            .collect()
    }

    fn steps(&self) -> Vec<&str> {
        self.calls
            .iter()
            .map(|(name, _, _)| name.as_str())
            .collect()
    }
}

#[test]
fn automatic_steps_run_one_after_another_and_the_instance_waits_for_its_event() {
    let mut sim = Sim::start(1.0);
    assert!(sim.complete(true)); // book
    assert!(sim.complete(true)); // pay
    assert!(!sim.complete(true), "Paid waits for a confirmation");
    assert_eq!(sim.machine.state().name(), "Paid");
    assert_eq!(sim.machine.wake(), Wake::At(3_600_000), "the lapse timer");
    let confirm = sim.send_confirm();
    assert!(sim.complete(true));
    sim.send_finish();
    assert!(sim.complete(true));
    assert_eq!(sim.steps(), ["book", "pay", "confirm", "finish"]);
    assert_eq!(
        sim.kinds(),
        [
            "started",
            "-> book",
            "-> pay",
            "event confirm",
            "-> confirm",
            "event finish",
            "-> finish"
        ]
    );
    assert_eq!(sim.inbox[&confirm].1, Some(Answer::Applied));
    assert_eq!(
        sim.machine.outcome(),
        Some(Outcome::Completed(Done { n: 1.0 }.into()))
    );
    assert_eq!(sim.machine.wake(), Wake::OnMessage);
}

#[test]
fn a_failed_attempt_waits_and_is_retried_with_the_same_key_then_the_chain_unwinds() {
    let mut sim = Sim::start(1.0);
    sim.complete(true); // book
    sim.complete(false); // pay, attempt 1
    assert_eq!(sim.machine.wake(), Wake::At(1_000));
    assert!(sim.command.is_none(), "nothing runs during the wait");
    sim.advance(999);
    assert!(sim.command.is_none());
    sim.advance(1);
    sim.complete(false); // attempt 2, then a wait of 2s
    sim.advance(2_000);
    sim.complete(false); // attempt 3: the last
    sim.complete(true); // unbook
    let pays: Vec<_> = sim.calls.iter().filter(|c| c.0 == "pay").collect();
    assert_eq!(pays.len(), 3);
    assert!(
        pays.iter().all(|c| c.1 == pays[0].1),
        "one key for every attempt"
    );
    assert_eq!(pays.iter().map(|c| c.2).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        sim.kinds(),
        [
            "started",
            "-> book",
            "failed pay",
            "failed pay",
            "failed pay",
            "compensate",
            "undone unbook",
            "ended failed"
        ]
    );
    let Some(Outcome::Failed {
        failure, report, ..
    }) = sim.machine.outcome()
    else {
        panic!("failed");
    };
    assert_eq!(
        (failure.step(), failure.attempt(), failure.kind()),
        ("pay", 3, FailureKind::Activity)
    );
    assert_eq!(report.entries(), [Entry::Undone { undo: "unbook" }]);
}

#[test]
fn an_event_during_an_attempt_is_held_and_decided_when_it_ends() {
    let mut sim = Sim::start(1.0);
    sim.complete(true); // book; pay is running
    let early = sim.send_confirm();
    let wrong = sim.send_finish();
    assert_eq!(
        sim.inbox[&early].1, None,
        "held, not decided, while pay runs"
    );
    sim.complete(true); // pay lands in Paid, which takes the confirmation
    assert_eq!(sim.inbox[&early].1, Some(Answer::Applied));
    assert_eq!(sim.inbox[&wrong].1, None, "Confirmed may take it next");
    sim.complete(true); // confirm lands in Confirmed: finish is taken now
    assert_eq!(sim.inbox[&wrong].1, Some(Answer::Applied));
    sim.complete(true);
    assert_eq!(sim.machine.status(), Status::Completed);
}

#[test]
fn an_event_the_waiting_state_does_not_take_is_refused_and_changes_nothing() {
    let mut sim = Sim::start(1.0);
    sim.complete(true);
    sim.complete(true); // Paid, waiting
    let before = sim.records.len();
    let finish = sim.send_finish();
    assert_eq!(
        sim.inbox[&finish].1,
        Some(Answer::NotAccepted {
            state: "Paid".into()
        })
    );
    assert_eq!(sim.records.len(), before, "no record");
    assert_eq!(sim.machine.state().name(), "Paid");
}

#[test]
fn a_cancel_during_a_retry_wait_gives_the_step_up_and_compensates() {
    let mut sim = Sim::start(1.0);
    sim.complete(true); // book
    sim.complete(false); // pay fails; waits 1s
    let cancel = sim.cancel();
    assert_eq!(sim.inbox[&cancel].1, Some(Answer::Applied));
    sim.complete(true); // unbook
    sim.advance(10_000);
    assert!(sim.command.is_none(), "the abandoned step is not retried");
    assert!(matches!(
        sim.machine.outcome(),
        Some(Outcome::Cancelled { .. })
    ));
    assert_eq!(sim.steps(), ["book", "pay", "unbook"]);
}

#[test]
fn the_timer_fires_when_due_and_its_transition_compensates_before_landing() {
    let mut sim = Sim::start(1.0);
    sim.complete(true);
    sim.complete(true); // Paid at 0ms
    sim.advance(3_599_999);
    assert!(sim.command.is_none());
    sim.advance(1);
    sim.complete(true); // lapse
    sim.complete(true); // refund
    sim.complete(true); // unbook
    assert_eq!(sim.steps(), ["book", "pay", "lapse", "refund", "unbook"]);
    assert_eq!(
        sim.machine.outcome(),
        Some(Outcome::Completed(Dropped { n: 1.0 }.into()))
    );
    assert_eq!(
        sim.kinds()[3..],
        [
            "timer lapse",
            "compensate",
            "undone refund",
            "undone unbook",
            "-> lapse"
        ]
    );
}

#[test]
fn after_a_crash_the_interrupted_attempt_runs_again_with_its_key_and_what_is_left_of_its_timeout() {
    let mut sim = Sim::start(1.0);
    sim.complete(true); // book at 0; pay starts at 0 with a 10s timeout
    sim.now = 4_000;
    sim.crash();
    let Some(Command::Step {
        number,
        deadline,
        ref key,
        ..
    }) = sim.command
    else {
        panic!("pay runs again");
    };
    assert_eq!(
        (number, deadline),
        (1, Some((10_000, std::time::Duration::from_secs(10))))
    );
    assert_eq!(&**key, "t-1/2/pay");
    sim.complete(true);
    assert_eq!(sim.calls.iter().filter(|c| c.0 == "pay").count(), 1);
}

#[test]
fn a_step_returning_a_state_json_cannot_hold_fails_its_attempt_and_the_instance_stays() {
    let mut sim = Sim::start(1.0);
    let Some(Command::Step { attempt, .. }) = sim.command.take() else {
        panic!("book runs");
    };
    sim.input(Input::StepDone {
        attempt,
        result: Ok(Booked { n: f64::NAN }.into()),
    });
    assert_eq!(sim.machine.state().name(), "Planned");
    let RecordKind::AttemptFailed { failure, .. } = &sim.records.last().unwrap().kind else {
        panic!("a failed attempt");
    };
    assert_eq!(failure.kind(), FailureKind::Unstorable);
    assert!(failure.message().contains("field `n`"), "{failure}");
}

#[test]
fn a_start_state_json_cannot_hold_is_handed_back() {
    let Err((_, state)) = M::start(InstanceId::new("nan"), Planned { n: f64::NAN }.into(), 0)
    else {
        panic!("refused");
    };
    assert!(matches!(state, State::Planned(p) if p.n.is_nan()));
}

/// One thing that can happen next, in a random run.
#[derive(Debug, Clone)]
enum Op {
    Complete(bool),
    Confirm,
    Finish,
    Cancel,
    Advance(u64),
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<bool>().prop_map(Op::Complete),
        2 => Just(Op::Confirm),
        1 => Just(Op::Finish),
        1 => Just(Op::Cancel),
        2 => prop_oneof![Just(1_000_u64), Just(4_000), Just(3_600_000)].prop_map(Op::Advance),
        1 => Just(Op::Crash),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Whatever happens in whatever order, the instance ends with a history that agrees with
    /// its outcome, every message answered exactly once, every applied event recorded exactly
    /// once, and no undo run successfully twice or out of order.
    #[test]
    fn random_interleavings_keep_the_invariants(ops in proptest::collection::vec(op(), 0..40)) {
        let mut sim = Sim::start(1.0);
        for op in ops {
            match op {
                Op::Complete(ok) => { sim.complete(ok); }
                Op::Confirm => { sim.send_confirm(); }
                Op::Finish => { sim.send_finish(); }
                Op::Cancel => { sim.cancel(); }
                Op::Advance(ms) => sim.advance(ms),
                Op::Crash => sim.crash(),
            }
        }
        // Then let it finish: every attempt succeeds, time passes, it is cancelled if it
        // would wait for ever.
        for _ in 0..50 {
            if sim.machine.status().is_finished() { break; }
            if !sim.complete(true) {
                match sim.machine.wake() {
                    Wake::OnMessage if !sim.inbox.values().any(|(m, a)| a.is_none() && matches!(m, Message::Cancel { .. })) => { sim.cancel(); }
                    _ => sim.advance(3_600_000),
                }
            }
        }
        prop_assert!(sim.machine.status().is_finished(), "{:?}", sim.kinds());
        check_invariants(&sim)?;
    }
}

fn check_invariants(sim: &Sim) -> Result<(), TestCaseError> {
    // Every message answered exactly once (answering twice panics in `commit`).
    for (id, (_, answer)) in &sim.inbox {
        prop_assert!(answer.is_some(), "message {id} never answered");
    }
    // Every applied event is recorded exactly once, by its message.
    let accepted: Vec<MessageId> = sim
        .records
        .iter()
        .filter_map(|r| match &r.kind {
            RecordKind::EventAccepted { message, .. } => Some(*message),
            _ => None,
        })
        .collect();
    let unique: BTreeSet<_> = accepted.iter().collect();
    prop_assert_eq!(unique.len(), accepted.len(), "an event applied twice");
    for (id, (message, answer)) in &sim.inbox {
        let applied = matches!(answer, Some(Answer::Applied));
        let is_event = matches!(message, Message::Event { .. });
        prop_assert_eq!(applied && is_event, accepted.contains(id), "message {}", id);
    }
    // An event refused was refused by a state that does not take it.
    let def = trip::Flow::DEFINITION;
    for (id, (message, answer)) in &sim.inbox {
        if let (Message::Event { event, .. }, Some(Answer::NotAccepted { state })) =
            (message, answer)
        {
            let state = def.state_index(state).unwrap();
            prop_assert!(
                def.on_event(state, crate::FlowEvent::index(event))
                    .is_none(),
                "message {} refused by {}, which takes it",
                id,
                def.states()[state].name()
            );
        }
    }
    // No undo succeeded twice; undos ran newest first (their keys carry their seq).
    let undone: BTreeSet<_> = sim.undone.iter().collect();
    prop_assert_eq!(
        undone.len(),
        sim.undone.len(),
        "an undo succeeded twice: {:?}",
        sim.undone
    );
    let seqs: Vec<u64> = sim
        .undone
        .iter()
        .map(|key| key.split('/').nth(1).unwrap().parse().unwrap())
        .collect();
    prop_assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "undos out of order: {:?}",
        sim.undone
    );
    // Every undo that ran undoes a transition that landed.
    for key in &sim.undone {
        let seq: u64 = key.split('/').nth(1).unwrap().parse().unwrap();
        let landed = sim
            .records
            .iter()
            .any(|r| r.seq == seq && matches!(r.kind, RecordKind::Transition { .. }));
        prop_assert!(landed, "undo {} of nothing", key);
    }
    // The outcome agrees with the history.
    let last = &sim.records.last().unwrap().kind;
    let outcome = sim.machine.outcome().unwrap();
    match &outcome {
        Outcome::Completed(state) => {
            prop_assert!(state.is_final());
            prop_assert!(matches!(last, RecordKind::Transition { .. }), "{:?}", last);
        }
        Outcome::Failed { .. } | Outcome::Cancelled { .. } => {
            prop_assert_eq!(
                last,
                &RecordKind::Ended {
                    status: outcome.status()
                }
            );
        }
    }
    if let Some(report) = outcome.report() {
        let recorded: Vec<String> = sim
            .records
            .iter()
            .rev()
            .take_while(|r| !matches!(r.kind, RecordKind::CompensationStarted { .. }))
            .filter_map(|r| match &r.kind {
                RecordKind::Undone { undo, .. } => Some(undo.to_string()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let reported: Vec<String> = report
            .undone_steps()
            .iter()
            .map(ToString::to_string)
            .collect();
        prop_assert_eq!(reported, recorded);
    }
    // The stored snapshot reads back as the machine.
    let restored = M::restore(&sim.snapshot).unwrap();
    prop_assert_eq!(restored.snapshot(), sim.machine.snapshot());
    Ok(())
}

#[test]
fn an_idempotency_key_is_the_instance_the_record_count_and_the_step() {
    let id = InstanceId::new("o-1");
    assert_eq!(&*super::step_key(&id, 0, "", "pay"), "o-1/0/pay");
    assert_eq!(
        &*super::step_key(&id, 40, "undo/", "refund"),
        "o-1/40/undo/refund"
    );
    assert_eq!(
        &*super::step_key(&id, u64::MAX, "", "pay"),
        format!("o-1/{}/pay", u64::MAX)
    );
}
