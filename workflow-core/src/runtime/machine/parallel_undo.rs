//! Parallel compensation: when the newest links on the chain are the completed parts of one
//! step with `undo(parallel)`, their undos run at once (at most the `each`'s limit at a
//! time), each retried under its step's policy on its own, each recorded and taken off the
//! chain as it succeeds. One that fails for good stops new ones from starting; those running
//! are awaited, then the rest of the batch and the older links are skipped, as after any
//! undo that fails. Each undo's failed attempts and retry are written with the instance, so
//! after a crash the batch starts again from the links still on the chain, where it was.

use std::sync::Arc;

use super::parts::undo_policies;
use super::unwind::{Tried, retry_at};
use super::{AttemptId, Effects, Machine, Undo, UndoPartCommand, Work};
use crate::Failure;
use crate::runtime::Durable;
use crate::store::{self, RecordKind};

/// The links being undone at once.
pub(crate) struct Batch {
    /// The key the links share: their step's.
    key: Arc<str>,
    /// The undos not done yet, by their link's record number.
    undos: Vec<BatchUndo>,
    /// One failed for good: none starts any more, and once those running end, the rest are
    /// skipped.
    given_up: bool,
}

/// One undo of a batch.
struct BatchUndo {
    seq: u64,
    running: Option<AttemptId>,
    failed: u32,
    retry_at_ms: Option<u64>,
}

impl Batch {
    pub(super) const fn key(&self) -> &Arc<str> {
        &self.key
    }

    /// When the instance next needs a worker while no undo of the batch runs: `None` if one
    /// runs or may start now, else the earliest retry.
    pub(super) fn next_wake(&self) -> Option<u64> {
        let mut earliest = None;
        for undo in &self.undos {
            match undo.retry_at_ms {
                _ if undo.running.is_some() => return None,
                None => return None,
                Some(at) => earliest = Some(earliest.map_or(at, |e: u64| e.min(at))),
            }
        }
        if self.undos.is_empty() {
            return None;
        }
        earliest
    }

    /// The earliest retry among undos waiting for one.
    pub(super) fn retry_at(&self) -> Option<u64> {
        self.undos
            .iter()
            .filter(|u| u.running.is_none())
            .filter_map(|u| u.retry_at_ms)
            .min()
    }

    /// The undos that have failed an attempt, as stored.
    pub(super) fn stored(&self) -> Vec<store::UndoWork> {
        self.undos
            .iter()
            .filter(|u| u.failed > 0)
            .map(|u| store::UndoWork::new(u.seq, u.failed, u.retry_at_ms))
            .collect()
    }
}

impl<W: Durable> Machine<W> {
    /// The key of the newest links, if they are parts undone at once and above the links
    /// the unwinding keeps.
    pub(super) fn newest_batch(&self) -> Option<Arc<str>> {
        let Some(Work::Unwinding(unwinding)) = &self.work else {
            return None;
        };
        if self.chain.len() <= unwinding.keep {
            return None;
        }
        self.chain.last()?.together.clone()
    }

    /// Starts (or goes on with) the batch of the newest links: every undo that may start
    /// now starts; once none is left, the unwinding goes on with the older links.
    pub(super) fn unwind_batch(&mut self, now_ms: u64, fx: &mut Effects) {
        let newest = self.newest_batch();
        let Self {
            work: Some(Work::Unwinding(unwinding)),
            chain,
            id,
            state,
            attempts,
            ..
        } = self
        else {
            return;
        };
        let keep = unwinding.keep;
        let batch = match (&mut unwinding.batch, newest) {
            (Some(batch), _) => batch,
            (None, Some(key)) => {
                let undos = chain[keep..]
                    .iter()
                    .rev()
                    .take_while(|link| link.together.as_ref() == Some(&key))
                    .map(|link| {
                        // Where it was before a crash, if it had failed an attempt.
                        let restored = unwinding.restored_batch.iter().find(|u| u.seq == link.seq);
                        BatchUndo {
                            seq: link.seq,
                            running: None,
                            failed: restored.map_or(0, |u| u.failed),
                            retry_at_ms: restored.and_then(|u| u.retry_at_ms),
                        }
                    })
                    .collect();
                unwinding.restored_batch.clear();
                unwinding.batch.insert(Batch {
                    key,
                    undos,
                    given_up: false,
                })
            }
            (None, None) => return,
        };
        let running = batch.undos.iter().filter(|u| u.running.is_some()).count();
        if batch.given_up || batch.undos.is_empty() {
            if running > 0 {
                return;
            }
            let given_up = batch.given_up;
            unwinding.batch = None;
            if given_up {
                // As after any undo that fails for good: the rest are skipped.
                let def = Self::DEF;
                for older in chain.drain(keep..).rev() {
                    unwinding.report.skipped(older.undo.name(def));
                    fx.posts.extend(Self::release(&older.undo));
                }
                return self.finish_unwinding(now_ms, fx);
            }
            return self.unwind(now_ms, fx);
        }
        let def = Self::DEF;
        let mut running = running;
        for undo in &mut batch.undos {
            let waiting = undo.retry_at_ms.is_some_and(|at| at > now_ms);
            if undo.running.is_some() || waiting {
                continue;
            }
            let Some(link) = chain.iter().find(|link| link.seq == undo.seq) else {
                continue;
            };
            let Undo::Activity(index) = link.undo else {
                continue;
            };
            let step = &def.transitions()[def.undos()[index].transition()];
            let at_most = step.parts().map_or(usize::MAX, |parts| parts.at_most());
            if running >= at_most {
                break;
            }
            *attempts += 1;
            let attempt = AttemptId(*attempts);
            undo.running = Some(attempt);
            undo.retry_at_ms = None;
            running += 1;
            let name = def.undos()[index].name();
            fx.undo_parts.push(UndoPartCommand {
                attempt,
                undo: index,
                seq: link.seq,
                number: undo.failed + 1,
                key: super::step_key(id, link.seq, "undo/", name),
                deadline: super::deadline::<W>(now_ms, undo_policies(def, index).1, state),
                json: Arc::clone(&link.json),
            });
        }
    }

    /// An attempt of the undo of the link recorded by `seq`, in the batch, ended.
    pub(super) fn undo_part_done(
        &mut self,
        attempt: AttemptId,
        seq: u64,
        result: Result<(), Failure>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let def = Self::DEF;
        let Some(Work::Unwinding(unwinding)) = &mut self.work else {
            return;
        };
        let Some(batch) = &mut unwinding.batch else {
            return;
        };
        let Some(at) = batch.undos.iter().position(|u| u.running == Some(attempt)) else {
            return;
        };
        let Some(link) = self.chain.iter().position(|link| link.seq == seq) else {
            return;
        };
        let Undo::Activity(index) = self.chain[link].undo else {
            return;
        };
        let undo = &mut batch.undos[at];
        undo.running = None;
        let number = undo.failed + 1;
        let name = def.undos()[index].name();
        let kind = match result {
            Ok(()) => {
                unwinding.report.undone(name);
                batch.undos.remove(at);
                self.chain.remove(link);
                RecordKind::Undone {
                    undo: name.into(),
                    attempt: number,
                }
            }
            Err(failure) => {
                let tried = Tried {
                    link: &self.chain[link],
                    number,
                    failure: &failure,
                    now_ms,
                };
                let retry_at =
                    retry_at::<W>(&self.id, &self.state, &tried).filter(|_| !batch.given_up);
                undo.failed = number;
                undo.retry_at_ms = retry_at;
                if retry_at.is_none() {
                    unwinding.report.undo_failed(name, failure.clone());
                    batch.undos.remove(at);
                    batch.given_up = true;
                    self.chain.remove(link);
                }
                RecordKind::AttemptFailed {
                    failure,
                    retry_at_ms: retry_at,
                }
            }
        };
        self.record(fx, now_ms, kind);
    }
}
