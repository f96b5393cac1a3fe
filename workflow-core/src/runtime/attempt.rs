//! One attempt of a transition or an undo, as a stack of layers around the activity call, in
//! the manner of tower: a tracing span outermost, then the step's flow control (concurrency
//! and rate limits, circuit breaker), then the deadline, then a panic guard. Transitions and
//! undos, first attempts and retries all go through the same stack.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::time::{Instant, timeout_at};

use super::metrics::Measured;
use tracing::{Instrument, field, info_span, warn};

use super::control::Controlled;
use super::policy::human;
use crate::plumbing::DispatchError;
use crate::{Failure, FailureKind, InstanceId};

/// What every layer knows of the attempt it wraps.
pub(crate) struct Attempt<'a> {
    pub(crate) flow: &'static str,
    pub(crate) instance: &'a InstanceId,
    /// The state the step runs from (for an undo: the state it undoes).
    pub(crate) state: &'static str,
    pub(crate) step: &'static str,
    /// For a part of a step: which branch or item.
    pub(crate) part: Option<u32>,
    pub(crate) is_undo: bool,
    pub(crate) number: u32,
    /// When the attempt must be over, and the step's declared timeout (for the message).
    pub(crate) deadline: Option<(Instant, Duration)>,
    /// The step's flow control on this host, if it has any.
    pub(crate) control: Option<std::sync::Arc<super::control::Control>>,
}

/// An attempt's result inside the stack: the value, or what went wrong and its message.
pub(crate) type Attempted<T> = Result<T, (FailureKind, String)>;

/// One layer of the stack: wraps the attempt inside it.
pub(crate) trait Layer: Send + Sync {
    /// Wraps `inner`. What the layer needs of `attempt` it takes now: the future it
    /// returns holds only `inner` and values of its own.
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<Self, T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send;
}

/// `Outer` around `Inner`.
pub(crate) struct Stack<Outer, Inner>(pub(crate) Outer, pub(crate) Inner);

impl<Outer: Layer, Inner: Layer> Layer for Stack<Outer, Inner> {
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<Outer, Inner, T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        self.0.layer(attempt, self.1.layer(attempt, inner))
    }
}

/// A `tracing` span per attempt (`step` or `undo`), with the flow, instance, state, step,
/// attempt and, once known, its outcome; a warning when it fails.
pub(crate) struct Traced;

impl Layer for Traced {
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        let span = if attempt.is_undo {
            info_span!(
                "undo",
                flow = attempt.flow,
                instance = %attempt.instance,
                state = attempt.state,
                step = attempt.step,
                attempt = attempt.number,
                outcome = field::Empty,
            )
        } else {
            info_span!(
                "step",
                flow = attempt.flow,
                instance = %attempt.instance,
                state = attempt.state,
                step = attempt.step,
                part = attempt.part,
                attempt = attempt.number,
                outcome = field::Empty,
            )
        };
        let recorded = span.clone();
        async move {
            let result = inner.await;
            match &result {
                Ok(_) => {
                    recorded.record("outcome", "ok");
                }
                Err((kind, message)) => {
                    recorded.record("outcome", "error");
                    recorded.in_scope(|| warn!(%kind, error = %message, "attempt failed"));
                }
            }
            result
        }
        .instrument(span)
    }
}

/// Ends the attempt at its deadline: a timeout is a failed attempt like any other.
pub(crate) struct Deadline;

impl Layer for Deadline {
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        let deadline = attempt.deadline;
        async move {
            match deadline {
                Some((at, declared)) => timeout_at(at, inner).await.unwrap_or_else(|_| {
                    Err((
                        FailureKind::Timeout,
                        format!("timed out after {}", human(declared)),
                    ))
                }),
                None => inner.await,
            }
        }
    }
}

/// Turns a panic in the activity into a failed attempt: the runtime goes on.
pub(crate) struct CatchPanic;

impl Layer for CatchPanic {
    fn layer<T, F>(
        &self,
        _: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        AssertUnwindSafe(inner)
            .catch_unwind()
            .map(|result| match result {
                Ok(attempted) => attempted,
                Err(panic) => Err((
                    FailureKind::Panic,
                    format!("the activity panicked: {}", panic_message(&*panic)),
                )),
            })
    }
}

/// What a caught panic said, when it said it with a string.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(ToString::to_string)
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// The stack every attempt goes through.
pub(crate) type Standard =
    Stack<Traced, Stack<Controlled, Stack<Measured, Stack<Deadline, CatchPanic>>>>;

/// The standard stack.
pub(crate) const STANDARD: Standard = Stack(
    Traced,
    Stack(Controlled, Stack(Measured, Stack(Deadline, CatchPanic))),
);

/// Runs `call`, one attempt described by `attempt`, through `layers`. An activity error
/// that `retryable` says is not worth retrying fails as [`FailureKind::Permanent`].
pub(crate) async fn run<L, T, E, F>(
    layers: &L,
    attempt: &Attempt<'_>,
    retryable: fn(&E) -> bool,
    call: F,
) -> Result<T, Failure>
where
    L: Layer,
    T: Send,
    E: std::fmt::Display,
    F: Future<Output = Result<T, DispatchError<E>>> + Send,
{
    let call = call.map(|result| {
        result.map_err(|error| match error {
            DispatchError::Activity(error) if !retryable(&error) => {
                (FailureKind::Permanent, error.to_string())
            }
            DispatchError::Activity(error) => (FailureKind::Activity, error.to_string()),
            DispatchError::Mismatch(mismatch) => (FailureKind::Mismatch, mismatch.to_string()),
        })
    });
    layers
        .layer(attempt, call)
        .await
        .map_err(|(kind, message)| Failure::new(attempt.step, attempt.number, kind, message))
}
