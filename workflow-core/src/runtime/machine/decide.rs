//! What an instance does between steps, and what a step's result does to it.
//!
//! The rules, in the order they are applied whenever no attempt is running:
//! 1. a held cancel, or a held event the current state takes (oldest first), is taken;
//! 2. the state's `after` timer, if it is due, fires;
//! 3. a step waiting to be retried is attempted again once its wait is over (until then,
//!    nothing else of the state's own runs);
//! 4. the state's automatic transition is taken;
//! 5. otherwise the instance waits, and the held events (which its state does not take) are
//!    refused.
//!
//! Events and cancels arriving while an attempt runs are held: they are decided when it ends.

use std::sync::Arc;

use super::{After, Cause, Effects, How, Machine, Message, Step, Work};
use crate::runtime::Durable;
use crate::runtime::codec;
use crate::runtime::policy::retry_wait;
use crate::store::{Answer, RecordKind};
use crate::{Failure, FailureKind, FlowEvent, FlowState};

impl<W: Durable> Machine<W> {
    /// Applies the rules above until the instance runs an attempt or waits.
    pub(super) fn advance(&mut self, now_ms: u64, fx: &mut Effects) {
        if self.paused {
            // Paused: nothing starts, timers and messages wait for the unpause.
            return;
        }
        match &self.work {
            // A step made of parts goes on until every part is done or one failed for good:
            // events, cancels and timers wait for it, as they wait for any step.
            Some(Work::Step(step)) if step.split.is_some() => return self.launch_parts(now_ms, fx),
            Some(Work::Step(step)) if step.running.is_some() => return,
            Some(Work::Step(_)) if self.awaits_child() => return self.await_child(now_ms, fx),
            Some(Work::Step(step)) if step.retry_at_ms.is_none() => {
                // An attempt a crash (or a lost claim) interrupted: made again first, with
                // its key, before anything else is decided.
                let (transition, begun) = (step.transition, step.started_ms);
                return self.attempt_step(fx, transition, begun);
            }
            Some(Work::Unwinding(_)) => return self.unwind(now_ms, fx),
            None if self.is_held() => return self.while_held(now_ms, fx),
            _ => {}
        }
        if let Some(at) = self.held.iter().position(|m| self.takes(m)) {
            match self.held.remove(at) {
                Some(Message::Cancel { id }) => {
                    fx.answers.push((id, Answer::Applied));
                    self.begin_unwinding(Cause::Cancelled, 0, now_ms, fx);
                }
                Some(Message::Event { id, event, json }) => {
                    self.accept(id, event, json, now_ms, fx);
                }
                // Never taken: read as it arrives, or only while held for a parent.
                Some(
                    Message::ChildEnded { .. }
                    | Message::Compensate { .. }
                    | Message::Release { .. }
                    | Message::Pause { .. }
                    | Message::Unpause { .. },
                )
                | None => {}
            }
            return;
        }
        if let Some(timer) = self.timer.filter(|t| t.due_ms <= now_ms) {
            return self.fire(timer, now_ms, fx);
        }
        if let Some(Work::Step(step)) = &self.work {
            // Waiting to retry: the state moves on by itself once the wait is over.
            if let Some(at) = step.retry_at_ms.filter(|&at| at <= now_ms) {
                let transition = step.transition;
                self.attempt_step(fx, transition, at);
            }
            return;
        }
        if let Some(transition) = Self::DEF.automatic(self.state.index()) {
            return self.take(transition, None, now_ms, fx);
        }
        self.refuse_held(fx);
    }

    /// Whether `message` can be acted on now.
    fn takes(&self, message: &Message<W>) -> bool {
        match message {
            Message::Cancel { .. } => true,
            Message::ChildEnded { .. }
            | Message::Compensate { .. }
            | Message::Release { .. }
            | Message::Pause { .. }
            | Message::Unpause { .. } => false,
            Message::Event { event, .. } => Self::DEF
                .on_event(self.state.index(), event.index())
                .is_some(),
        }
    }

    /// Refuses every held event: the instance waits in a state that takes none of them.
    fn refuse_held(&mut self, fx: &mut Effects) {
        for message in self.held.drain(..) {
            let answer = Answer::NotAccepted {
                state: self.state.name().into(),
            };
            fx.answers.push((message.id(), answer));
        }
    }

    fn accept(
        &mut self,
        id: crate::store::MessageId,
        event: W::Event,
        json: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(transition) = Self::DEF.on_event(self.state.index(), event.index()) else {
            return;
        };
        let name = Self::DEF.transitions()[transition].name();
        fx.answers.push((id, Answer::Applied));
        // A step waiting to be retried is given up: the event's transition replaces it.
        self.work = None;
        self.record(
            fx,
            now_ms,
            RecordKind::EventAccepted {
                transition: name.into(),
                event: Arc::clone(&json),
                message: id,
            },
        );
        self.take(transition, Some((event, json)), now_ms, fx);
    }

    fn fire(&mut self, timer: After, now_ms: u64, fx: &mut Effects) {
        let name = Self::DEF.transitions()[timer.transition].name();
        self.timer = None;
        self.work = None;
        self.record(
            fx,
            now_ms,
            RecordKind::TimerFired {
                transition: name.into(),
            },
        );
        self.take(timer.transition, None, now_ms, fx);
    }

    /// Takes `transition` (with its event): its guard decides at once, or its first attempt
    /// starts, under a key chosen now.
    fn take(
        &mut self,
        transition: usize,
        event: Option<(W::Event, Arc<str>)>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        if Self::DEF.transitions()[transition].is_guarded() {
            let event = event.map(|(event, _)| event);
            return self.decide(transition, event.as_ref(), now_ms, fx);
        }
        let key = self.key(Self::DEF.transitions()[transition].name());
        self.begin_step(transition, event, key, now_ms, fx);
    }

    /// A guard chooses where `transition` lands: no activity, no key, no attempt; the
    /// transition's record says which branch it took. A guard that panics, or returns a
    /// state that cannot be stored, fails the step for good.
    fn decide(
        &mut self,
        transition: usize,
        event: Option<&W::Event>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        self.work = None;
        let state = &self.state;
        let decided = build::<W, _>(transition, 1, || W::decide(transition, state, event));
        match decided {
            Ok((next, json)) => {
                self.land(transition, How::Decided, next, json, now_ms, fx);
                // Nothing ran: the state it landed in is decided on at once. (A cycle of
                // guarded automatic transitions is refused at compile time.)
                if self.work.is_none() && !self.status.is_finished() {
                    self.advance(now_ms, fx);
                }
            }
            Err(failure) => {
                self.record(
                    fx,
                    now_ms,
                    RecordKind::AttemptFailed {
                        failure: failure.clone(),
                        retry_at_ms: None,
                    },
                );
                self.begin_unwinding(Cause::Failed(failure), 0, now_ms, fx);
            }
        }
    }

    fn begin_step(
        &mut self,
        transition: usize,
        event: Option<(W::Event, Arc<str>)>,
        key: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        self.work = Some(Work::Step(Step {
            transition,
            event,
            key,
            started_ms: now_ms,
            failed: 0,
            retry_at_ms: None,
            running: None,
            split: None,
            child: None,
        }));
        if Self::DEF.transitions()[transition].parts().is_some() {
            return self.begin_parts(now_ms, fx);
        }
        self.attempt_step(fx, transition, now_ms);
    }

    /// An attempt of the current step ended.
    pub(super) fn step_done(
        &mut self,
        attempt: super::AttemptId,
        result: Result<W::State, Failure>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        if step.running != Some(attempt) {
            return;
        }
        step.running = None;
        let (transition, number) = (step.transition, step.failed + 1);
        let result = result.and_then(|next| match codec::encode_state(&next) {
            Ok(json) => Ok((next, json)),
            Err(why) => Err(Failure::new(
                Self::DEF.transitions()[transition].name(),
                number,
                FailureKind::Unstorable,
                format!(
                    "the state `{}` it returned cannot be stored: {why}",
                    next.name()
                ),
            )),
        });
        match result {
            Ok((next, json)) => {
                self.land(transition, How::Activity(number), next, json, now_ms, fx);
            }
            Err(failure) => self.step_failed(failure, now_ms, fx),
        }
    }

    /// A failed attempt: wait and retry; or, failed for good (its last attempt, or an error
    /// not worth retrying), land where the step's `catch` goes, or compensate.
    pub(super) fn step_failed(&mut self, failure: Failure, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(step)) = &self.work else {
            return;
        };
        let transition = step.transition;
        let policy = Self::DEF.transitions()[transition]
            .retry()
            .map(|policy| super::resolve_policy::<W>(policy, &self.state));
        let attempts = policy.map_or(1, |p| p.attempts().max(1));
        let number = step.failed + 1;
        let worth_retrying = failure.kind != FailureKind::Permanent;
        let retry_at = policy
            .filter(|_| number < attempts && worth_retrying)
            .map(|policy| now_ms.saturating_add(millis(retry_wait(policy, number, &step.key))));
        if let Some(Work::Step(step)) = &mut self.work {
            step.failed = number;
            step.retry_at_ms = retry_at;
        }
        self.record(
            fx,
            now_ms,
            RecordKind::AttemptFailed {
                failure: failure.clone(),
                retry_at_ms: retry_at,
            },
        );
        if retry_at.is_some() {
            return;
        }
        if Self::DEF.catch(transition).is_some() {
            return self.catch(transition, failure, now_ms, fx);
        }
        self.begin_unwinding(Cause::Failed(failure), 0, now_ms, fx);
    }

    /// `transition` failed for good with `failure`, and catches it: its catch builds the
    /// state it lands in from the source state (and the step's event) and the failure. A
    /// catch that cannot build one fails the instance with the reason.
    fn catch(&mut self, transition: usize, failure: Failure, now_ms: u64, fx: &mut Effects) {
        let event = match self.work.take() {
            Some(Work::Step(step)) => step.event.map(|(event, _)| event),
            _ => None,
        };
        let number = failure.attempt;
        let state = &self.state;
        let built = build::<W, _>(transition, number, || {
            W::caught(transition, state, event.as_ref(), failure)
        });
        match built {
            Ok((next, json)) => self.land(transition, How::Caught(number), next, json, now_ms, fx),
            Err(failure) => self.begin_unwinding(Cause::Failed(failure), 0, now_ms, fx),
        }
    }

    /// `how` produced `next` for `transition`: land there, or first unwind the chain when the
    /// transition (or, for a caught failure, its catch) compensates.
    pub(super) fn land(
        &mut self,
        transition: usize,
        how: How,
        next: W::State,
        json: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = &Self::DEF.transitions()[transition];
        let compensate = match how {
            How::Caught(_) => def.catch().is_some_and(|catch| catch.compensate()),
            How::Activity(_) | How::Decided => def.compensate(),
        };
        if compensate && !self.chain.is_empty() {
            // A child it holds would be compensated with the chain before it: released.
            if let Some(child) = self.held_child(transition) {
                fx.posts.extend(Self::release(&child));
            }
            let cause = Cause::Transition {
                transition,
                how,
                state: next,
                json,
            };
            return self.begin_unwinding(cause, 0, now_ms, fx);
        }
        self.settle(transition, how, next, json, now_ms, fx);
    }

    /// Makes `next` the current state and records the transition into it. An internal
    /// transition keeps the state's `after` timer; any other arms the new state's.
    pub(super) fn settle(
        &mut self,
        transition: usize,
        how: How,
        next: W::State,
        json: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = Self::DEF;
        let undo = match how {
            // Its activity's undo, or the child it holds.
            How::Activity(_) => def
                .undo_for(transition, next.index())
                .map(super::Undo::Activity)
                .or_else(|| self.held_child(transition)),
            // Nothing ran that an undo could take back.
            How::Caught(_) | How::Decided => None,
        };
        if let Some(undo) = undo {
            // Numbered as the transition's own record, which holds the same state.
            self.chain.push(super::Link {
                undo,
                seq: self.seq + 1,
                json: Arc::clone(&json),
                together: None,
            });
        }
        self.state = next;
        self.json = json;
        self.work = None;
        if !def.transitions()[transition].is_internal() {
            self.arm_timer(now_ms);
        }
        if self.state.is_final() {
            // A child with undos is held for its parent, which may still compensate it; an
            // instance that completes is never compensated, so its undos are not kept.
            if self.parent.is_none() || self.chain.is_empty() {
                self.complete(fx);
            }
            self.tell_parent(fx);
        }
        let name = def.transitions()[transition].name().into();
        let kind = match how {
            How::Activity(attempt) => RecordKind::Transition {
                transition: name,
                attempt,
            },
            How::Caught(attempt) => RecordKind::Caught {
                transition: name,
                attempt,
            },
            How::Decided => RecordKind::Decided {
                transition: name,
                branch: self.state.name().into(),
            },
        };
        self.record(fx, now_ms, kind);
        if self.status.is_finished() {
            let answer = self.ended_answer();
            fx.answers
                .extend(self.held.drain(..).map(|m| (m.id(), answer.clone())));
        }
    }
}

/// The state a guard, a catch or a join of `transition` builds, with its JSON; as a failure
/// of attempt `number` if it panics, does not apply, or cannot be stored.
pub(super) fn build<W: Durable, E: ToString>(
    transition: usize,
    number: u32,
    build: impl FnOnce() -> Result<W::State, E>,
) -> Result<(W::State, Arc<str>), Failure> {
    let step = W::DEFINITION.transitions()[transition].name();
    let fail = |kind, message: String| Failure::new(step, number, kind, message);
    let next = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(build)) {
        Ok(Ok(next)) => next,
        Ok(Err(mismatch)) => return Err(fail(FailureKind::Mismatch, mismatch.to_string())),
        Err(panic) => {
            let message = crate::runtime::attempt::panic_message(&*panic);
            return Err(fail(FailureKind::Panic, format!("it panicked: {message}")));
        }
    };
    match codec::encode_state(&next) {
        Ok(json) => Ok((next, json)),
        Err(why) => Err(fail(
            FailureKind::Unstorable,
            format!(
                "the state `{}` it built cannot be stored: {why}",
                next.name()
            ),
        )),
    }
}

pub(super) fn millis(duration: core::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
