//! Runs paths of a flow against fake activities in virtual time: [`PathRunner`] injects the
//! failures a path needs, sends its events, cancels where it cancels, lets its timers fire,
//! then checks the landings in the history, the end, and the undos, in order.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::FutureExt as _;

use super::CallLog;
use super::paths::{End, ExpectedUndo, Move, Path, activities_of, event_of, rests_in};
use crate::runtime::{Outcome, Runnable, Runtime};
use crate::store::{Message, Record, RecordKind};
use crate::{FlowState, InstanceId, Workflow};

/// Where a path's run went another way than the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path `{path}`: {problem}")]
pub struct PathMismatch {
    /// The path, as it prints.
    pub path: String,
    /// What went another way.
    pub problem: PathProblem,
}

/// What went another way on a path's run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathProblem {
    /// The instance landed elsewhere: the start data (or the fakes) chose another target.
    #[error("it landed elsewhere: the path lands {expected:?}, the history shows {got:?}")]
    Diverged {
        /// The path's landings, `transition -> state`.
        expected: Vec<String>,
        /// The history's.
        got: Vec<String>,
    },
    /// It ended another way.
    #[error("the path ends {expected}, the instance ended {got}")]
    Ended {
        /// How the path ends.
        expected: String,
        /// How the instance ended.
        got: String,
    },
    /// Other undos ran, or in another order.
    #[error("the path undoes {expected:?}, the undos called were {got:?}")]
    Undos {
        /// The undos the path expects, newest first.
        expected: Vec<String>,
        /// The undos the activities were called for, in order.
        got: Vec<String>,
    },
    /// The path sends an event the runner has no value for.
    #[error("the path sends `{event}`, and the runner has no events: give it `PathRunner::events`")]
    NoEvent {
        /// The event type's name.
        event: &'static str,
    },
    /// The runtime refused to start the instance, take an event or cancel it.
    #[error("the runtime refused: {0}")]
    Refused(String),
}

/// What [`PathRunner::run_all`] ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathsChecked {
    /// Paths run, each to its end.
    pub paths: usize,
    /// Moves made over all of them.
    pub moves: usize,
}

type Start<W> = Box<dyn Fn(&Path) -> <W as Workflow>::State + Send + Sync>;
type Events<W> = Box<dyn Fn(&Path, &'static str) -> <W as Workflow>::Event + Send + Sync>;

/// Runs paths ([`paths`](super::paths), [`paths_up_to`](super::paths_up_to),
/// [`walk`](super::walk)) of flow `W` on a fresh in-memory runtime each, in virtual time.
///
/// For each path it makes the transitions the path fails fail (every attempt of that visit,
/// through the [`CallLog`] the fakes are built with), sends the path's events once the
/// instance rests in their state, posts its cancel (while the activity landing in the state
/// runs, for a state the instance does not rest in), and lets its timers fire. Then it checks
/// that the history lands where the path lands, that the instance ends as the path ends, and
/// that the undos called are the compensation chain's, newest first.
///
/// The start data steers transitions with several targets: `start` gets the path and returns
/// the state to start in (for an order flow, an out-of-stock order for the path where the
/// stock check cancels). Events are made by `events`, given the path and the event type's name.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::testing::{CallLog, Fault, PathRunner, paths};
///
/// workflow! {
///     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///     pub Door {
///         initial Closed {}
///         state   Open {}
///         final   Shut {}
///         open: Closed -> Open undo close;
///         shut: Open -> Shut;
///     }
/// }
///
/// struct Fakes(CallLog);
///
/// impl door::Activities for Fakes {
///     type Error = Fault;
///     async fn open(&self, _: &door::Closed, ctx: &StepCtx) -> Result<door::Open, Fault> {
///         self.0.call(ctx)?;
///         Ok(door::Open {})
///     }
///     async fn close(&self, _: &door::Open, ctx: &StepCtx) -> Result<(), Fault> {
///         self.0.call(ctx)
///     }
///     async fn shut(&self, _: &door::Open, ctx: &StepCtx) -> Result<door::Shut, Fault> {
///         self.0.call(ctx)?;
///         Ok(door::Shut {})
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let paths = paths(&door::DEFINITION);
/// let checked = PathRunner::<door::Flow>::new(|_| door::Closed {})
///     .run_all(&paths, Fakes)
///     .await
///     .unwrap();
/// assert_eq!((checked.paths, checked.moves), (4, 7));
/// # }
/// ```
pub struct PathRunner<W: Workflow> {
    start: Start<W>,
    events: Option<Events<W>>,
}

impl<W: Workflow> core::fmt::Debug for PathRunner<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PathRunner")
            .field("flow", &W::DEFINITION.name())
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

impl<W: Workflow> PathRunner<W> {
    /// A runner starting each path's instance in the state `start` makes for the path.
    pub fn new<S: Into<W::State>>(start: impl Fn(&Path) -> S + Send + Sync + 'static) -> Self {
        Self {
            start: Box::new(move |path| start(path).into()),
            events: None,
        }
    }

    /// Makes the events paths send: `events(path, name)` for the event type called `name`.
    #[must_use]
    pub fn events<E: Into<W::Event>>(
        mut self,
        events: impl Fn(&Path, &'static str) -> E + Send + Sync + 'static,
    ) -> Self {
        self.events = Some(Box::new(move |path, name| events(path, name).into()));
        self
    }

    /// Runs every path of `paths`, each on activities `fakes` builds from a fresh
    /// [`CallLog`], and stops at the first that goes another way.
    ///
    /// # Errors
    ///
    /// The first [`PathMismatch`].
    pub async fn run_all<A>(
        &self,
        paths: &[Path],
        fakes: impl Fn(CallLog) -> A,
    ) -> Result<PathsChecked, PathMismatch>
    where
        W: Runnable<A>,
        A: Send + Sync + 'static,
    {
        let mut checked = PathsChecked { paths: 0, moves: 0 };
        for path in paths {
            self.run(path, &fakes).await?;
            checked.paths += 1;
            checked.moves += path.moves().len();
        }
        Ok(checked)
    }

    /// Runs one path on activities `fakes` builds from a fresh [`CallLog`].
    ///
    /// # Errors
    ///
    /// A [`PathMismatch`] saying what went another way.
    pub async fn run<A>(
        &self,
        path: &Path,
        fakes: impl Fn(CallLog) -> A,
    ) -> Result<(), PathMismatch>
    where
        W: Runnable<A>,
        A: Send + Sync + 'static,
    {
        let mismatch = |problem| PathMismatch {
            path: path.to_string(),
            problem,
        };
        let log = CallLog::new();
        let runtime = Runtime::<W, A>::new(fakes(log.clone()));
        let waits = self.plan(path, &log, &runtime).map_err(mismatch)?;
        let id = runtime
            .start((self.start)(path))
            .await
            .map_err(|rejected| mismatch(PathProblem::Refused(rejected.error.to_string())))?;
        for (landings, wait) in waits {
            if !reach(&runtime, &id, landings).await {
                break;
            }
            let refused = match wait {
                Wait::Send(event) => runtime
                    .client()
                    .send(&id, event)
                    .await
                    .err()
                    .map(|rejected| rejected.error.to_string()),
                Wait::Cancel => runtime.cancel(&id).await.err().map(|e| e.to_string()),
            };
            if let Some(refused) = refused {
                return Err(mismatch(PathProblem::Refused(refused)));
            }
        }
        let outcome = runtime
            .outcome(&id)
            .await
            .map_err(|error| mismatch(PathProblem::Refused(error.to_string())))?;
        let history = runtime
            .history(&id)
            .await
            .map_err(|error| mismatch(PathProblem::Refused(error.to_string())))?;
        check(path, &outcome, &history, &log).map_err(mismatch)
    }

    /// Tells the log which visits fail and where cancels are posted; returns what waits for
    /// the instance to rest: each event and cancel, with the landings made before it.
    fn plan<A>(
        &self,
        path: &Path,
        log: &CallLog,
        runtime: &Runtime<W, A>,
    ) -> Result<Vec<Waiting<W::Event>>, PathProblem>
    where
        W: Runnable<A>,
        A: Send + Sync + 'static,
    {
        let def = W::DEFINITION;
        let mut taken: HashMap<usize, usize> = HashMap::new();
        let mut waits = Vec::new();
        for (index, &m) in path.moves().iter().enumerate() {
            match m {
                Move::Lands { transition, .. } => {
                    if let Some(event) = event_of(def, transition) {
                        waits.push((index, Wait::Send(self.event(path, event)?)));
                    }
                }
                Move::Fails { transition, .. } => {
                    let visit = taken.get(&transition).copied().unwrap_or(0);
                    log.fail_visit(activities_of(def, transition), visit);
                    if let Some(event) = event_of(def, transition) {
                        waits.push((index, Wait::Send(self.event(path, event)?)));
                    }
                }
                Move::Cancelled { from } => {
                    let before = index.checked_sub(1).map(|i| path.moves()[i]);
                    match before.and_then(Move::transition) {
                        Some(transition) if !rests_in(def, from) => {
                            // Posted while the landing's activity runs: read as it lands.
                            let visit = taken.get(&transition).map_or(0, |n| n - 1);
                            let store = Arc::clone(runtime.store());
                            let host = runtime.host().clone();
                            log.on_visit(activities_of(def, transition), visit, move |id| {
                                let now = crate::runtime::now_ms();
                                let post = store.post(def.name(), id, Message::Cancel, now);
                                // The in-memory store posts without waiting.
                                if let Some(Ok(_)) = post.now_or_never() {
                                    host.posted_now(def.name(), id);
                                }
                            });
                        }
                        _ => waits.push((index, Wait::Cancel)),
                    }
                }
            }
            if let Some(transition) = m.transition() {
                *taken.entry(transition).or_default() += 1;
            }
        }
        Ok(waits)
    }
}

impl<W: Workflow> PathRunner<W> {
    /// The event of type `event` (an index into the flow's events) the path sends.
    fn event(&self, path: &Path, event: usize) -> Result<W::Event, PathProblem> {
        let name = W::DEFINITION.events()[event].name();
        let events = self
            .events
            .as_ref()
            .ok_or(PathProblem::NoEvent { event: name })?;
        Ok(events(path, name))
    }
}

/// What waits for the instance to rest in a state, with the landings made before it.
type Waiting<E> = (usize, Wait<E>);

/// What waits for the instance to rest in a state.
enum Wait<E> {
    Send(E),
    Cancel,
}

/// Waits until instance `id`'s history shows `landings` landings; `false` if it ended first.
///
/// The history is read again after each yield (activities that take no time land without a
/// clock tick), then every millisecond of virtual time: a state's timer fires no earlier than
/// a millisecond after the instance lands there, so the runner sees every landing before the
/// state's timer can move the instance on.
async fn reach<W, A>(runtime: &Runtime<W, A>, id: &InstanceId, landings: usize) -> bool
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    const YIELDS: usize = 64;
    // A day of virtual time, a millisecond at a time: a path waits this long at most.
    const TICKS: usize = 86_400_000;
    for round in 0..YIELDS + TICKS {
        let Ok(history) = runtime.history(id).await else {
            return false;
        };
        if landed(&history).len() >= landings {
            return true;
        }
        if history
            .iter()
            .any(|r| matches!(r.kind, RecordKind::Ended { .. }))
        {
            return false;
        }
        if round < YIELDS {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(core::time::Duration::from_millis(1)).await;
        }
    }
    false
}

/// The landings a history shows, as [`Path::landings`] writes them.
fn landed(history: &[Record]) -> Vec<String> {
    history
        .iter()
        .filter_map(|record| match &record.kind {
            RecordKind::Transition { transition, .. } => {
                Some(format!("{transition} -> {}", record.state_name))
            }
            RecordKind::Decided { transition, branch } => Some(format!("{transition} -> {branch}")),
            RecordKind::Caught { transition, .. } => {
                Some(format!("{transition} fails -> {}", record.state_name))
            }
            _ => None,
        })
        .collect()
}

/// Checks a path's run: its landings, its end, its undos.
fn check<S: FlowState>(
    path: &Path,
    outcome: &Outcome<S>,
    history: &[Record],
    log: &CallLog,
) -> Result<(), PathProblem> {
    let expected = path.landings();
    let got = landed(history);
    if expected != got {
        return Err(PathProblem::Diverged { expected, got });
    }
    let end = path.end();
    let ended = describe(path, outcome);
    if end.to_string() != ended {
        return Err(PathProblem::Ended {
            expected: end.to_string(),
            got: ended,
        });
    }
    let def = path.definition();
    let mut keys = Vec::new();
    let mut undos = Vec::new();
    for call in log.calls() {
        if def.undos().iter().any(|u| u.name() == call.step) && !keys.contains(&call.key) {
            keys.push(call.key.clone());
            undos.push(call.step);
        }
    }
    let expected = path.expected_undos();
    let names: Vec<&str> = undos.iter().map(String::as_str).collect();
    if !undos_match(&expected, &names) {
        return Err(PathProblem::Undos {
            expected: expected
                .iter()
                .map(|undo| match undo {
                    ExpectedUndo::One(name) => (*name).to_string(),
                    ExpectedUndo::Parts(names) => format!("any of {}", names.join("|")),
                })
                .collect(),
            got: undos,
        });
    }
    Ok(())
}

/// How an instance ended, written as [`End`] writes a path's end (a failed part counts as
/// its transition failing).
fn describe<S: FlowState>(path: &Path, outcome: &Outcome<S>) -> String {
    let def = path.definition();
    match outcome {
        Outcome::Completed(state) => End::Completed {
            state: state.name(),
        }
        .to_string(),
        Outcome::Failed { state, failure, .. } => {
            let step = def
                .transitions()
                .iter()
                .enumerate()
                .find(|(index, t)| {
                    t.name() == failure.step()
                        || activities_of(def, *index).contains(&failure.step())
                })
                .map_or("?", |(_, t)| t.name());
            End::Failed {
                state: state.name(),
                step,
            }
            .to_string()
        }
        Outcome::Cancelled { state, .. } => End::Cancelled {
            state: state.name(),
        }
        .to_string(),
    }
}

/// Whether the undos called, in order, are the ones expected: each [`ExpectedUndo::One`]
/// once, each [`ExpectedUndo::Parts`] any number of times in a row.
fn undos_match(expected: &[ExpectedUndo], got: &[&str]) -> bool {
    match expected.split_first() {
        None => got.is_empty(),
        Some((ExpectedUndo::One(name), rest)) => {
            got.first() == Some(name) && undos_match(rest, &got[1..])
        }
        Some((ExpectedUndo::Parts(names), rest)) => (0..=got.len())
            .any(|k| got[..k].iter().all(|g| names.contains(g)) && undos_match(rest, &got[k..])),
    }
}
