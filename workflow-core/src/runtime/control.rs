//! Flow control for a step, in one worker process: at most N attempts at once, at most so
//! many started per period (a token bucket), and a circuit breaker that stops calling a
//! dependency that keeps failing, for a cool-down. Configured per step on the host
//! ([`HostBuilder::control`](super::HostBuilder::control)); applied as a layer of each
//! attempt, around its deadline, so that waiting for a permit or a token is not counted
//! against the step's `timeout`.
//!
//! The limits hold per process: on PostgreSQL, each worker process has its own, so N workers
//! allow N times the concurrency and the rate, and each trips its own breaker.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::{Instant, sleep_until};

use super::attempt::{Attempt, Attempted, Layer};
use super::policy::human;
use crate::FailureKind;

/// Limits on one step's attempts, in this process.
///
/// ```
/// use std::time::Duration;
/// use workflow_core::runtime::FlowControl;
///
/// // At most 4 charges at once, 10 a second, and after 5 failures in a row none for 30s.
/// let control = FlowControl::new()
///     .concurrency(4)
///     .rate(10, Duration::from_secs(1))
///     .breaker(5, Duration::from_secs(30));
/// # let _ = control;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct FlowControl {
    concurrency: Option<usize>,
    rate: Option<(u32, Duration)>,
    breaker: Option<(u32, Duration)>,
}

impl FlowControl {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `at_most` attempts of the step run at once; the others wait their turn.
    ///
    /// # Panics
    ///
    /// If `at_most` is 0.
    pub fn concurrency(mut self, at_most: usize) -> Self {
        assert!(
            at_most > 0,
            "a concurrency limit of 0 would never run the step"
        );
        self.concurrency = Some(at_most);
        self
    }

    /// At most `attempts` attempts start per `per`, evenly refilled, with up to `attempts`
    /// at once after a quiet period (a token bucket); the others wait for a token.
    ///
    /// # Panics
    ///
    /// If `attempts` or `per` is zero.
    pub fn rate(mut self, attempts: u32, per: Duration) -> Self {
        assert!(
            attempts > 0 && !per.is_zero(),
            "a rate of 0 would never run the step"
        );
        self.rate = Some((attempts, per));
        self
    }

    /// After `failures` failed attempts in a row, attempts fail at once
    /// ([`FailureKind::CircuitOpen`], retried as the step's policy says) for `cool_down`;
    /// then one attempt is let through: its success closes the circuit, its failure opens
    /// it again.
    ///
    /// # Panics
    ///
    /// If `failures` is 0.
    pub fn breaker(mut self, failures: u32, cool_down: Duration) -> Self {
        assert!(failures > 0, "a breaker must allow at least one failure");
        self.breaker = Some((failures, cool_down));
        self
    }
}

/// The live limits of one step: what [`FlowControl`] configures.
#[derive(Debug)]
pub(crate) struct Control {
    permits: Option<Semaphore>,
    bucket: Option<Mutex<Bucket>>,
    breaker: Option<Mutex<Breaker>>,
}

impl Control {
    pub(crate) fn new(config: &FlowControl) -> Self {
        Self {
            permits: config.concurrency.map(Semaphore::new),
            bucket: config
                .rate
                .map(|(attempts, per)| Mutex::new(Bucket::new(attempts, per))),
            breaker: config.breaker.map(|(failures, cool_down)| {
                Mutex::new(Breaker {
                    threshold: failures,
                    cool_down,
                    state: Circuit::Closed { failures: 0 },
                })
            }),
        }
    }

    /// Runs `inner` within the limits.
    async fn run<T>(&self, inner: impl Future<Output = Attempted<T>>) -> Attempted<T> {
        let _permit = match &self.permits {
            // The semaphore is never closed.
            Some(permits) => permits.acquire().await.ok(),
            None => None,
        };
        if let Some(bucket) = &self.bucket {
            take_token(bucket).await;
        }
        let Some(breaker) = &self.breaker else {
            return inner.await;
        };
        lock(breaker).admit(Instant::now())?;
        let result = inner.await;
        // An error the activity says is not worth retrying is an answer: the dependency works.
        let failed = matches!(&result, Err((kind, _)) if *kind != FailureKind::Permanent);
        lock(breaker).record(!failed, Instant::now());
        result
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section below leaves its value whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A token bucket: `capacity` tokens, one more every `every`.
#[derive(Debug)]
struct Bucket {
    capacity: u32,
    every: Duration,
    tokens: u32,
    /// When the next token is added (while the bucket is not full).
    next: Instant,
}

impl Bucket {
    fn new(attempts: u32, per: Duration) -> Self {
        Self {
            capacity: attempts,
            every: per / attempts,
            tokens: attempts,
            next: Instant::now(),
        }
    }

    /// Takes a token if there is one, else says when the next comes.
    fn take(&mut self, now: Instant) -> Result<(), Instant> {
        if self.tokens == self.capacity {
            self.next = now + self.every;
        }
        while self.tokens < self.capacity && self.next <= now {
            self.tokens += 1;
            self.next += self.every;
        }
        if self.tokens == 0 {
            return Err(self.next);
        }
        self.tokens -= 1;
        Ok(())
    }
}

async fn take_token(bucket: &Mutex<Bucket>) {
    loop {
        let taken = lock(bucket).take(Instant::now());
        match taken {
            Ok(()) => return,
            Err(at) => sleep_until(at).await,
        }
    }
}

/// A circuit breaker's state.
#[derive(Debug)]
struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: Circuit,
}

#[derive(Debug, Clone, Copy)]
enum Circuit {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls fail at once until `until`.
    Open { until: Instant },
    /// One call is going through, to see whether the dependency is back; another is let
    /// through after `until` (the first may have been dropped unfinished).
    Probing { until: Instant },
}

impl Breaker {
    /// Lets an attempt through, or fails it at once.
    fn admit(&mut self, now: Instant) -> Result<(), (FailureKind, String)> {
        let open = |until: Instant| {
            let left = until.saturating_duration_since(now);
            Err((
                FailureKind::CircuitOpen,
                format!(
                    "the circuit is open after {} failures in a row: no call for another {}",
                    self.threshold,
                    human(left.max(Duration::from_millis(1)))
                ),
            ))
        };
        match self.state {
            Circuit::Closed { .. } => Ok(()),
            Circuit::Open { until } | Circuit::Probing { until } if now >= until => {
                self.state = Circuit::Probing {
                    until: now + self.cool_down,
                };
                Ok(())
            }
            Circuit::Open { until } => open(until),
            Circuit::Probing { .. } => Err((
                FailureKind::CircuitOpen,
                "the circuit is open: one call is seeing whether the dependency is back".into(),
            )),
        }
    }

    /// Counts an attempt that was let through.
    fn record(&mut self, succeeded: bool, now: Instant) {
        self.state = match (self.state, succeeded) {
            (_, true) => Circuit::Closed { failures: 0 },
            (Circuit::Closed { failures }, false) if failures + 1 < self.threshold => {
                Circuit::Closed {
                    failures: failures + 1,
                }
            }
            (_, false) => Circuit::Open {
                until: now + self.cool_down,
            },
        };
    }
}

/// The layer: an attempt of a step with limits runs within them.
pub(crate) struct Controlled;

impl Layer for Controlled {
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        let control = attempt.control.clone();
        async move {
            match control {
                Some(control) => control.run(inner).await,
                None => inner.await,
            }
        }
    }
}
