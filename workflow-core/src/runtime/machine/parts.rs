//! Transitions made of parts: `parallel(..)` branches, or `each(..)` item of a field. Every
//! part is attempted, retried and journaled on its own, so after a crash only the unfinished
//! ones run again. A part that succeeds is recorded with its output and, if it has an undo,
//! goes on the chain at once; once every part succeeded, the transition's `join` builds the
//! state it lands in. A part that fails for good stops new parts from starting; those running
//! are awaited (an effect in flight is not left behind: if it completes, it is undone too),
//! then every completed part is undone and the failure is caught, if the transition catches,
//! or fails the instance. Every part is marked running in the write before its attempt
//! starts, so after a crash while they are awaited, the parts that were in flight are made
//! again (with their keys) to learn how they ended: one that had acted is then undone too.

use std::sync::Arc;

use super::decide::{build, millis};
use super::{AttemptId, Cause, Effects, How, Machine, Part, PartCommand, Split, Work};
use crate::runtime::Durable;
use crate::runtime::policy::retry_wait;
use crate::store::{PartWork, RecordKind};
use crate::{Failure, FailureKind, RetryPolicy, Wait};

impl Split {
    /// `total` parts, none tried.
    fn new(total: usize) -> Self {
        Self {
            parts: (0..total).map(|_| Part::default()).collect(),
            given_up: None,
        }
    }

    /// `total` parts, as far as `stored` says they got.
    pub(super) fn restore(stored: &[PartWork], given_up: Option<Failure>, total: usize) -> Self {
        let mut split = Self::new(total);
        split.given_up = given_up;
        for work in stored {
            if let Some(part) = split.parts.get_mut(work.part as usize) {
                part.output.clone_from(&work.output);
                part.failed = work.failed;
                part.retry_at_ms = work.retry_at_ms;
                part.in_flight = work.running && work.output.is_none();
            }
        }
        split
    }

    /// The parts done or tried, as stored.
    pub(super) fn stored(&self) -> Vec<PartWork> {
        self.parts
            .iter()
            .enumerate()
            .filter(|(_, part)| {
                part.output.is_some() || part.failed > 0 || part.running.is_some() || part.in_flight
            })
            .map(|(index, part)| {
                let mut work = PartWork::new(u32::try_from(index).unwrap_or(u32::MAX));
                work.output.clone_from(&part.output);
                work.failed = part.failed;
                work.retry_at_ms = part.retry_at_ms;
                work.running = part.running.is_some() || part.in_flight;
                work
            })
            .collect()
    }

    /// When the instance next needs a worker while no part runs: `None` if one runs or may
    /// start now, else the earliest retry.
    pub(super) fn next_wake(&self) -> Option<u64> {
        if self.given_up.is_some() {
            return None;
        }
        let mut earliest = None;
        for part in self.parts.iter().filter(|p| p.output.is_none()) {
            match part.retry_at_ms {
                _ if part.running.is_some() => return None,
                None => return None,
                Some(at) => earliest = Some(earliest.map_or(at, |e: u64| e.min(at))),
            }
        }
        earliest
    }

    /// The earliest retry among parts waiting for one.
    pub(super) fn retry_at(&self) -> Option<u64> {
        self.parts
            .iter()
            .filter(|p| p.output.is_none() && p.running.is_none())
            .filter_map(|p| p.retry_at_ms)
            .min()
    }

    /// How many completed parts have an undo (they are the newest links on the chain).
    fn undoable(&self, parts: crate::Parts) -> usize {
        self.parts
            .iter()
            .enumerate()
            .filter(|(index, part)| part.output.is_some() && parts.undo(*index).is_some())
            .count()
    }
}

impl<W: Durable> Machine<W> {
    /// Starts the parts of the step just chosen.
    pub(super) fn begin_parts(&mut self, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        step.split = Some(Split::new(W::part_count(step.transition, &self.state)));
        self.launch_parts(now_ms, fx);
    }

    /// Starts every part that may start now, lowest first, up to the transition's limit of
    /// parts running at once; joins once every part is done.
    pub(super) fn launch_parts(&mut self, now_ms: u64, fx: &mut Effects) {
        let Self {
            work: Some(Work::Step(step)),
            attempts,
            state,
            ..
        } = self
        else {
            return;
        };
        let Some(split) = &mut step.split else {
            return;
        };
        let def = &Self::DEF.transitions()[step.transition];
        let Some(parts) = def.parts() else {
            return;
        };
        let mut running = split.parts.iter().filter(|p| p.running.is_some()).count();
        let given_up = split.given_up.is_some();
        if !given_up && split.parts.iter().all(|part| part.output.is_some()) {
            return self.join_parts(now_ms, fx);
        }
        for (index, part) in split.parts.iter_mut().enumerate() {
            let waiting = part.retry_at_ms.is_some_and(|at| at > now_ms);
            let may_start = if given_up {
                // Nothing new starts; a part in flight at a crash is made again, to learn
                // whether it acted.
                part.in_flight
            } else {
                !waiting && running < parts.at_most()
            };
            if part.output.is_some() || part.running.is_some() || !may_start {
                continue;
            }
            *attempts += 1;
            let attempt = AttemptId(*attempts);
            part.running = Some(attempt);
            part.in_flight = false;
            part.retry_at_ms = None;
            running += 1;
            let (_, timeout) = policies(def, index);
            fx.parts.push(PartCommand {
                attempt,
                transition: step.transition,
                part: index,
                number: part.failed + 1,
                key: format!("{}/{index}", step.key).into(),
                deadline: super::deadline::<W>(now_ms, timeout, state),
            });
            // Marked running in the write before it starts.
            fx.starts_parts = true;
        }
        if given_up && running == 0 {
            let (transition, failure) = (step.transition, split.given_up.take());
            if let Some(failure) = failure {
                self.parts_failed(transition, failure, now_ms, fx);
            }
        }
    }

    /// An attempt of part `part` of the current step ended.
    pub(super) fn part_done(
        &mut self,
        attempt: AttemptId,
        index: usize,
        result: Result<Arc<str>, Failure>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        let transition = step.transition;
        let given_up = step.split.as_ref().is_some_and(|s| s.given_up.is_some());
        // Undone with the step's other parts at once, if the step says so.
        let together = Self::DEF.transitions()[transition]
            .undoes_parts_at_once()
            .then(|| Arc::clone(&step.key));
        let Some(part) = step.split.as_mut().and_then(|s| s.parts.get_mut(index)) else {
            return;
        };
        if part.running != Some(attempt) {
            return;
        }
        part.running = None;
        let number = part.failed + 1;
        let def = &Self::DEF.transitions()[transition];
        let Some(parts) = def.parts() else {
            return;
        };
        let part_number = u32::try_from(index).unwrap_or(u32::MAX);
        match result {
            Ok(output) => {
                part.output = Some(Arc::clone(&output));
                self.record(
                    fx,
                    now_ms,
                    RecordKind::PartDone {
                        transition: def.name().into(),
                        part: part_number,
                        attempt: number,
                        output: Arc::clone(&output),
                    },
                );
                if let Some(undo) = parts.undo(index) {
                    // On the chain from now: if anything fails from here, it is undone.
                    self.chain.push(super::Link {
                        undo: super::Undo::Activity(undo),
                        seq: self.seq,
                        json: output,
                        together,
                    });
                }
            }
            Err(failure) => {
                let failure = failure.in_part(part_number);
                let (policy, _) = policies(def, index);
                let policy = policy.map(|p| super::resolve_policy::<W>(p, &self.state));
                let attempts = policy.map_or(1, |p| p.attempts().max(1));
                let worth_retrying = failure.kind != FailureKind::Permanent;
                let key = format!("{}/{index}", step.key);
                let retry_at = policy
                    .filter(|_| number < attempts && worth_retrying && !given_up)
                    .map(|policy| now_ms.saturating_add(millis(retry_wait(policy, number, &key))));
                part.failed = number;
                part.retry_at_ms = retry_at;
                self.record(
                    fx,
                    now_ms,
                    RecordKind::AttemptFailed {
                        failure: failure.clone(),
                        retry_at_ms: retry_at,
                    },
                );
                if retry_at.is_none()
                    && let Some(Work::Step(step)) = &mut self.work
                    && let Some(split) = &mut step.split
                {
                    // The first to fail for good is the step's failure.
                    split.given_up.get_or_insert(failure);
                }
            }
        }
        self.launch_parts(now_ms, fx);
    }

    /// Every part succeeded: the transition's `join` builds the state it lands in.
    fn join_parts(&mut self, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(step)) = &self.work else {
            return;
        };
        let transition = step.transition;
        let outputs: Vec<Arc<str>> = step
            .split
            .iter()
            .flat_map(|split| split.parts.iter())
            .filter_map(|part| part.output.clone())
            .collect();
        let event = step.event.as_ref().map(|(event, _)| event);
        let state = &self.state;
        let joined = build::<W, String>(transition, 1, || {
            W::join(transition, state, event, &outputs)
        });
        match joined {
            Ok((next, json)) => self.land(transition, How::Activity(1), next, json, now_ms, fx),
            Err(failure) => self.parts_failed(transition, failure, now_ms, fx),
        }
    }

    /// A part of `transition` failed for good, and no part runs any more (or its join could
    /// not build a state): the completed parts are undone, and the failure caught or the
    /// instance failed.
    fn parts_failed(&mut self, transition: usize, failure: Failure, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(step)) = self.work.take() else {
            return;
        };
        fx.stop_parts = true;
        let def = Self::DEF;
        let undoable = match (&step.split, def.transitions()[transition].parts()) {
            (Some(split), Some(parts)) => split.undoable(parts),
            _ => 0,
        };
        let Some(catch) = def.catch(transition) else {
            return self.begin_unwinding(Cause::Failed(failure), 0, now_ms, fx);
        };
        let number = failure.attempt;
        let event = step.event.map(|(event, _)| event);
        let state = &self.state;
        let built = build::<W, _>(transition, number, || {
            W::caught(transition, state, event.as_ref(), failure)
        });
        let (next, json) = match built {
            Ok(built) => built,
            Err(failure) => return self.begin_unwinding(Cause::Failed(failure), 0, now_ms, fx),
        };
        // Its own completed parts are undone; the rest of the chain only if the catch
        // compensates.
        let keep = if catch.compensate() {
            0
        } else {
            self.chain.len().saturating_sub(undoable)
        };
        let how = How::Caught(number);
        if self.chain.len() > keep {
            let cause = Cause::Transition {
                transition,
                how,
                state: next,
                json,
            };
            return self.begin_unwinding(cause, keep, now_ms, fx);
        }
        self.settle(transition, how, next, json, now_ms, fx);
    }
}

/// The retry policy and timeout undo `undo` of `def` runs under: its branch's, for the undo
/// of a branch, else its transition's.
pub(super) fn undo_policies(
    def: &'static crate::Definition,
    undo: usize,
) -> (Option<RetryPolicy>, Option<Wait>) {
    let undo = &def.undos()[undo];
    let step = &def.transitions()[undo.transition()];
    match undo.part() {
        Some(part) => policies(step, part),
        None => (step.retry(), step.timeout()),
    }
}

/// The retry policy and timeout of part `index` of `def`: a branch's own, else the
/// transition's.
fn policies(def: &crate::TransitionDef, index: usize) -> (Option<RetryPolicy>, Option<Wait>) {
    match def.parts() {
        Some(crate::Parts::Branches(branches)) => {
            let branch = branches.get(index);
            (
                branch.and_then(crate::BranchDef::retry).or(def.retry()),
                branch.and_then(crate::BranchDef::timeout).or(def.timeout()),
            )
        }
        _ => (def.retry(), def.timeout()),
    }
}
