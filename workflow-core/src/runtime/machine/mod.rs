//! An instance's logic as a pure machine: given its state and one input (a step's result, a
//! message, the clock) it changes itself and says what to record, what to answer and what to
//! run next. No I/O, no tokio, no store: time comes in as an argument, effects go out as data,
//! so every interleaving can be tested in microseconds, and the same machine serves every
//! store.
//!
//! The host around it ([`super::instance`]) feeds it inputs, writes its [`Effects`] to the
//! store under the instance's claim, and only then carries out the command.
//!
//! - [`mod@self`]: the machine's parts, starting, restoring, the stored snapshot;
//! - [`decide`]: what to do between steps (messages, timers, automatic transitions, retries);
//! - [`parts`]: transitions made of parts (parallel branches, one activity per item);
//! - [`child`]: transitions that run a child flow;
//! - [`unwind`]: compensation, one undo at a time;
//! - [`parallel_undo`]: compensation of a step's parts all at once (`undo(parallel)`).

mod child;
mod decide;
mod parallel_undo;
mod parts;
mod unwind;

#[cfg(test)]
mod tests;

use core::time::Duration;
use std::collections::VecDeque;
use std::sync::Arc;

use super::child::ChildEnd;
use super::codec::{self, Unstorable};
use super::policy::due_in;
use super::{Durable, Outcome};
use crate::store::{self, Answer, MessageId, Post, Record, RecordKind, Snapshot, Status, Wake};
use crate::{Definition, Failure, FlowState, InstanceId, Report, RetryPolicy, Wait};

/// Identifies one attempt the machine asked for, so that a late result of an attempt it no
/// longer waits for is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct AttemptId(u64);

/// What can happen to an instance.
pub(crate) enum Input<W: Durable> {
    /// Time passed: a timer or a retry may be due.
    Tick,
    /// A message from the inbox, decoded.
    Message(Message<W>),
    /// An attempt of a transition ended.
    StepDone {
        attempt: AttemptId,
        result: Result<W::State, Failure>,
    },
    /// An attempt of a part (a branch, or an item) of the current step ended: its output as
    /// JSON, or why not.
    PartDone {
        attempt: AttemptId,
        part: usize,
        result: Result<Arc<str>, Failure>,
    },
    /// An attempt of an undo ended.
    UndoDone {
        attempt: AttemptId,
        result: Result<(), Failure>,
    },
    /// An attempt of a step that runs a child flow found its child (started now, or
    /// before): how it ended, or `None` while it runs.
    Child {
        attempt: AttemptId,
        child: InstanceId,
        ended: Option<ChildEnd>,
    },
    /// An attempt of the undo of the link recorded by record `seq`, one of several undone at
    /// once, ended.
    UndoPartDone {
        attempt: AttemptId,
        seq: u64,
        result: Result<(), Failure>,
    },
    /// An attempt to compensate the held child of the newest link on the chain: the child
    /// is compensated (or its compensation failed), or `None` while it compensates.
    ChildUndone {
        attempt: AttemptId,
        result: Option<Result<(), Failure>>,
    },
}

/// A message from the inbox.
pub(crate) enum Message<W: Durable> {
    Event {
        id: MessageId,
        event: W::Event,
        json: Arc<str>,
    },
    Cancel {
        id: MessageId,
    },
    /// A child this instance started has ended.
    ChildEnded {
        id: MessageId,
        child: InstanceId,
    },
    /// From the parent, while held in the final state: undo and end cancelled.
    Compensate {
        id: MessageId,
    },
    /// From the parent, while held in the final state: complete.
    Release {
        id: MessageId,
    },
    /// From an operator: start nothing until unpaused.
    Pause {
        id: MessageId,
    },
    /// From an operator: carry on.
    Unpause {
        id: MessageId,
    },
}

impl<W: Durable> Message<W> {
    fn id(&self) -> MessageId {
        match self {
            Self::Event { id, .. }
            | Self::Cancel { id }
            | Self::ChildEnded { id, .. }
            | Self::Compensate { id }
            | Self::Release { id }
            | Self::Pause { id }
            | Self::Unpause { id } => *id,
        }
    }
}

/// What the host must do, in order: write the records and answers (with the snapshot), then
/// carry out the command.
pub(crate) struct Effects {
    pub(crate) records: Vec<Record>,
    pub(crate) answers: Vec<(MessageId, Answer)>,
    pub(crate) command: Option<Command>,
    /// Attempts of parts to make, all at once, besides any running.
    pub(crate) parts: Vec<PartCommand>,
    /// The parts still running are no longer waited for: stop them.
    pub(crate) stop_parts: bool,
    /// Messages to other instances, posted with the write (a child's end, a child's cancel).
    pub(crate) posts: Vec<Post>,
    /// Parts start with this write: the snapshot, which marks them running, must be
    /// written first even with no record (after a crash they may have acted).
    pub(crate) starts_parts: bool,
    /// Attempts of undos to make at once, besides any running (`undo(parallel)`).
    pub(crate) undo_parts: Vec<UndoPartCommand>,
}

impl Effects {
    pub(crate) const fn new() -> Self {
        Self {
            records: Vec::new(),
            answers: Vec::new(),
            command: None,
            parts: Vec::new(),
            stop_parts: false,
            posts: Vec::new(),
            undo_parts: Vec::new(),
            starts_parts: false,
        }
    }

    /// Whether there is anything to write.
    pub(crate) fn must_write(&self) -> bool {
        !self.records.is_empty()
            || !self.answers.is_empty()
            || !self.posts.is_empty()
            || self.starts_parts
    }
}

/// An attempt to make, once the effects before it are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Attempt transition `transition` from the current state (with the step's event).
    Step {
        attempt: AttemptId,
        transition: usize,
        number: u32,
        key: Arc<str>,
        /// When the attempt must be over, and its timeout (for the message).
        deadline: Option<(u64, Duration)>,
    },
    /// Attempt undo `undo` on the newest entry of the chain.
    Undo {
        attempt: AttemptId,
        undo: usize,
        number: u32,
        key: Arc<str>,
        deadline: Option<(u64, Duration)>,
    },
    /// Compensate `child`, held by step `transition`: the newest entry of the chain.
    UndoChild {
        attempt: AttemptId,
        transition: usize,
        child: InstanceId,
    },
}

/// An attempt of one part of the current step (which runs while others do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartCommand {
    pub(crate) attempt: AttemptId,
    pub(crate) transition: usize,
    pub(crate) part: usize,
    pub(crate) number: u32,
    pub(crate) key: Arc<str>,
    pub(crate) deadline: Option<(u64, Duration)>,
}

/// An attempt of the undo of one link, made while others are (`undo(parallel)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UndoPartCommand {
    pub(crate) attempt: AttemptId,
    pub(crate) undo: usize,
    /// The link's record number, which names it.
    pub(crate) seq: u64,
    pub(crate) number: u32,
    pub(crate) key: Arc<str>,
    pub(crate) deadline: Option<(u64, Duration)>,
    /// What the undo receives: the part's output.
    pub(crate) json: Arc<str>,
}

/// An instance, as the machine sees it.
pub(crate) struct Machine<W: Durable> {
    id: InstanceId,
    seq: u64,
    at_ms: u64,
    status: Status,
    state: W::State,
    json: Arc<str>,
    chain: Vec<Link>,
    timer: Option<After>,
    work: Option<Work<W>>,
    ending: Option<store::Ending>,
    /// Messages not decided yet: they stay unanswered in the inbox meanwhile.
    held: VecDeque<Message<W>>,
    attempts: u64,
    /// The instance that started this one as a child, told when it ends.
    parent: Option<store::Parent>,
    /// Paused by an operator: nothing is started until an unpause.
    paused: bool,
}

/// One undo on the chain, with the state it receives, as JSON: decoded only if the undo runs.
struct Link {
    undo: Undo,
    seq: u64,
    json: Arc<str>,
    /// For a part of a step with `undo(parallel)`: the step's key, which the links undone
    /// together share.
    together: Option<Arc<str>>,
}

/// What undoes a link.
#[derive(Clone, PartialEq, Eq)]
enum Undo {
    /// The definition's undo of this number: an activity.
    Activity(usize),
    /// Compensating `child`, which step `transition` ran and which is held in its final
    /// state.
    Child {
        transition: usize,
        child: InstanceId,
    },
}

impl Undo {
    /// Its name: the undo's, or the child step's.
    fn name(&self, def: &'static Definition) -> &'static str {
        match self {
            Self::Activity(undo) => def.undos()[*undo].name(),
            Self::Child { transition, .. } => def.transitions()[*transition].name(),
        }
    }
}

/// The current state's `after` timer.
#[derive(Clone, Copy)]
struct After {
    transition: usize,
    due_ms: u64,
}

enum Work<W: Durable> {
    Step(Step<W>),
    Unwinding(Unwinding<W>),
}

/// A transition being attempted.
struct Step<W: Durable> {
    transition: usize,
    event: Option<(W::Event, Arc<str>)>,
    key: Arc<str>,
    started_ms: u64,
    failed: u32,
    retry_at_ms: Option<u64>,
    running: Option<AttemptId>,
    /// For a transition made of parts: each part's progress.
    split: Option<Split>,
    /// For a transition that runs a child flow: the child, once started.
    child: Option<ChildWait>,
}

/// The child a step started, which it waits for.
struct ChildWait {
    id: InstanceId,
    /// The step's last look found it running: it waits for the child's end to be posted.
    /// Not kept in the store: after a restart the step looks again.
    running: bool,
    /// The step's last look found it held in its final state: once the step lands, the
    /// child is on the chain.
    held: bool,
}

/// The parts of a step made of parts, by part number.
struct Split {
    parts: Vec<Part>,
    /// A part failed for good: no part starts any more, and once those running are over
    /// (each recorded, those that succeeded on the chain) the step fails with this.
    given_up: Option<Failure>,
}

/// One part's progress.
#[derive(Default)]
struct Part {
    output: Option<Arc<str>>,
    failed: u32,
    retry_at_ms: Option<u64>,
    running: Option<AttemptId>,
    /// Its attempt was running when the instance was last written, and no end of it was
    /// read back: it may have acted before a crash.
    in_flight: bool,
}

/// Compensation running.
struct Unwinding<W: Durable> {
    cause: Cause<W>,
    report: Report<Failure>,
    started_ms: u64,
    failed: u32,
    retry_at_ms: Option<u64>,
    running: Option<AttemptId>,
    /// How many of the chain's oldest links it leaves.
    keep: usize,
    /// The newest link's child was found compensating: the unwinding waits for its end to
    /// be posted. Not kept in the store: after a restart it looks again.
    child_running: bool,
    /// The newest links, of one step with `undo(parallel)`, being undone at once.
    batch: Option<parallel_undo::Batch>,
    /// Read back from the store: the failed attempts of the batch's undos, for the batch
    /// when it starts again.
    restored_batch: Vec<store::UndoWork>,
}

enum Cause<W: Durable> {
    Failed(Failure),
    Cancelled,
    Transition {
        transition: usize,
        how: How,
        state: W::State,
        json: Arc<str>,
    },
}

/// How a transition produced the state it lands in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum How {
    /// Its activity's attempt `number` succeeded.
    Activity(u32),
    /// Its attempt `number`, the last, failed, and its `catch` built the state.
    Caught(u32),
    /// Its guard chose, with no activity.
    Decided,
}

impl How {
    /// As stored: what produced the state, and the attempt (0 for a guard).
    fn stored(self) -> (store::LandedBy, u32) {
        match self {
            Self::Activity(number) => (store::LandedBy::Activity, number),
            Self::Caught(number) => (store::LandedBy::Catch, number),
            Self::Decided => (store::LandedBy::Guard, 0),
        }
    }

    fn from_stored(by: store::LandedBy, attempt: u32) -> Self {
        match by {
            store::LandedBy::Catch => Self::Caught(attempt),
            store::LandedBy::Guard => Self::Decided,
            _ => Self::Activity(attempt),
        }
    }

    /// The stored landing of `transition`, which produced `json`.
    fn landing(
        self,
        def: &'static Definition,
        transition: usize,
        json: &Arc<str>,
    ) -> store::Landing {
        let (by, attempt) = self.stored();
        store::Landing {
            transition: def.transitions()[transition].name().into(),
            attempt,
            state: Arc::clone(json),
            by,
        }
    }
}

impl<W: Durable> Machine<W> {
    const DEF: &'static Definition = W::DEFINITION;

    /// A new instance in `state`, started at `now_ms`: its first record, and its first step
    /// if its state has an automatic transition.
    #[cfg(test)]
    pub(crate) fn start(
        id: InstanceId,
        state: W::State,
        now_ms: u64,
    ) -> Result<(Self, Effects), (Unstorable, W::State)> {
        let (mut machine, mut fx) = Self::begin(id, state, now_ms)?;
        machine.advance(now_ms, &mut fx);
        Ok((machine, fx))
    }

    /// A new instance in `state`, started at `now_ms`, as it is created in the store: its
    /// first record only. [`Machine::resume`] then decides what it does first (a guard may
    /// decide at once, which is a record of its own, written after the instance exists).
    pub(crate) fn begin(
        id: InstanceId,
        state: W::State,
        now_ms: u64,
    ) -> Result<(Self, Effects), (Unstorable, W::State)> {
        let json = match codec::encode_state(&state) {
            Ok(json) => json,
            Err(why) => return Err((why, state)),
        };
        let mut machine = Self {
            id,
            seq: 0,
            at_ms: now_ms,
            status: Status::Running,
            state,
            json,
            chain: Vec::new(),
            timer: None,
            work: None,
            ending: None,
            held: VecDeque::new(),
            attempts: 0,
            parent: None,
            paused: false,
        };
        let mut fx = Effects::new();
        machine.arm_timer(now_ms);
        machine.record(&mut fx, now_ms, RecordKind::Started);
        Ok((machine, fx))
    }

    /// The instance `snapshot` describes, as it was written.
    pub(crate) fn restore(snapshot: &Snapshot) -> Result<Self, String> {
        let def = Self::DEF;
        let decode_state = |what: &str, json: &str| {
            codec::decode::<W::State>(json).map_err(|e| format!("{what} cannot be decoded: {e}"))
        };
        let transition = |name: &str| {
            def.transition_index(name)
                .ok_or_else(|| format!("unknown transition `{name}`"))
        };
        let chain = restore_chain(def, &snapshot.chain)?;
        let timer = match &snapshot.timer {
            Some(timer) => Some(After {
                transition: transition(&timer.transition)?,
                due_ms: timer.due_ms,
            }),
            None => None,
        };
        let state = decode_state(&format!("state `{}`", snapshot.state_name), &snapshot.state)?;
        let work = match &snapshot.work {
            None => None,
            Some(store::Work::Step(step)) => {
                let event = match &step.event {
                    Some(json) => Some((
                        codec::decode::<W::Event>(json)
                            .map_err(|e| format!("the step's event cannot be decoded: {e}"))?,
                        Arc::clone(json),
                    )),
                    None => None,
                };
                let transition = transition(&step.transition)?;
                Some(Work::Step(Step {
                    transition,
                    event,
                    key: Arc::clone(&step.key),
                    started_ms: step.started_ms,
                    failed: step.failed,
                    retry_at_ms: step.retry_at_ms,
                    running: None,
                    split: def.transitions()[transition].parts().map(|_| {
                        let total = W::part_count(transition, &state);
                        Split::restore(&step.parts, step.given_up.clone(), total)
                    }),
                    child: step.child.clone().map(|id| ChildWait {
                        id,
                        running: false,
                        held: false,
                    }),
                }))
            }
            Some(store::Work::Compensation(unwinding)) => {
                let cause = match &unwinding.cause {
                    store::Cause::Failed(failure) => Cause::Failed(failure.clone()),
                    store::Cause::Cancelled => Cause::Cancelled,
                    store::Cause::Transition(landing) => Cause::Transition {
                        transition: transition(&landing.transition)?,
                        how: How::from_stored(landing.by, landing.attempt),
                        state: decode_state("the landing state", &landing.state)?,
                        json: Arc::clone(&landing.state),
                    },
                };
                Some(Work::Unwinding(Unwinding {
                    cause,
                    report: report_from_lines(def, &unwinding.report),
                    started_ms: unwinding.started_ms,
                    failed: unwinding.failed,
                    retry_at_ms: unwinding.retry_at_ms,
                    running: None,
                    keep: unwinding.keep,
                    child_running: false,
                    batch: None,
                    restored_batch: unwinding.batch.clone(),
                }))
            }
        };
        Ok(Self {
            id: snapshot.id.clone(),
            seq: snapshot.seq,
            at_ms: snapshot.at_ms,
            status: snapshot.status,
            state,
            json: Arc::clone(&snapshot.state),
            chain,
            timer,
            work,
            ending: snapshot.ending.clone(),
            held: VecDeque::new(),
            attempts: 0,
            parent: snapshot.parent.clone(),
            paused: snapshot.paused,
        })
    }

    /// Carries on after a restart (or a claim taken over): an interrupted attempt is made
    /// again, with its key and what is left of its timeout; a retry or an undo waits out
    /// what is left of its wait.
    pub(crate) fn resume(&mut self, now_ms: u64, fx: &mut Effects) {
        if !self.status.is_finished() {
            self.advance(now_ms, fx);
        }
    }

    /// Changes the machine by `input`, at `now_ms`, adding what must be done to `fx`.
    pub(crate) fn handle(&mut self, input: Input<W>, now_ms: u64, fx: &mut Effects) {
        match input {
            Input::Tick => {}
            Input::Message(message) => {
                if self.status.is_finished() {
                    fx.answers.push((message.id(), self.ended_answer()));
                    return;
                }
                match message {
                    Message::ChildEnded { id, child } => {
                        // Read at once: the step waiting for that child looks at how it ended.
                        fx.answers.push((id, Answer::Applied));
                        self.child_ended(&child);
                    }
                    // Read at once, ahead of what is held: they decide whether it is acted on.
                    Message::Pause { id } => self.set_paused(true, id, now_ms, fx),
                    Message::Unpause { id } => self.set_paused(false, id, now_ms, fx),
                    message => self.held.push_back(message),
                }
            }
            Input::StepDone { attempt, result } => self.step_done(attempt, result, now_ms, fx),
            Input::PartDone {
                attempt,
                part,
                result,
            } => self.part_done(attempt, part, result, now_ms, fx),
            Input::UndoDone { attempt, result } => self.undo_done(attempt, result, now_ms, fx),
            Input::Child {
                attempt,
                child,
                ended,
            } => self.child_done(attempt, &child, ended, now_ms, fx),
            Input::UndoPartDone {
                attempt,
                seq,
                result,
            } => self.undo_part_done(attempt, seq, result, now_ms, fx),
            Input::ChildUndone { attempt, result } => {
                self.child_undone(attempt, result, now_ms, fx);
            }
        }
        if !self.status.is_finished() {
            self.advance(now_ms, fx);
        }
    }

    /// The instance as a store keeps it.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let def = Self::DEF;
        let mut snapshot = Snapshot::new(
            def.name(),
            self.id.clone(),
            def.fingerprint(),
            self.state.name(),
            Arc::clone(&self.json),
        );
        snapshot.seq = self.seq;
        snapshot.at_ms = self.at_ms;
        snapshot.status = self.status;
        snapshot.chain = self
            .chain
            .iter()
            .map(|link| {
                let (name, json) = (link.undo.name(def), Arc::clone(&link.json));
                let mut entry = match &link.undo {
                    Undo::Activity(_) => store::ChainEntry::new(name, link.seq, json),
                    Undo::Child { child, .. } => {
                        store::ChainEntry::of_child(name, link.seq, json, child.clone())
                    }
                };
                entry.together.clone_from(&link.together);
                entry
            })
            .collect();
        snapshot.timer = self
            .timer
            .map(|t| store::Timer::new(def.transitions()[t.transition].name(), t.due_ms));
        snapshot.work = self.work.as_ref().map(|work| match work {
            Work::Step(step) => store::Work::Step(store::StepWork {
                transition: def.transitions()[step.transition].name().into(),
                event: step.event.as_ref().map(|(_, json)| Arc::clone(json)),
                key: Arc::clone(&step.key),
                started_ms: step.started_ms,
                failed: step.failed,
                retry_at_ms: step.retry_at_ms,
                parts: step.split.as_ref().map(Split::stored).unwrap_or_default(),
                given_up: step.split.as_ref().and_then(|s| s.given_up.clone()),
                child: step.child.as_ref().map(|child| child.id.clone()),
            }),
            Work::Unwinding(unwinding) => store::Work::Compensation(store::CompensationWork {
                cause: match &unwinding.cause {
                    Cause::Failed(failure) => store::Cause::Failed(failure.clone()),
                    Cause::Cancelled => store::Cause::Cancelled,
                    Cause::Transition {
                        transition,
                        how,
                        json,
                        ..
                    } => store::Cause::Transition(how.landing(def, *transition, json)),
                },
                report: lines_from_report(&unwinding.report),
                started_ms: unwinding.started_ms,
                failed: unwinding.failed,
                retry_at_ms: unwinding.retry_at_ms,
                keep: unwinding.keep,
                batch: unwinding.batch.as_ref().map_or_else(
                    || unwinding.restored_batch.clone(),
                    parallel_undo::Batch::stored,
                ),
            }),
        });
        snapshot.ending.clone_from(&self.ending);
        snapshot.parent.clone_from(&self.parent);
        snapshot.paused = self.paused;
        snapshot
    }

    /// Makes this instance a child of `parent`, which is told when it ends.
    pub(crate) fn set_parent(&mut self, parent: store::Parent) {
        self.parent = Some(parent);
    }

    /// Tells the parent, if this instance is a child, that it has ended: posted with the
    /// write that ends it.
    fn tell_parent(&self, fx: &mut Effects) {
        if let Some(parent) = &self.parent {
            let message = store::Message::ChildEnded {
                child: self.id.clone(),
            };
            fx.posts
                .push(Post::new(parent.flow.clone(), parent.id.clone(), message));
        }
    }

    /// When the instance next needs a worker with no message arriving.
    pub(crate) fn wake(&self) -> Wake {
        if self.status.is_finished() {
            return Wake::OnMessage;
        }
        if self.paused && !self.is_running_something() {
            // Only an unpause (or another message) wakes it.
            return Wake::OnMessage;
        }
        if self.awaits_child() {
            // Its end is posted; or the step's timeout comes first.
            return self
                .child_deadline()
                .map_or(Wake::OnMessage, |(at, _)| Wake::At(at));
        }
        let retry = match &self.work {
            Some(Work::Step(Step {
                split: Some(split), ..
            })) => match split.next_wake() {
                Some(at) => Some(at),
                None => return Wake::Now,
            },
            Some(Work::Step(step)) if step.running.is_none() => step.retry_at_ms,
            Some(Work::Unwinding(Unwinding {
                batch: Some(batch), ..
            })) => match batch.next_wake() {
                Some(at) => Some(at),
                None => return Wake::Now,
            },
            Some(Work::Unwinding(unwinding)) if unwinding.running.is_none() => {
                unwinding.retry_at_ms
            }
            Some(_) => return Wake::Now,
            // Its automatic transition is to be taken (a new instance, not yet resumed).
            None if Self::DEF.automatic(self.state.index()).is_some() => return Wake::Now,
            None => None,
        };
        match (retry, self.timer.map(|t| t.due_ms)) {
            (Some(a), Some(b)) => Wake::At(a.min(b)),
            (Some(at), None) | (None, Some(at)) => Wake::At(at),
            (None, None) => Wake::OnMessage,
        }
    }

    /// Whether an attempt of a step or an undo is running now (a pause lets it finish).
    fn is_running_something(&self) -> bool {
        match &self.work {
            Some(Work::Step(step)) => step.running.is_some(),
            Some(Work::Unwinding(unwinding)) => unwinding.running.is_some(),
            None => false,
        }
    }

    /// Whether the instance waits for something outside it (a message, a timer, a retry's
    /// wait): no attempt is running and none is to be made now.
    pub(crate) fn is_waiting(&self) -> bool {
        !matches!(self.wake(), Wake::Now)
    }

    /// How it ended, once it has.
    #[cfg(test)]
    pub(crate) fn outcome(&self) -> Option<Outcome<W::State>> {
        outcome_of(
            Self::DEF,
            self.status,
            self.state.clone(),
            self.ending.as_ref(),
        )
    }

    /// The state, giving the machine up (an instance that could not be written).
    pub(crate) fn into_state(self) -> W::State {
        self.state
    }

    pub(crate) fn id(&self) -> &InstanceId {
        &self.id
    }

    pub(crate) fn state(&self) -> &W::State {
        &self.state
    }

    pub(crate) fn status(&self) -> Status {
        self.status
    }

    /// The event of the step being attempted, if it has one.
    pub(crate) fn step_event(&self) -> Option<&W::Event> {
        match &self.work {
            Some(Work::Step(step)) => step.event.as_ref().map(|(event, _)| event),
            _ => None,
        }
    }

    /// When a part of the current step (or an undo of a batch) waiting to be retried is
    /// due, while others run.
    pub(crate) fn part_retry_at(&self) -> Option<u64> {
        match &self.work {
            Some(Work::Step(Step {
                split: Some(split), ..
            })) => split.retry_at(),
            Some(Work::Unwinding(Unwinding {
                batch: Some(batch), ..
            })) => batch.retry_at(),
            _ => None,
        }
    }

    /// The key the attempts running at once belong to: the step's, for its parts, or the
    /// batch's, for undos run at once.
    pub(crate) fn tasks_key(&self) -> Option<&Arc<str>> {
        match &self.work {
            Some(Work::Step(step)) => Some(&step.key),
            Some(Work::Unwinding(Unwinding {
                batch: Some(batch), ..
            })) => Some(batch.key()),
            _ => None,
        }
    }

    /// What the newest undo on the chain receives, as JSON (a part's undo decodes it).
    pub(crate) fn undo_json(&self) -> Option<&Arc<str>> {
        self.chain.last().map(|link| &link.json)
    }

    /// The state the newest undo on the chain receives, decoded; `Err` if it cannot be.
    pub(crate) fn undo_state(&self) -> Option<Result<W::State, String>> {
        self.chain.last().map(|link| {
            codec::decode(&link.json).map_err(|e| {
                format!(
                    "the state undo `{}` receives cannot be decoded: {e}",
                    link.undo.name(Self::DEF)
                )
            })
        })
    }

    /// Appends a record of `kind` to `fx`, numbered after the last one.
    /// Pauses or resumes, with a record when it changes anything.
    fn set_paused(&mut self, paused: bool, id: MessageId, now_ms: u64, fx: &mut Effects) {
        fx.answers.push((id, Answer::Applied));
        if self.paused != paused {
            self.paused = paused;
            let kind = if paused {
                RecordKind::Paused
            } else {
                RecordKind::Unpaused
            };
            self.record(fx, now_ms, kind);
        }
    }

    fn record(&mut self, fx: &mut Effects, now_ms: u64, kind: RecordKind) {
        self.seq += 1;
        self.at_ms = now_ms;
        fx.records
            .push(Record::new(self.seq, now_ms, kind, self.state.name()));
    }

    fn next_attempt(&mut self) -> AttemptId {
        self.attempts += 1;
        AttemptId(self.attempts)
    }

    /// The idempotency key of a step chosen now: `<instance>/<record count>/<step>`, the
    /// same for each of its attempts, and recorded with the step.
    fn key(&self, step: &str) -> Arc<str> {
        step_key(&self.id, self.seq, "", step)
    }

    /// Arms the current state's `after` timer, if it has one, from `now_ms`. A wait read
    /// from the state is read now: the due time is what is stored.
    fn arm_timer(&mut self, now_ms: u64) {
        self.timer = Self::DEF
            .timer(self.state.index())
            .map(|(transition, wait)| After {
                transition,
                due_ms: due_in(
                    now_ms,
                    read_wait::<W>(wait, &self.state).unwrap_or_default(),
                ),
            });
    }

    /// What a message gets when the instance has ended.
    fn ended_answer(&self) -> Answer {
        Answer::Ended {
            status: self.status,
            state: self.state.name().into(),
        }
    }

    /// Issues an attempt of transition `transition` (attempt `number`, begun at `begun_ms`).
    fn attempt_step(&mut self, fx: &mut Effects, transition: usize, begun_ms: u64) {
        let attempt = self.next_attempt();
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        step.running = Some(attempt);
        let timeout = Self::DEF.transitions()[transition].timeout();
        fx.command = Some(Command::Step {
            attempt,
            transition,
            number: step.failed + 1,
            key: Arc::clone(&step.key),
            deadline: deadline::<W>(begun_ms, timeout, &self.state),
        });
    }
}

/// The chain `chain` stores, matched to the definition's undos and child steps.
fn restore_chain(
    def: &'static Definition,
    chain: &[store::ChainEntry],
) -> Result<Vec<Link>, String> {
    chain
        .iter()
        .map(|entry| {
            let undo = match &entry.child {
                Some(child) => Undo::Child {
                    transition: def
                        .transition_index(&entry.undo)
                        .ok_or_else(|| format!("unknown transition `{}`", entry.undo))?,
                    child: child.clone(),
                },
                None => Undo::Activity(
                    def.undos()
                        .iter()
                        .position(|u| u.name() == entry.undo)
                        .ok_or_else(|| format!("unknown undo `{}`", entry.undo))?,
                ),
            };
            Ok(Link {
                undo,
                seq: entry.seq,
                json: Arc::clone(&entry.state),
                together: entry.together.clone(),
            })
        })
        .collect()
}

/// What `wait` is for an instance in `state`; `None` for a field `state` does not have.
fn read_wait<W: Durable>(wait: Wait, state: &W::State) -> Option<Duration> {
    match wait {
        Wait::Fixed(duration) => Some(duration),
        Wait::Field(field) => W::duration(state, field),
    }
}

/// When an attempt begun at `begun_ms` in `state` must be over under `timeout`, and the
/// timeout; none for a timeout read from a field `state` does not have.
fn deadline<W: Durable>(
    begun_ms: u64,
    timeout: Option<Wait>,
    state: &W::State,
) -> Option<(u64, Duration)> {
    let timeout = read_wait::<W>(timeout?, state)?;
    Some((due_in(begun_ms, timeout), timeout))
}

/// `policy` with its bounds read from `state`'s fields, where it names fields.
fn resolve_policy<W: Durable>(policy: RetryPolicy, state: &W::State) -> RetryPolicy {
    policy.resolve(|field| W::duration(state, field))
}

/// `<instance>/<seq>/<kind><step>`: an idempotency key. Written into a per-thread buffer,
/// then copied into its `Arc` once: it is made at every step, and `format!` would allocate
/// twice.
fn step_key(id: &InstanceId, seq: u64, kind: &str, step: &str) -> Arc<str> {
    use std::fmt::Write as _;
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER.with_borrow_mut(|key| {
        key.clear();
        let _ = write!(key, "{}/{seq}/{kind}{step}", id.as_str());
        Arc::from(key.as_str())
    })
}

/// How an instance with `status`, in `state`, ended; `None` while it runs.
pub(crate) fn outcome_of<S>(
    def: &'static Definition,
    status: Status,
    state: S,
    ending: Option<&store::Ending>,
) -> Option<Outcome<S>> {
    let empty = store::Ending::default();
    let ending = ending.unwrap_or(&empty);
    let report = report_from_lines(def, &ending.report);
    Some(match status {
        Status::Running => return None,
        Status::Completed => Outcome::Completed(state),
        Status::Cancelled => Outcome::Cancelled { state, report },
        Status::Failed => Outcome::Failed {
            state,
            failure: ending.failure.clone().unwrap_or_else(|| {
                Failure::new(
                    "",
                    0,
                    crate::FailureKind::Mismatch,
                    "no failure was recorded",
                )
            }),
            report,
        },
    })
}

/// A stored report, with names matched to the definition's.
fn report_from_lines(def: &'static Definition, lines: &[store::ReportLine]) -> Report<Failure> {
    lines
        .iter()
        .map(|line| match line {
            store::ReportLine::Undone { undo } => crate::Entry::Undone {
                undo: undo_name(def, undo),
            },
            store::ReportLine::UndoFailed { undo, failure } => crate::Entry::UndoFailed {
                undo: undo_name(def, undo),
                error: failure.clone(),
            },
            store::ReportLine::Skipped { undo } => crate::Entry::Skipped {
                undo: undo_name(def, undo),
            },
        })
        .collect()
}

/// A report, as stored.
fn lines_from_report(report: &Report<Failure>) -> Vec<store::ReportLine> {
    report
        .entries()
        .iter()
        .map(|entry| match entry {
            crate::Entry::Undone { undo } => store::ReportLine::Undone {
                undo: (*undo).into(),
            },
            crate::Entry::UndoFailed { undo, error }
            | crate::Entry::AlsoFailed { step: undo, error } => store::ReportLine::UndoFailed {
                undo: (*undo).into(),
                failure: error.clone(),
            },
            crate::Entry::Skipped { undo } => store::ReportLine::Skipped {
                undo: (*undo).into(),
            },
        })
        .collect()
}

/// The definition's own name for an undo read from a store (for a child, its step's).
fn undo_name(def: &'static Definition, name: &str) -> &'static str {
    let children = def.transitions().iter().filter(|t| t.child().is_some());
    def.undos()
        .iter()
        .map(crate::UndoDef::name)
        .chain(children.map(crate::TransitionDef::name))
        .find(|n| *n == name)
        .unwrap_or("(unknown undo)")
}
