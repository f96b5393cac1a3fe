//! The crash checker: a flow run to its end once, then once more for every write that run
//! made, each time stopped right after that write (the store then refuses everything, as a
//! process that died there would never write or read again) and resumed by a fresh host on
//! the same store, with the dead host's claims handed back (as once its lease ran out, but
//! at once, so that the resumed run keeps the uninterrupted run's timing).
//!
//! Every resumed run must end as the run without a crash did, with the same effects: each
//! step and undo called under as many idempotency keys as in the run without a crash (a step
//! cut short runs again under its key, which is how its effect stays once; a second key would
//! be a second effect), and no undo the uninterrupted run did not make. (The keys themselves
//! may differ: they count the records before them, and a crash may change those, when it cuts
//! short an attempt that would have failed.)
//!
//! In virtual time (`#[tokio::test(start_paused = true)]`) a kill point costs microseconds:
//! timers and retry waits pass at once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::CallLog;
use crate::InstanceId;
use crate::runtime::{Durable, Host, HostBuilder, Outcome, Runnable};
use crate::store::{
    Claim, Claimed, Commit, CreatedOrPosted, Due, FlowVersion, InboxItem, Lease, MemoryStore,
    Message, MessageId, Record, Snapshot, Store, StoreError, Summary, Wake, Watch,
};

/// What [`crash_check`] did: how many writes the run without a crash made, and at how many
/// of them a run was stopped and resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CrashChecked {
    /// The writes of the run without a crash (its first, which creates the instance, and
    /// every one after).
    pub writes: usize,
    /// The runs stopped and resumed: one after each write but the last.
    pub points: usize,
}

/// How a run stopped at a write and resumed differs from the run without a crash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrashMismatch {
    /// The run without a crash did not end.
    #[error("the run without a crash did not end: {0}")]
    Unfinished(String),
    /// Stopped after write `point`, the resumed run did not end.
    #[error("stopped after write {point} of {writes}, the resumed run did not end: {why}")]
    Stuck {
        /// The write it was stopped after.
        point: usize,
        /// The writes of the run without a crash.
        writes: usize,
        /// What happened instead.
        why: String,
    },
    /// Stopped after write `point`, the resumed run ended otherwise.
    #[error(
        "stopped after write {point} of {writes}, the resumed run ended {found}, not {expected}"
    )]
    Outcome {
        /// The write it was stopped after.
        point: usize,
        /// The writes of the run without a crash.
        writes: usize,
        /// How the run without a crash ended.
        expected: String,
        /// How the resumed run ended.
        found: String,
    },
    /// Stopped after write `point`, the effects differ: steps or undos called under more
    /// (or fewer) idempotency keys than in the run without a crash.
    #[error("stopped after write {point} of {writes}, the effects differ: {}", differing.join("; "))]
    Effects {
        /// The write it was stopped after.
        point: usize,
        /// The writes of the run without a crash.
        writes: usize,
        /// Each step or undo whose effects differ: ``"`pay` under 2 keys, not 1 key"``.
        differing: Vec<String>,
    },
}

/// How long a run may take, in virtual time, before it counts as stuck.
const PATIENCE: Duration = Duration::from_hours(365 * 24);

/// Checks flow `W`, started in `start`, against a crash after each of its writes: see the
/// module's docs. `activities` builds the activities from the [`CallLog`] they record their
/// calls in: once for the run without a crash, and once for each kill point, shared by the
/// run stopped there and the run that resumes it, as the outside world outlives a crash
/// (each has its own log, which its fault injections count against; fakes that hand out
/// ids should hand the same one to a request made again under the same key, as an
/// idempotent API does).
///
/// Run it under tokio's paused clock. The flow must run to its end on its own (automatic
/// steps, timers, retries, failures and compensation; no events). Inject faults by attempt
/// ([`CallLog::fail_attempts`], [`CallLog::fail_always`]): a fault counted in calls
/// ([`CallLog::fail`]) can be used up by the run a crash stopped, and the resumed run would
/// then rightly end otherwise.
///
/// # Errors
///
/// A [`CrashMismatch`] naming the first kill point where the resumed run differs.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::testing::{CallLog, Fault, crash_check};
///
/// workflow! {
///     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///     pub Door {
///         initial Closed {}
///         state   Open {}
///         final   Shut {}
///         open: Closed -> Open undo close, retry(3, 1s..10s);
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
/// let checked = crash_check::<door::Flow, _>(door::Closed {}, |log| {
///     log.fail_attempts("open", 1); // the first attempt fails, in every run
///     Fakes(log)
/// })
/// .await
/// .unwrap();
/// assert_eq!(checked.points, checked.writes - 1);
/// # }
/// ```
pub async fn crash_check<W, A>(
    start: impl Into<W::State>,
    activities: impl Fn(CallLog) -> A,
) -> Result<CrashChecked, CrashMismatch>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
    W::State: Clone + PartialEq + core::fmt::Debug,
    W::Event: Clone,
{
    crash_check_with::<W, A>(start, activities, &[]).await
}

/// [`crash_check`] for a flow that needs events: each of `events` is sent at its time, in
/// virtual time from the start, in every run (the resumed run sends those the stopped run
/// had not posted, at their times). An event the instance's state does not take is refused
/// in every run alike.
///
/// # Errors
///
/// As [`crash_check`].
///
/// ```
/// use std::time::Duration;
/// use workflow_core::prelude::*;
/// use workflow_core::testing::{CallLog, Fault, crash_check_with};
///
/// #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// pub struct Approve;
///
/// workflow! {
///     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
///     pub Leave {
///         initial Asked    {}
///         final   Approved {}
///         final   Expired  {}
///         approve: Asked -> Approved, on Approve;
///         expire:  Asked -> Expired, after(1h);
///     }
/// }
///
/// struct Fakes(CallLog);
///
/// impl leave::Activities for Fakes {
///     type Error = Fault;
///     async fn approve(&self, _: &leave::Asked, _: &Approve, ctx: &StepCtx) -> Result<leave::Approved, Fault> {
///         self.0.call(ctx)?;
///         Ok(leave::Approved {})
///     }
///     async fn expire(&self, _: &leave::Asked, ctx: &StepCtx) -> Result<leave::Expired, Fault> {
///         self.0.call(ctx)?;
///         Ok(leave::Expired {})
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // Approved after 10 minutes, before the hour is up: at every kill point too.
/// let events = [(Duration::from_mins(10), leave::Event::from(Approve))];
/// let checked = crash_check_with::<leave::Flow, _>(leave::Asked {}, Fakes, &events)
///     .await
///     .unwrap();
/// // Created; the event posted; taken (its record); its transition landed.
/// assert_eq!(checked.writes, 4);
/// # }
/// ```
pub async fn crash_check_with<W, A>(
    start: impl Into<W::State>,
    activities: impl Fn(CallLog) -> A,
    events: &[(Duration, W::Event)],
) -> Result<CrashChecked, CrashMismatch>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
    W::State: Clone + PartialEq + core::fmt::Debug,
    W::Event: Clone,
{
    let flows = |host: HostBuilder, acts: &Arc<A>| host.flow_shared::<W, A>(Arc::clone(acts));
    crash_check_host::<W, A>(start, activities, flows, events).await
}

/// [`crash_check_with`] for a flow that runs with others (a parent and its child flows, say):
/// `flows` adds to the host every flow the run needs, with the activities (an `Arc<A>`, which
/// implements each flow's `Activities` that `A` does). The outcome compared is the instance
/// of `W`'s; the effects, every flow's.
///
/// # Errors
///
/// As [`crash_check`].
pub async fn crash_check_host<W, A>(
    start: impl Into<W::State>,
    activities: impl Fn(CallLog) -> A,
    flows: impl Fn(HostBuilder, &Arc<A>) -> HostBuilder,
    events: &[(Duration, W::Event)],
) -> Result<CrashChecked, CrashMismatch>
where
    W: Durable,
    A: Send + Sync + 'static,
    W::State: Clone + PartialEq + core::fmt::Debug,
    W::Event: Clone,
{
    let start: W::State = start.into();
    let run = Run {
        id: InstanceId::new("crash-check"),
        events,
    };
    let store = Arc::new(Stopping::new(usize::MAX));
    let log = CallLog::new();
    let expected = {
        let acts = Arc::new(activities(log.clone()));
        let host = flows(Host::builder().store(store.clone()), &acts).build();
        let began = Instant::now();
        let sent = Sent::default();
        let outcome = match run.start::<W>(&host, start.clone()).await {
            Ok(()) => {
                run.send::<W>(&host, began, &sent, Some(&store)).await;
                run.wait::<W>(&host).await
            }
            Err(why) => Err(why),
        };
        host.shutdown().await;
        outcome.map_err(CrashMismatch::Unfinished)?
    };
    let effects = effects_of(&log);
    let writes = store.writes.load(Ordering::SeqCst);
    for point in 1..writes {
        let store = Arc::new(Stopping::new(point));
        let log = CallLog::new();
        let acts = Arc::new(activities(log.clone()));
        let began = Instant::now();
        let sent = Sent::default();
        {
            let first = flows(Host::builder().store(store.clone()), &acts).build();
            if run.start::<W>(&first, start.clone()).await.is_ok() {
                let sending = run.send::<W>(&first, began, &sent, Some(&store));
                let stopped = async {
                    sending.await;
                    store.stopped.notified().await;
                };
                let stopped = tokio::select! {
                    () = stopped => true,
                    () = store.stopped.notified() => true,
                    () = tokio::time::sleep(PATIENCE) => store.is_stopped(),
                };
                if !stopped {
                    return Err(CrashMismatch::Stuck {
                        point,
                        writes,
                        why: "the first run never reached the write".into(),
                    });
                }
            }
            first.shutdown().await;
        }
        // The dead process's claims, handed back at once, as once its lease ran out.
        store.hand_back().await;
        let resumed = flows(Host::builder().store(store.inner.clone()), &acts).build();
        let outcome = match resumed.resume().await {
            Ok(_) => {
                run.send::<W>(&resumed, began, &sent, None).await;
                run.wait::<W>(&resumed).await
            }
            Err(error) => Err(error.to_string()),
        };
        resumed.shutdown().await;
        let found = outcome.map_err(|why| CrashMismatch::Stuck { point, writes, why })?;
        if found != expected {
            return Err(CrashMismatch::Outcome {
                point,
                writes,
                expected: format!("{expected:?}"),
                found: format!("{found:?}"),
            });
        }
        let differing = differing(&effects, &effects_of(&log));
        if !differing.is_empty() {
            return Err(CrashMismatch::Effects {
                point,
                writes,
                differing,
            });
        }
    }
    Ok(CrashChecked {
        writes,
        points: writes.saturating_sub(1),
    })
}

/// How many of the events were sent (posted, or refused by the instance): the next to send.
#[derive(Default)]
struct Sent(AtomicUsize);

/// The instance every run starts, and the events it is sent.
struct Run<'a, E> {
    id: InstanceId,
    events: &'a [(Duration, E)],
}

impl<E: Clone> Run<'_, E> {
    async fn start<W: Durable<Event = E>>(
        &self,
        host: &Host,
        start: W::State,
    ) -> Result<(), String> {
        let client = host.client::<W>();
        match client.start_with_id(self.id.as_str(), start).await {
            Ok(_) => Ok(()),
            Err(rejected) => Err(rejected.error.to_string()),
        }
    }

    /// Sends the events from the first not sent yet, each at its time after `began`, until
    /// one cannot be posted because `store` (the stopping one, if the run has one) stopped.
    async fn send<W: Durable<Event = E>>(
        &self,
        host: &Host,
        began: Instant,
        sent: &Sent,
        store: Option<&Stopping>,
    ) {
        let client = host.client::<W>();
        for (at, event) in self.events.iter().skip(sent.0.load(Ordering::SeqCst)) {
            tokio::time::sleep_until(began + *at).await;
            let refused = client.send(&self.id, event.clone()).await.is_err();
            if refused && store.is_some_and(Stopping::is_stopped) {
                return;
            }
            sent.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Waits, in virtual time, for the instance's end.
    async fn wait<W: Durable<Event = E>>(&self, host: &Host) -> Result<Outcome<W::State>, String> {
        let client = host.client::<W>();
        match tokio::time::timeout(PATIENCE, client.outcome(&self.id)).await {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("it did not end within a year of virtual time".into()),
        }
    }
}

/// The effects in `log`: for each step and undo, the distinct keys it was called under.
fn effects_of(log: &CallLog) -> BTreeMap<String, BTreeSet<String>> {
    let mut effects: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for call in log.calls() {
        effects
            .entry(call.step)
            .or_default()
            .insert(call.key.unwrap_or_default());
    }
    effects
}

/// The steps and undos `found` made under a number of keys other than `expected`'s.
fn differing(
    expected: &BTreeMap<String, BTreeSet<String>>,
    found: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<String> {
    let steps: BTreeSet<&String> = expected.keys().chain(found.keys()).collect();
    steps
        .into_iter()
        .filter_map(|step| {
            let count = |effects: &BTreeMap<String, BTreeSet<String>>| {
                effects.get(step).map_or(0, BTreeSet::len)
            };
            let (expected, found) = (count(expected), count(found));
            let keys = |n: usize| {
                if n == 1 {
                    "1 key".into()
                } else {
                    format!("{n} keys")
                }
            };
            (expected != found)
                .then(|| format!("`{step}` under {}, not {}", keys(found), keys(expected)))
        })
        .collect()
}

/// A store in memory that makes `allowed` writes, then refuses every request, as if the
/// process using it died there.
struct Stopping {
    inner: Arc<MemoryStore>,
    allowed: usize,
    writes: AtomicUsize,
    dead: AtomicBool,
    stopped: tokio::sync::Notify,
    /// The claims it handed out, for [`hand_back`](Self::hand_back).
    claims: std::sync::Mutex<Vec<Claim>>,
}

impl Stopping {
    fn new(allowed: usize) -> Self {
        Self {
            inner: Arc::new(MemoryStore::new()),
            allowed,
            writes: AtomicUsize::new(0),
            dead: AtomicBool::new(false),
            stopped: tokio::sync::Notify::new(),
            claims: std::sync::Mutex::default(),
        }
    }

    /// Hands back, in the store behind, every claim it handed out: what the end of the dead
    /// process's lease would do, without waiting for it.
    async fn hand_back(&self) {
        let claims = std::mem::take(
            &mut *self
                .claims
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for claim in claims {
            // A claim already lost or ended is no error.
            let _ = self.inner.release(&claim).await;
        }
    }

    fn keep(&self, claim: &Claim) {
        self.claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(claim.clone());
    }

    fn is_stopped(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// Whether anything may reach the store.
    fn alive(&self) -> Result<(), StoreError> {
        if self.is_stopped() {
            return Err(StoreError::Backend(Box::new(std::io::Error::other(
                "the crash checker stopped the process here",
            ))));
        }
        Ok(())
    }

    /// Counts a write, refusing it (and everything after) once the allowed ones are made.
    fn write(&self) -> Result<(), StoreError> {
        self.alive()?;
        if self.writes.load(Ordering::SeqCst) >= self.allowed {
            self.dead.store(true, Ordering::SeqCst);
            self.stopped.notify_one();
            return self.alive();
        }
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl Store for Stopping {
    async fn create(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError> {
        self.write()?;
        let claim = self.inner.create(snapshot, record, wake, lease).await?;
        if let Some(claim) = &claim {
            self.keep(claim);
        }
        Ok(claim)
    }

    async fn create_or_post(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
        message: Message,
        at_ms: u64,
    ) -> Result<CreatedOrPosted, StoreError> {
        self.write()?;
        let inner = &self.inner;
        inner
            .create_or_post(snapshot, record, wake, lease, message, at_ms)
            .await
    }

    async fn claim(
        &self,
        flow: &str,
        id: &InstanceId,
        lease: &Lease,
    ) -> Result<Option<Claimed>, StoreError> {
        self.alive()?;
        let claimed = self.inner.claim(flow, id, lease).await?;
        if let Some(claimed) = &claimed {
            self.keep(&claimed.claim);
        }
        Ok(claimed)
    }

    async fn claim_due(
        &self,
        flows: &[FlowVersion],
        lease: &Lease,
        limit: usize,
    ) -> Result<Due, StoreError> {
        self.alive()?;
        let due = self.inner.claim_due(flows, lease, limit).await?;
        for claimed in &due.claimed {
            self.keep(&claimed.claim);
        }
        Ok(due)
    }

    async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError> {
        self.write()?;
        self.inner.commit(claim, commit).await
    }

    async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError> {
        self.alive()?;
        self.inner.renew(claims, lease).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        self.alive()?;
        self.inner.release(claim).await
    }

    async fn post(
        &self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError> {
        self.write()?;
        self.inner.post(flow, id, message, at_ms).await
    }

    async fn answer(
        &self,
        flow: &str,
        id: &InstanceId,
        message: MessageId,
    ) -> Result<Option<crate::store::Answer>, StoreError> {
        self.alive()?;
        self.inner.answer(flow, id, message).await
    }

    async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError> {
        self.alive()?;
        self.inner.inbox(flow, id).await
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        self.alive()?;
        self.inner.load(flow, id).await
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        self.alive()?;
        self.inner.list(flow).await
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        self.alive()?;
        self.inner.unfinished(flow).await
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        self.alive()?;
        self.inner.history(flow, id).await
    }

    fn watch(&self) -> &Watch {
        self.inner.watch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects(calls: &[(&str, &str)]) -> BTreeMap<String, BTreeSet<String>> {
        let mut effects: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (step, key) in calls {
            effects
                .entry((*step).to_string())
                .or_default()
                .insert((*key).to_string());
        }
        effects
    }

    #[test]
    fn a_step_made_again_under_its_key_is_one_effect_and_under_another_key_two() {
        let expected = effects(&[("pay", "o/2/pay"), ("ship", "o/3/ship")]);
        // Made again under its key, and the next step's key shifted: the same effects.
        let again = effects(&[("pay", "o/2/pay"), ("pay", "o/2/pay"), ("ship", "o/4/ship")]);
        assert!(differing(&expected, &again).is_empty());
        // Paid twice, and an undo the run without a crash never made.
        let twice = effects(&[
            ("pay", "o/2/pay"),
            ("pay", "o/3/pay"),
            ("ship", "o/4/ship"),
            ("refund", "o/2/undo/refund"),
        ]);
        assert_eq!(
            differing(&expected, &twice),
            [
                "`pay` under 2 keys, not 1 key",
                "`refund` under 1 key, not 0 keys"
            ]
        );
    }
}
