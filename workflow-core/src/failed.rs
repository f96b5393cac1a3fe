//! Failure values that hand the caller's state back: nothing is lost when a step fails.

use core::fmt;

/// A step failed; the state it started from comes back with the error.
///
/// Every typestate method takes its source state by value. If the activity fails, the state is
/// returned here untouched, so the caller can retry, take another transition or compensate.
///
/// ```
/// use workflow_core::Failed;
///
/// let failed = Failed::new("placed", "card declined");
/// assert_eq!(failed.to_string(), "step failed: card declined");
/// let (state, error) = failed.into_parts();
/// assert_eq!((state, error), ("placed", "card declined"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed<S, E> {
    /// The state the step started from, unchanged.
    pub state: S,
    /// The activity's error.
    pub error: E,
}

impl<S, E> Failed<S, E> {
    /// Pairs a state with the error that stopped it.
    pub const fn new(state: S, error: E) -> Self {
        Self { state, error }
    }

    /// Splits into the state and the error.
    pub fn into_parts(self) -> (S, E) {
        (self.state, self.error)
    }

    /// The state the step started from.
    pub fn into_state(self) -> S {
        self.state
    }

    /// Converts the state, for example into the flow's `State` enum.
    ///
    /// ```
    /// use workflow_core::Failed;
    ///
    /// let failed = Failed::new(3_u8, "boom").map_state(u32::from);
    /// assert_eq!(failed.state, 3_u32);
    /// ```
    pub fn map_state<T>(self, f: impl FnOnce(S) -> T) -> Failed<T, E> {
        Failed {
            state: f(self.state),
            error: self.error,
        }
    }
}

impl<S, E: fmt::Display> fmt::Display for Failed<S, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step failed: {}", self.error)
    }
}

impl<S: fmt::Debug, E: std::error::Error + 'static> std::error::Error for Failed<S, E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// A flow's `State` enum held a different state than the one asked for.
///
/// Returned by the generated `TryFrom<State>` impls; the state comes back untouched.
///
/// ```
/// use workflow_core::WrongState;
///
/// let wrong = WrongState::new("Paid", "Shipped", 7);
/// assert_eq!(wrong.to_string(), "expected state `Paid`, found `Shipped`");
/// assert_eq!(wrong.into_state(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongState<S> {
    /// The state that was asked for.
    pub expected: &'static str,
    /// The state that was found.
    pub found: &'static str,
    /// The value, handed back.
    pub state: S,
}

impl<S> WrongState<S> {
    /// Describes a mismatch between the state asked for and the one found.
    pub const fn new(expected: &'static str, found: &'static str, state: S) -> Self {
        Self {
            expected,
            found,
            state,
        }
    }

    /// The value that did not match, handed back.
    pub fn into_state(self) -> S {
        self.state
    }
}

impl<S> fmt::Display for WrongState<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "expected state `{}`, found `{}`",
            self.expected, self.found
        )
    }
}

impl<S: fmt::Debug> std::error::Error for WrongState<S> {}
