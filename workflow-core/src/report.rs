//! What compensation did: every undo that ran, failed or was skipped, newest first.

use core::fmt;

/// The record of an unwinding: one entry per undo, in the order they were considered (newest
/// step first), plus any other step that failed at the same time (a parallel branch).
///
/// The typed saga's reports carry the activities' own error type; the driver's carry a
/// [`Failure`](crate::Failure).
///
/// ```
/// use workflow_core::{Entry, Report};
///
/// let mut report = Report::new();
/// report.undone("refund");
/// report.undo_failed("release", "warehouse offline");
/// report.skipped("unlock");
/// assert!(!report.is_complete());
/// assert_eq!(report.to_string(), "refund: undone; release: failed (warehouse offline); unlock: skipped");
/// assert_eq!(report.entries()[1], Entry::UndoFailed { undo: "release", error: "warehouse offline" });
/// assert_eq!(report.entries()[1].step(), "release");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report<E> {
    entries: Vec<Entry<E>>,
}

/// One line of a [`Report`]: what happened to one undo (or to a step running beside the one
/// that failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry<E> {
    /// The undo ran and succeeded.
    Undone {
        /// The undo.
        undo: &'static str,
    },
    /// The undo ran and failed (after its retries); the undos older than it were skipped.
    UndoFailed {
        /// The undo.
        undo: &'static str,
        /// Its error.
        error: E,
    },
    /// The undo did not run, because a newer undo failed.
    Skipped {
        /// The undo.
        undo: &'static str,
    },
    /// A forward step running in parallel with the one that failed failed too.
    AlsoFailed {
        /// The forward step.
        step: &'static str,
        /// Its error.
        error: E,
    },
}

impl<E> Entry<E> {
    /// The undo this entry is about (for [`Entry::AlsoFailed`], the forward step).
    #[must_use]
    pub const fn step(&self) -> &'static str {
        match self {
            Self::Undone { undo } | Self::UndoFailed { undo, .. } | Self::Skipped { undo } => undo,
            Self::AlsoFailed { step, .. } => step,
        }
    }

    /// The error, for an undo that failed or a parallel step that failed too.
    #[must_use]
    pub const fn error(&self) -> Option<&E> {
        match self {
            Self::UndoFailed { error, .. } | Self::AlsoFailed { error, .. } => Some(error),
            Self::Undone { .. } | Self::Skipped { .. } => None,
        }
    }

    /// Converts the error, for example into a common error type.
    #[must_use]
    pub fn map_err<F>(self, f: impl FnOnce(E) -> F) -> Entry<F> {
        match self {
            Self::Undone { undo } => Entry::Undone { undo },
            Self::UndoFailed { undo, error } => Entry::UndoFailed {
                undo,
                error: f(error),
            },
            Self::Skipped { undo } => Entry::Skipped { undo },
            Self::AlsoFailed { step, error } => Entry::AlsoFailed {
                step,
                error: f(error),
            },
        }
    }
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
        self.entries.push(Entry::Undone { undo });
    }

    /// Records that `undo` ran and failed.
    pub fn undo_failed(&mut self, undo: &'static str, error: E) {
        self.entries.push(Entry::UndoFailed { undo, error });
    }

    /// Records that `undo` did not run.
    pub fn skipped(&mut self, undo: &'static str) {
        self.entries.push(Entry::Skipped { undo });
    }

    /// Records that `step`, running beside the step that failed, failed too.
    pub fn also_failed(&mut self, step: &'static str, error: E) {
        self.entries.push(Entry::AlsoFailed { step, error });
    }

    /// Appends one entry.
    pub fn push(&mut self, entry: Entry<E>) {
        self.entries.push(entry);
    }

    /// Every entry, in order.
    #[must_use]
    pub fn entries(&self) -> &[Entry<E>] {
        &self.entries
    }

    /// Whether nothing was considered for undoing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether every undo ran and succeeded (and no parallel step failed).
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e, Entry::Undone { .. }))
    }

    /// The names of the undos that ran and succeeded, in order.
    #[must_use]
    pub fn undone_steps(&self) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Undone { undo } => Some(*undo),
                _ => None,
            })
            .collect()
    }

    /// Removes the entry of the undo that failed, returning its name and error: how a saga
    /// reports compensation that failed on its own, with no forward step to blame.
    pub fn take_undo_failure(&mut self) -> Option<(&'static str, E)> {
        let at = self
            .entries
            .iter()
            .position(|e| matches!(e, Entry::UndoFailed { .. }))?;
        match self.entries.remove(at) {
            Entry::UndoFailed { undo, error } => Some((undo, error)),
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
        Report {
            entries: self
                .entries
                .into_iter()
                .map(|entry| entry.map_err(&mut f))
                .collect(),
        }
    }
}

impl<E> FromIterator<Entry<E>> for Report<E> {
    fn from_iter<I: IntoIterator<Item = Entry<E>>>(iter: I) -> Self {
        Self {
            entries: iter.into_iter().collect(),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Report<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.entries.is_empty() {
            return f.write_str("nothing to undo");
        }
        for (i, entry) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match entry {
                Entry::Undone { undo } => write!(f, "{undo}: undone")?,
                Entry::UndoFailed { undo, error } => write!(f, "{undo}: failed ({error})")?,
                Entry::Skipped { undo } => write!(f, "{undo}: skipped")?,
                Entry::AlsoFailed { step, error } => write!(f, "{step}: also failed ({error})")?,
            }
        }
        Ok(())
    }
}
