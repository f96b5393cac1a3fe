//! Testing flows without infrastructure: fake activities record their calls in a [`CallLog`],
//! which can also make chosen steps fail, [`run_to_end`] runs one instance on a fresh
//! in-memory runtime, and [`crash_check`] checks a flow against a crash after each of its
//! writes.
//!
//! Use tokio's paused clock (`#[tokio::test(start_paused = true)]`): timers, retry waits and
//! timeouts then take no real time, and [`Call::at`] says when each call happened in virtual
//! time.
//!
//! # Testing your flow
//!
//! 1. **Fakes are plain structs.** Implement the flow's `Activities` on a struct that holds a
//!    [`CallLog`] and calls [`CallLog::call`] first in each method: the log records the step,
//!    the attempt, the idempotency key and the virtual time, and fails the calls it is told
//!    to. A fake that hands out ids (a charge, a tracking number) should hand a request made
//!    again under its key the id it got the first time, as an idempotent API does.
//! 2. **Time is virtual.** Under `#[tokio::test(start_paused = true)]` a 48-hour timer, a retry
//!    backoff or a timeout passes at once, and the order of things is exact.
//! 3. **Every ending, in a few lines.** [`run_to_end`] starts an instance on a fresh in-memory
//!    runtime and returns how it ended; [`CallLog::assert_steps`] checks the exact sequence of
//!    steps and undos, newest undo first. Inject the failures an ending needs with
//!    [`CallLog::fail_attempts`] (attempts 1 to n of a step fail) or
//!    [`CallLog::fail_always`].
//! 4. **Crashes at every write.** [`crash_check`] runs the flow once without a crash, then once
//!    per write of that run, stopped right after it and resumed by a fresh host: each resumed
//!    run must end the same, each step and undo once by its idempotency key. A flow that waits
//!    for events takes them from a script ([`crash_check_with`]); one that runs child flows
//!    runs on a host with them ([`crash_check_host`]). It costs microseconds a kill point, so
//!    it belongs in `cargo test`.
//!
//! 5. **Every path, generated.** [`paths`] reads the flow's definition and returns paths that
//!    make every move at least once (each landing, each failure for good with its
//!    compensation or its catch, each event and timer, a cancel where one can be delivered);
//!    [`PathRunner`] runs each against your fakes in virtual time, with the faults, events and
//!    cancels the path needs, and checks where it lands, how it ends and which undos run, in
//!    order. [`paths_up_to`] takes loops up to a bound; `walks` (feature `proptest`) draws
//!    random walks for property tests.
//!
//! ## Worked example: the paths of S1
//!
//! The order flow (`check_inventory`, `pay`, `reserve_stock`, `create_shipping_note`, undos
//! `release_hold`, `refund`, `unreserve_stock`) has 9 generated paths:
//!
//! | # | path | covers | undos |
//! | --- | --- | --- | --- |
//! | 1 | `Placed` → `InStock` → `Paid` → `Reserved` → `Shipped` | the four landings of the happy path | none |
//! | 2 | `Placed` → `Cancelled` | the stock check's other target | none |
//! | 3 | `check_inventory` fails | failing with nothing to undo | none |
//! | 4 | … → `InStock`, `pay` fails (its 3 attempts) | compensation of one landing | `release_hold` |
//! | 5 | … → `InStock`, cancel | a cancel in `InStock` | `release_hold` |
//! | 6 | … → `Paid`, `reserve_stock` fails | compensation of two | `refund`, `release_hold` |
//! | 7 | … → `Paid`, cancel | a cancel in `Paid` | `refund`, `release_hold` |
//! | 8 | … → `Reserved`, `create_shipping_note` fails | compensation of three | `unreserve_stock`, `refund`, `release_hold` |
//! | 9 | … → `Reserved`, cancel | a cancel in `Reserved` | the same three |
//!
//! (No cancel in `Placed`: its first step starts as the instance is created.) The test reads:
//!
//! ```text
//! let paths = paths(&order::DEFINITION);                    // the 9 above
//! let runner = PathRunner::<order::Flow>::new(|path| {
//!     if path.takes("check_inventory", "Cancelled") {       // path 2 needs no stock
//!         request("o", "out_of_stock", 2, 1_990)
//!     } else {
//!         request("o", "espresso-machine", 1, 49_900)
//!     }
//! });
//! runner.run_all(&paths, Shop::new).await?;                  // 9 paths, 24 moves
//! ```
//!
//! A path the start data does not steer fails with [`PathProblem::Diverged`], showing both
//! sets of landings; an end or undo order the driver gets wrong, with
//! [`PathProblem::Ended`] or [`PathProblem::Undos`]. The full test, with a proptest of random
//! walks, is `tests/scenario_s1_order.rs`.
//!
//! The example below does 1 to 4 for a door that opens on its third attempt and then shuts;
//! if it cannot shut, it is closed again (the undo of `open`).
//!
//! ```
//! use workflow_core::prelude::*;
//! use workflow_core::runtime::Outcome;
//! use workflow_core::testing::{CallLog, Fault, crash_check, run_to_end};
//!
//! workflow! {
//!     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
//!     pub Door {
//!         initial Closed {}
//!         state   Open {}
//!         final   Shut {}
//!         open: Closed -> Open undo close, retry(3, 1s..10s);
//!         shut: Open -> Shut;
//!     }
//! }
//!
//! // 1. A plain struct, recording every call in its log.
//! struct Fakes(CallLog);
//!
//! impl door::Activities for Fakes {
//!     type Error = Fault;
//!     async fn open(&self, _: &door::Closed, ctx: &StepCtx) -> Result<door::Open, Fault> {
//!         self.0.call(ctx)?;
//!         Ok(door::Open {})
//!     }
//!     async fn close(&self, _: &door::Open, ctx: &StepCtx) -> Result<(), Fault> {
//!         self.0.call(ctx)
//!     }
//!     async fn shut(&self, _: &door::Open, ctx: &StepCtx) -> Result<door::Shut, Fault> {
//!         self.0.call(ctx)?;
//!         Ok(door::Shut {})
//!     }
//! }
//!
//! // 2. Virtual time.
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! // 3. The happy ending: the first two attempts of `open` fail, 1 s then 2 s apart.
//! let log = CallLog::new();
//! log.fail_attempts("open", 2);
//! let finished = run_to_end::<door::Flow, _>(Fakes(log.clone()), door::Closed {}).await;
//! assert!(matches!(finished, Outcome::Completed(_)));
//! log.assert_steps(&["open", "open", "open", "shut"]);
//! let waits: Vec<u64> = log.calls().iter().map(|call| call.at.as_secs()).collect();
//! assert_eq!(waits, [0, 1, 3, 3]);
//!
//! // ... and the failing one: `shut` fails, so the door is closed again.
//! let log = CallLog::new();
//! log.fail_always("shut");
//! let finished = run_to_end::<door::Flow, _>(Fakes(log.clone()), door::Closed {}).await;
//! assert!(matches!(finished, Outcome::Failed { .. }));
//! log.assert_steps(&["open", "shut", "close"]);
//!
//! // 4. Both endings, stopped after each of their writes and resumed.
//! for fail in ["open", "shut"] {
//!     let checked = crash_check::<door::Flow, _>(door::Closed {}, |log| {
//!         log.fail_attempts(fail, 2);
//!         Fakes(log)
//!     })
//!     .await
//!     .unwrap();
//!     assert_eq!(checked.points, checked.writes - 1);
//! }
//! # }
//! ```
mod crash;
mod paths;
mod runner;

pub use crash::{CrashChecked, CrashMismatch, crash_check, crash_check_host, crash_check_with};
#[cfg(feature = "proptest")]
pub use paths::walks;
pub use paths::{End, ExpectedUndo, Move, Path, moves_from, paths, paths_up_to, walk};
pub use runner::{PathMismatch, PathProblem, PathRunner, PathsChecked};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::StepCtx;
use crate::runtime::{Outcome, Runnable, Runtime};

/// One call an activity made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The transition or undo.
    pub step: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// The idempotency key it was given.
    pub key: Option<String>,
    /// When, since the log was created (virtual time under a paused clock).
    pub at: Duration,
}

/// A fault a [`CallLog`] injected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("injected fault in `{step}` (attempt {attempt})")]
pub struct Fault {
    /// The step that failed.
    pub step: String,
    /// Its attempt.
    pub attempt: u32,
}

/// The calls fake activities make, in order, shared by every clone. It also fails the steps
/// it is told to.
#[derive(Debug, Clone)]
pub struct CallLog {
    inner: Arc<Mutex<Log>>,
}

#[derive(Debug)]
struct Log {
    start: Instant,
    calls: Vec<Call>,
    failures_left: HashMap<String, u32>,
    always_failing: HashSet<String>,
    failing_attempts: HashMap<String, u32>,
    visits: Vec<Visit>,
}

/// Something to do on one visit of a transition: the `visit`-th time (from 0) any of its
/// `activities` is called under a new step key.
#[derive(Debug)]
struct Visit {
    activities: Vec<&'static str>,
    nth: usize,
    seen: Vec<String>,
    action: VisitAction,
}

/// What a [`VisitAction::Hook`] calls.
type Hook = Box<dyn FnOnce(&crate::InstanceId) + Send>;

enum VisitAction {
    /// Every call of the visit fails.
    Fail,
    /// Called once, on the visit's first call, with the instance's id.
    Hook(Option<Hook>),
}

impl core::fmt::Debug for VisitAction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Fail => f.write_str("Fail"),
            Self::Hook(_) => f.write_str("Hook"),
        }
    }
}

impl Visit {
    /// Whether a call of `step` under `key` belongs to this visit.
    fn matches(&mut self, step: &str, ctx: &StepCtx) -> bool {
        if !self.activities.contains(&step) {
            return false;
        }
        // `<instance>/<seq>/<step>` (`/<part>` for a part): the seq tells one visit from the
        // next.
        let seq = ctx
            .idempotency_key()
            .and_then(|key| key.strip_prefix(ctx.instance().as_str()))
            .and_then(|rest| rest.split('/').nth(1))
            .unwrap_or_default();
        let position = self.seen.iter().position(|s| s == seq).unwrap_or_else(|| {
            self.seen.push(seq.to_string());
            self.seen.len() - 1
        });
        position == self.nth
    }
}

impl Default for CallLog {
    fn default() -> Self {
        Self::new()
    }
}

impl CallLog {
    /// An empty log, timing calls from now.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Log {
                start: Instant::now(),
                calls: Vec::new(),
                failures_left: HashMap::new(),
                always_failing: HashSet::new(),
                failing_attempts: HashMap::new(),
                visits: Vec::new(),
            })),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a call to the step `ctx` describes.
    ///
    /// # Errors
    ///
    /// A [`Fault`] if the step was told to fail ([`CallLog::fail`], [`CallLog::fail_always`]).
    pub fn call(&self, ctx: &StepCtx) -> Result<(), Fault> {
        let mut log = self.log();
        let at = log.start.elapsed();
        let step = ctx.step().to_string();
        log.calls.push(Call {
            step: step.clone(),
            attempt: ctx.attempt(),
            key: ctx.idempotency_key().map(ToString::to_string),
            at,
        });
        let attempt = ctx.attempt();
        let mut hooks = Vec::new();
        let mut planned = false;
        for visit in &mut log.visits {
            if visit.matches(&step, ctx) {
                match &mut visit.action {
                    VisitAction::Fail => planned = true,
                    VisitAction::Hook(hook) => hooks.extend(hook.take()),
                }
            }
        }
        let fail = planned
            || log.always_failing.contains(&step)
            || log
                .failing_attempts
                .get(&step)
                .is_some_and(|&up_to| attempt <= up_to)
            || log.failures_left.get_mut(&step).is_some_and(|left| {
                let fail = *left > 0;
                *left = left.saturating_sub(1);
                fail
            });
        drop(log);
        for hook in hooks {
            hook(ctx.instance());
        }
        if fail {
            Err(Fault {
                step,
                attempt: ctx.attempt(),
            })
        } else {
            Ok(())
        }
    }

    /// Makes the next `times` calls to `step` fail.
    pub fn fail(&self, step: &str, times: u32) {
        self.log().failures_left.insert(step.to_string(), times);
    }

    /// Makes every call to `step` fail.
    pub fn fail_always(&self, step: &str) {
        self.log().always_failing.insert(step.to_string());
    }

    /// Makes attempts 1 to `attempts` of `step` fail, however many calls came before: a run
    /// resumed after a crash meets the same faults (an attempt cut short is made again with
    /// its number), where [`fail`](Self::fail)'s count may have been used up by the run the
    /// crash stopped. The one to use with [`crash_check`].
    pub fn fail_attempts(&self, step: &str, attempts: u32) {
        self.log()
            .failing_attempts
            .insert(step.to_string(), attempts);
    }

    /// Makes every call of visit `visit` (from 0) of a transition that calls `activities`
    /// fail: a visit is one taking of the transition, all its attempts (and parts) under one
    /// step key.
    pub(crate) fn fail_visit(&self, activities: Vec<&'static str>, visit: usize) {
        self.log().visits.push(Visit {
            activities,
            nth: visit,
            seen: Vec::new(),
            action: VisitAction::Fail,
        });
    }

    /// Calls `hook` with the instance's id on the first call of visit `visit` of a transition
    /// that calls `activities`, while that call runs.
    pub(crate) fn on_visit(
        &self,
        activities: Vec<&'static str>,
        visit: usize,
        hook: impl FnOnce(&crate::InstanceId) + Send + 'static,
    ) {
        self.log().visits.push(Visit {
            activities,
            nth: visit,
            seen: Vec::new(),
            action: VisitAction::Hook(Some(Box::new(hook))),
        });
    }

    /// Every call, in order.
    #[must_use]
    pub fn calls(&self) -> Vec<Call> {
        self.log().calls.clone()
    }

    /// The steps called, in order.
    #[must_use]
    pub fn steps(&self) -> Vec<String> {
        self.log()
            .calls
            .iter()
            .map(|call| call.step.clone())
            .collect()
    }

    /// How many times `step` was called.
    #[must_use]
    pub fn count(&self, step: &str) -> usize {
        self.log()
            .calls
            .iter()
            .filter(|call| call.step == step)
            .count()
    }

    /// Panics, showing both sequences, unless the steps called are exactly `expected`.
    ///
    /// # Panics
    ///
    /// When the sequences differ.
    #[track_caller]
    pub fn assert_steps(&self, expected: &[&str]) {
        let steps = self.steps();
        assert!(
            steps
                .iter()
                .map(String::as_str)
                .eq(expected.iter().copied()),
            "the activities were called in another order\n  expected: {expected:?}\n  called:   {steps:?}"
        );
    }
}

/// Starts an instance in `state` on a fresh in-memory runtime and waits for it to end.
///
/// # Panics
///
/// If the runtime refuses the instance or stops it (neither happens with the in-memory store).
pub async fn run_to_end<W, A>(activities: A, state: impl Into<W::State>) -> Outcome<W::State>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    let runtime = Runtime::<W, A>::new(activities);
    let id = runtime
        .start(state)
        .await
        .map_err(|rejected| rejected.error)
        .expect("the in-memory runtime starts the instance");
    runtime
        .outcome(&id)
        .await
        .expect("the in-memory runtime runs the instance to its end")
}
