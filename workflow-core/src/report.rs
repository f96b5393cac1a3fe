//! What compensation did: every undo that ran, failed or was skipped, newest first.

use core::fmt;

/// The record of an unwinding: one entry per undo, in the order they were considered (newest
/// step first), plus any other step that failed at the same time (a parallel branch).
///
/// ```
/// use workflow_core::{Outcome, Report};
///
/// let mut report = Report::new();
/// report.undone("refund");
/// report.undo_failed("release", "warehouse offline");
/// report.skipped("unlock");
/// assert!(!report.is_complete());
/// assert_eq!(report.to_string(), "refund: undone; release: failed (warehouse offline); unlock: skipped");
/// assert_eq!(report.entries()[1].outcome, Outcome::UndoFailed("warehouse offline"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<E> {
    entries: Vec<Entry<E>>,
}

/// One line of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<E> {
    /// The undo (or, for [`Outcome::AlsoFailed`], the forward step) this entry is about.
    pub step: &'static str,
    /// What happened to it.
    pub outcome: Outcome<E>,
}

/// What happened to one undo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    /// The undo ran and succeeded.
    Undone,
    /// The undo ran and failed; the undos older than it were skipped.
    UndoFailed(E),
    /// The undo did not run, because a newer undo failed.
    Skipped,
    /// A forward step running in parallel with the one that failed failed too.
    AlsoFailed(E),
}

impl<E> Default for Report<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Report<E> {
    /// An empty report: nothing was undone yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Records that `undo` ran and succeeded.
    pub fn undone(&mut self, undo: &'static str) {
        self.entries.push(Entry {
            step: undo,
            outcome: Outcome::Undone,
        });
    }

    /// Records that `undo` ran and failed.
    pub fn undo_failed(&mut self, undo: &'static str, error: E) {
        self.entries.push(Entry {
            step: undo,
            outcome: Outcome::UndoFailed(error),
        });
    }

    /// Records that `undo` did not run.
    pub fn skipped(&mut self, undo: &'static str) {
        self.entries.push(Entry {
            step: undo,
            outcome: Outcome::Skipped,
        });
    }

    /// Records that `step`, running beside the step that failed, failed too.
    pub fn also_failed(&mut self, step: &'static str, error: E) {
        self.entries.push(Entry {
            step,
            outcome: Outcome::AlsoFailed(error),
        });
    }

    /// Every entry, in order.
    #[must_use]
    pub fn entries(&self) -> &[Entry<E>] {
        &self.entries
    }

    /// Whether every undo ran and succeeded (and no parallel step failed).
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.outcome, Outcome::Undone))
    }

    /// The names of the undos that ran and succeeded, in order.
    #[must_use]
    pub fn undone_steps(&self) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|e| matches!(e.outcome, Outcome::Undone))
            .map(|e| e.step)
            .collect()
    }

    /// Removes the entry of the undo that failed, returning its name and error: how a saga
    /// reports compensation that failed on its own, with no forward step to blame.
    pub fn take_undo_failure(&mut self) -> Option<(&'static str, E)> {
        let at = self
            .entries
            .iter()
            .position(|e| matches!(e.outcome, Outcome::UndoFailed(_)))?;
        match self.entries.remove(at) {
            Entry {
                step,
                outcome: Outcome::UndoFailed(error),
            } => Some((step, error)),
            _ => None,
        }
    }

    /// Appends the entries of `other`.
    pub fn append(&mut self, other: Report<E>) {
        self.entries.extend(other.entries);
    }

    /// Converts the errors, for example into a common error type.
    #[must_use]
    pub fn map_err<F>(self, mut f: impl FnMut(E) -> F) -> Report<F> {
        let entries = self
            .entries
            .into_iter()
            .map(|Entry { step, outcome }| Entry {
                step,
                outcome: match outcome {
                    Outcome::Undone => Outcome::Undone,
                    Outcome::UndoFailed(e) => Outcome::UndoFailed(f(e)),
                    Outcome::Skipped => Outcome::Skipped,
                    Outcome::AlsoFailed(e) => Outcome::AlsoFailed(f(e)),
                },
            })
            .collect();
        Report { entries }
    }
}

impl<E: fmt::Display> fmt::Display for Report<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("nothing to undo");
        }
        for (i, Entry { step, outcome }) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match outcome {
                Outcome::Undone => write!(f, "{step}: undone")?,
                Outcome::UndoFailed(e) => write!(f, "{step}: failed ({e})")?,
                Outcome::Skipped => write!(f, "{step}: skipped")?,
                Outcome::AlsoFailed(e) => write!(f, "{step}: also failed ({e})")?,
            }
        }
        Ok(())
    }
}
