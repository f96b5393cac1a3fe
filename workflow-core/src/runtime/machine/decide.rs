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

use super::{After, Cause, Effects, Machine, Message, Step, Work};
use crate::runtime::Durable;
use crate::runtime::codec;
use crate::runtime::policy::retry_wait;
use crate::store::{Answer, RecordKind};
use crate::{Failure, FailureKind, FlowEvent, FlowState};

impl<W: Durable> Machine<W> {
    /// Applies the rules above until the instance runs an attempt or waits.
    pub(super) fn advance(&mut self, now_ms: u64, fx: &mut Effects) {
        match &self.work {
            Some(Work::Step(step)) if step.running.is_some() => return,
            Some(Work::Step(step)) if step.retry_at_ms.is_none() => {
                // An attempt a crash (or a lost claim) interrupted: made again first, with
                // its key, before anything else is decided.
                let (transition, begun) = (step.transition, step.started_ms);
                return self.attempt_step(fx, transition, begun);
            }
            Some(Work::Unwinding(_)) => return self.unwind(now_ms, fx),
            _ => {}
        }
        if let Some(at) = self.held.iter().position(|m| self.takes(m)) {
            match self.held.remove(at) {
                Some(Message::Cancel { id }) => {
                    fx.answers.push((id, Answer::Applied));
                    self.begin_unwinding(Cause::Cancelled, now_ms, fx);
                }
                Some(Message::Event { id, event, json }) => {
                    self.accept(id, event, json, now_ms, fx);
                }
                None => {}
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
            let key = self.key(Self::DEF.transitions()[transition].name());
            return self.begin_step(transition, None, key, now_ms, fx);
        }
        self.refuse_held(fx);
    }

    /// Whether `message` can be acted on now.
    fn takes(&self, message: &Message<W>) -> bool {
        match message {
            Message::Cancel { .. } => true,
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
        let key = self.key(name);
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
        self.begin_step(transition, Some((event, json)), key, now_ms, fx);
    }

    fn fire(&mut self, timer: After, now_ms: u64, fx: &mut Effects) {
        let name = Self::DEF.transitions()[timer.transition].name();
        let key = self.key(name);
        self.timer = None;
        self.work = None;
        self.record(
            fx,
            now_ms,
            RecordKind::TimerFired {
                transition: name.into(),
            },
        );
        self.begin_step(timer.transition, None, key, now_ms, fx);
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
        }));
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
            Ok((next, json)) => self.land(transition, number, next, json, now_ms, fx),
            Err(failure) => self.step_failed(failure, now_ms, fx),
        }
    }

    /// A failed attempt: wait and retry, or give up and compensate.
    fn step_failed(&mut self, failure: Failure, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        let policy = Self::DEF.transitions()[step.transition].retry();
        let attempts = policy.map_or(1, |p| p.attempts().max(1));
        let number = step.failed + 1;
        step.failed = number;
        let retry_at = policy
            .filter(|_| number < attempts)
            .map(|policy| now_ms.saturating_add(millis(retry_wait(policy, number, &step.key))));
        step.retry_at_ms = retry_at;
        self.record(
            fx,
            now_ms,
            RecordKind::AttemptFailed {
                failure: failure.clone(),
                retry_at_ms: retry_at,
            },
        );
        if retry_at.is_none() {
            self.begin_unwinding(Cause::Failed(failure), now_ms, fx);
        }
    }

    /// Transition `transition` produced `next`: land there, or first unwind the chain for a
    /// compensating transition.
    fn land(
        &mut self,
        transition: usize,
        attempt: u32,
        next: W::State,
        json: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        if Self::DEF.transitions()[transition].compensate() && !self.chain.is_empty() {
            let cause = Cause::Transition {
                transition,
                attempt,
                state: next,
                json,
            };
            return self.begin_unwinding(cause, now_ms, fx);
        }
        self.settle(transition, attempt, next, json, now_ms, fx);
    }

    /// Makes `next` the current state and records the transition into it.
    pub(super) fn settle(
        &mut self,
        transition: usize,
        attempt: u32,
        next: W::State,
        json: Arc<str>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = Self::DEF;
        if let Some(undo) = def.undo_for(transition, next.index()) {
            // Numbered as the transition's own record, which holds the same state.
            self.chain.push(super::Link {
                undo,
                seq: self.seq + 1,
                json: Arc::clone(&json),
            });
        }
        self.state = next;
        self.json = json;
        self.work = None;
        self.arm_timer(now_ms);
        if self.state.is_final() {
            self.status = crate::store::Status::Completed;
            // A completed instance is never compensated: its undos need not be kept.
            self.chain.clear();
            self.ending = Some(crate::store::Ending::default());
        }
        self.record(
            fx,
            now_ms,
            RecordKind::Transition {
                transition: def.transitions()[transition].name().into(),
                attempt,
            },
        );
        if self.status.is_finished() {
            let answer = self.ended_answer();
            fx.answers
                .extend(self.held.drain(..).map(|m| (m.id(), answer.clone())));
        }
    }
}

pub(super) fn millis(duration: core::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
