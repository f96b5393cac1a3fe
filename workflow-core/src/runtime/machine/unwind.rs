//! Compensation: the chain's undos, newest first, each once. An undo that fails is retried
//! under its step's policy, waiting like any retry; if it still fails, the older undos are
//! skipped and the instance ends failed, with a report naming every undo.

use super::decide::millis;
use super::parts::undo_policies;
use super::{AttemptId, Cause, Command, Effects, Link, Machine, Undo, Unwinding, Work};
use crate::runtime::Durable;
use crate::runtime::policy::retry_wait;
use crate::store::{self, RecordKind, Status};
use crate::{Failure, FailureKind, InstanceId, Report};

impl<W: Durable> Machine<W> {
    /// Starts unwinding the chain, for `cause`, down to its `keep` oldest links.
    pub(super) fn begin_unwinding(
        &mut self,
        cause: Cause<W>,
        keep: usize,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = Self::DEF;
        let stored = match &cause {
            Cause::Failed(failure) => store::Cause::Failed(failure.clone()),
            Cause::Cancelled => store::Cause::Cancelled,
            Cause::Transition {
                transition,
                how,
                json,
                ..
            } => store::Cause::Transition(how.landing(def, *transition, json)),
        };
        // The state's timer and any step in progress are given up: nothing of the state's
        // own runs while it unwinds.
        self.timer = None;
        self.work = Some(Work::Unwinding(Unwinding {
            cause,
            report: Report::new(),
            started_ms: now_ms,
            failed: 0,
            retry_at_ms: None,
            running: None,
            keep,
            child_running: false,
            batch: None,
            restored_batch: Vec::new(),
        }));
        self.record(
            fx,
            now_ms,
            RecordKind::CompensationStarted { cause: stored },
        );
        self.unwind(now_ms, fx);
    }

    /// Runs the newest undo (or waits to retry it), or finishes once the chain is empty.
    pub(super) fn unwind(&mut self, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Unwinding(unwinding)) = &self.work else {
            return;
        };
        if unwinding.running.is_some() || unwinding.child_running {
            return;
        }
        if unwinding.batch.is_some() || self.newest_batch().is_some() {
            return self.unwind_batch(now_ms, fx);
        }
        let begun_ms = match unwinding.retry_at_ms {
            Some(at) if at > now_ms => return,
            Some(at) => at,
            None => unwinding.started_ms,
        };
        let number = unwinding.failed + 1;
        let Some(link) = self
            .chain
            .last()
            .filter(|_| self.chain.len() > unwinding.keep)
        else {
            return self.finish_unwinding(now_ms, fx);
        };
        let undo = match &link.undo {
            Undo::Activity(undo) => *undo,
            Undo::Child { transition, child } => {
                let (transition, child) = (*transition, child.clone());
                let attempt = self.next_attempt();
                if let Some(Work::Unwinding(unwinding)) = &mut self.work {
                    unwinding.running = Some(attempt);
                }
                fx.command = Some(Command::UndoChild {
                    attempt,
                    transition,
                    child,
                });
                return;
            }
        };
        let def = Self::DEF;
        let key = super::step_key(&self.id, link.seq, "undo/", def.undos()[undo].name());
        let (_, timeout) = undo_policies(def, undo);
        let deadline = super::deadline::<W>(begun_ms, timeout, &self.state);
        let attempt = self.next_attempt();
        if let Some(Work::Unwinding(unwinding)) = &mut self.work {
            unwinding.running = Some(attempt);
        }
        fx.command = Some(Command::Undo {
            attempt,
            undo,
            number,
            key,
            deadline,
        });
    }

    /// An attempt of the newest undo ended.
    pub(super) fn undo_done(
        &mut self,
        attempt: AttemptId,
        result: Result<(), Failure>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = Self::DEF;
        let Some(Work::Unwinding(unwinding)) = &mut self.work else {
            return;
        };
        if unwinding.running != Some(attempt) {
            return;
        }
        unwinding.running = None;
        let Some(link) = self.chain.last() else {
            return;
        };
        let name = link.undo.name(def);
        let number = unwinding.failed + 1;
        match result {
            Ok(()) => {
                unwinding.report.undone(name);
                unwinding.failed = 0;
                unwinding.retry_at_ms = None;
                unwinding.started_ms = now_ms;
                self.chain.pop();
                self.record(
                    fx,
                    now_ms,
                    RecordKind::Undone {
                        undo: name.into(),
                        attempt: number,
                    },
                );
            }
            Err(failure) => {
                let tried = Tried {
                    link,
                    number,
                    failure: &failure,
                    now_ms,
                };
                let retry_at = retry_at::<W>(&self.id, &self.state, &tried);
                unwinding.failed = number;
                unwinding.retry_at_ms = retry_at;
                if retry_at.is_none() {
                    // Given up: the older undos may depend on this one, so they are skipped.
                    unwinding.report.undo_failed(name, failure.clone());
                    self.chain.pop();
                    let keep = unwinding.keep.min(self.chain.len());
                    for older in self.chain.drain(keep..).rev() {
                        unwinding.report.skipped(older.undo.name(def));
                        // A held child it skips is not compensated: it completes.
                        fx.posts.extend(Self::release(&older.undo));
                    }
                }
                self.record(
                    fx,
                    now_ms,
                    RecordKind::AttemptFailed {
                        failure,
                        retry_at_ms: retry_at,
                    },
                );
            }
        }
    }

    /// The chain is unwound: end failed or cancelled, or land where a compensating
    /// transition goes (unless one of its undos failed).
    pub(super) fn finish_unwinding(&mut self, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Unwinding(unwinding)) = self.work.take() else {
            return;
        };
        let Unwinding {
            cause, mut report, ..
        } = unwinding;
        match cause {
            Cause::Failed(failure) => self.end(Status::Failed, Some(failure), &report, now_ms, fx),
            Cause::Cancelled => self.end(Status::Cancelled, None, &report, now_ms, fx),
            Cause::Transition {
                transition,
                how,
                state,
                json,
            } => {
                if let Some((_, failure)) = report.take_undo_failure() {
                    return self.end(Status::Failed, Some(failure), &report, now_ms, fx);
                }
                self.settle(transition, how, state, json, now_ms, fx);
                if !self.status.is_finished() {
                    self.advance(now_ms, fx);
                }
            }
        }
    }

    /// Ends the instance failed or cancelled, and records how.
    fn end(
        &mut self,
        status: Status,
        failure: Option<Failure>,
        report: &Report<Failure>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        self.status = status;
        self.work = None;
        self.timer = None;
        self.release_children(fx);
        self.ending = Some(store::Ending::new(
            failure,
            super::lines_from_report(report),
        ));
        self.record(fx, now_ms, RecordKind::Ended { status });
        self.tell_parent(fx);
        let answer = self.ended_answer();
        fx.answers
            .extend(self.held.drain(..).map(|m| (m.id(), answer.clone())));
    }
}

/// A failed attempt of an undo: of the undo of `link`, attempt `number`, at `now_ms`.
pub(super) struct Tried<'a> {
    pub(super) link: &'a Link,
    pub(super) number: u32,
    pub(super) failure: &'a Failure,
    pub(super) now_ms: u64,
}

/// When the undo `tried` failed an attempt of is attempted again, under its policy: `None`
/// once the policy's attempts are spent or for a failure not worth retrying. A child's
/// compensation is not retried: the child retried its own undos.
pub(super) fn retry_at<W: Durable>(
    id: &InstanceId,
    state: &W::State,
    tried: &Tried<'_>,
) -> Option<u64> {
    let Undo::Activity(undo) = tried.link.undo else {
        return None;
    };
    let def = W::DEFINITION;
    let policy = undo_policies(def, undo)
        .0
        .map(|policy| super::resolve_policy::<W>(policy, state))?;
    let worth_retrying = tried.failure.kind != FailureKind::Permanent;
    if tried.number >= policy.attempts().max(1) || !worth_retrying {
        return None;
    }
    // The jitter, if the policy has one, is drawn from the undo's key.
    let key = super::step_key(id, tried.link.seq, "undo/", def.undos()[undo].name());
    let wait = millis(retry_wait(policy, tried.number, &key));
    Some(tried.now_ms.saturating_add(wait))
}
