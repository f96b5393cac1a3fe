//! Why an attempt of a step failed, as data: kept through the outcome, the compensation
//! report and the history, so no caller needs to read error text.

use core::fmt;
use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// One failed attempt of a transition or an undo: which step, which attempt, what happened.
///
/// The driver keeps it typed everywhere a failure shows: in
/// [`Outcome::Failed`](crate::runtime::Outcome::Failed), in each line of a compensation
/// [`Report`](crate::Report) and in the history's records. The activity's own error is kept
/// as its `Display` text in [`message`](Failure::message), so a failure reads the same before
/// and after a restart.
///
/// ```
/// use workflow_core::{Failure, FailureKind};
///
/// let failure = Failure::new("pay", 3, FailureKind::Timeout, "timed out after 30s");
/// assert_eq!(failure.step(), "pay");
/// assert_eq!(failure.attempt(), 3);
/// assert!(failure.is(FailureKind::Timeout));
/// assert_eq!(failure.to_string(), "`pay` attempt 3: timed out after 30s");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Failure {
    /// The transition or undo, as named in the `workflow!` block.
    pub step: Cow<'static, str>,
    /// Which attempt failed, from 1.
    pub attempt: u32,
    /// What happened.
    pub kind: FailureKind,
    /// The activity's error, or what the driver saw (`timed out after 30s`).
    pub message: String,
    /// For a part of a transition made of parts: which branch of `parallel(..)`, or which
    /// item of `each(..)` (from 0), failed. `step` then names the part's activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<u32>,
}

/// What made an attempt fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FailureKind {
    /// The activity returned an error.
    Activity,
    /// The activity returned an error it marks as not worth retrying (its `Activities`
    /// impl's `retryable` said so): the step's remaining attempts are skipped.
    Permanent,
    /// The attempt took longer than the step's `timeout`.
    Timeout,
    /// The step's circuit breaker was open: the activity was not called (see
    /// [`FlowControl::breaker`](crate::runtime::FlowControl::breaker)).
    CircuitOpen,
    /// The activity panicked; the panic was caught and the runtime went on.
    Panic,
    /// The activity succeeded, but the state it returned cannot be stored exactly (a `NaN`
    /// or an infinity in a float, a map with keys that are not strings): the instance stays
    /// where it was, as if the attempt had failed.
    Unstorable,
    /// The step does not apply to the state it was given: stored data and the flow disagree.
    Mismatch,
    /// The child flow instance the step ran ended failed, or was cancelled.
    Child,
}

impl Failure {
    /// A failure of attempt `attempt` of `step`.
    pub fn new(
        step: impl Into<Cow<'static, str>>,
        attempt: u32,
        kind: FailureKind,
        message: impl Into<String>,
    ) -> Self {
        Self {
            step: step.into(),
            attempt,
            kind,
            message: message.into(),
            part: None,
        }
    }

    /// The same failure, of part `part` (a branch, or an item, from 0).
    ///
    /// ```
    /// use workflow_core::{Failure, FailureKind};
    ///
    /// let failure = Failure::new("reserve_line", 1, FailureKind::Activity, "out of stock").in_part(6);
    /// assert_eq!(failure.part, Some(6));
    /// ```
    #[must_use]
    pub fn in_part(mut self, part: u32) -> Self {
        self.part = Some(part);
        self
    }

    /// The transition or undo that failed.
    #[must_use]
    pub fn step(&self) -> &str {
        &self.step
    }

    /// Which attempt failed, from 1.
    #[must_use]
    pub const fn attempt(&self) -> u32 {
        self.attempt
    }

    /// What happened.
    #[must_use]
    pub const fn kind(&self) -> FailureKind {
        self.kind
    }

    /// Whether it is a failure of this kind.
    #[must_use]
    pub fn is(&self, kind: FailureKind) -> bool {
        self.kind == kind
    }

    /// The activity's error text, or the driver's description of what happened.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Activity => "activity error",
            Self::Permanent => "permanent activity error",
            Self::Timeout => "timeout",
            Self::CircuitOpen => "circuit open",
            Self::Panic => "panic",
            Self::Unstorable => "unstorable state",
            Self::Mismatch => "mismatch",
            Self::Child => "child flow failed",
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` ", self.step)?;
        if let Some(part) = self.part {
            write!(f, "part {part}, ")?;
        }
        write!(f, "attempt {}: {}", self.attempt, self.message)
    }
}

impl std::error::Error for Failure {}
