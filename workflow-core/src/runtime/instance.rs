//! One instance's task: take steps, apply events and timers between them, retry, compensate,
//! end. Every change is written to the store before the instance acts on it.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::FutureExt as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::{Instant, sleep, timeout};
use tracing::{Instrument, field, info, info_span, warn};

use super::mailbox::{End, Mailbox, Message, Reply};
use super::outcome::{self, Finished, RuntimeError};
use super::policy::{human, now_ms, retry_wait};
use super::{Runnable, Shared, accepted_events};
use crate::store::{
    ChainEntry, Ending, Landing, Pending, Record, RecordKind, Snapshot, Status, Timer,
};
use crate::{DispatchError, FlowEvent, FlowState, InstanceId, Report, StepCtx, Workflow};

/// An instance, driven.
pub(crate) struct Driver<W: Workflow, A> {
    shared: Arc<Shared<W, A>>,
    id: InstanceId,
    state: W::State,
    seq: u64,
    status: Status,
    chain: Vec<ChainEntry>,
    timer: Option<Armed>,
    /// Boxed, like `ending` and `next`: rare, and an idle instance should stay small.
    pending: Option<Box<Pending>>,
    ending: Option<Box<Ending>>,
    /// Work that arrived while waiting to retry a step, and interrupted it.
    next: Option<Box<Work<W>>>,
    /// Events that arrived while the instance was moving on by itself and that its state then
    /// did not accept: decided, in order, once it waits.
    deferred: VecDeque<(W::Event, Reply)>,
    /// The deadline the runtime's timer task will wake the instance at.
    waking_at: Option<Instant>,
    /// When the attempt a previous run left unfinished started (milliseconds since the Unix
    /// epoch): its timeout counts from then, across the restart.
    interrupted_at_ms: Option<u64>,
}

/// The current state's `after` timer.
struct Armed {
    transition: usize,
    deadline: Instant,
    due_ms: u64,
}

/// What an instance does next.
enum Work<W: Workflow> {
    Event {
        transition: usize,
        event: W::Event,
        reply: Reply,
    },
    Cancel(Reply),
    Timer(usize),
    Automatic(usize),
}

/// How a step's attempts ended.
enum Attempts<S> {
    Landed {
        next: S,
        attempt: u32,
    },
    Failed(String),
    /// Other work arrived while waiting to retry; the step is abandoned.
    Interrupted,
}

impl<W, A> Driver<W, A>
where
    W: Runnable<A>,
    W::State: Clone + Serialize + DeserializeOwned,
    W::Event: Clone + Serialize + DeserializeOwned,
    A: Send + Sync + 'static,
{
    /// An instance resuming from `snapshot`, whose state is `state`.
    pub(crate) fn resume(shared: Arc<Shared<W, A>>, snapshot: &Snapshot, state: W::State) -> Self {
        let definition = W::DEFINITION;
        let timer = snapshot.timer.as_ref().and_then(|stored| {
            let transition = definition.transition_index(&stored.transition)?;
            let remaining = Duration::from_millis(stored.due_ms.saturating_sub(now_ms()));
            Some(Armed {
                transition,
                deadline: Instant::now() + remaining,
                due_ms: stored.due_ms,
            })
        });
        let interrupted_at_ms = match &snapshot.pending {
            Some(Pending::Step {
                retry_at_ms: Some(due),
                ..
            }) => Some(*due),
            Some(Pending::Step { .. }) => Some(snapshot.at_ms),
            Some(Pending::Compensation { .. }) => None,
            None => definition.automatic(state.index()).map(|_| snapshot.at_ms),
        };
        Self {
            shared,
            id: snapshot.id.clone(),
            state,
            seq: snapshot.seq,
            status: snapshot.status,
            chain: snapshot.chain.clone(),
            timer,
            pending: snapshot.pending.clone().map(Box::new),
            ending: snapshot.ending.clone().map(Box::new),
            next: None,
            deferred: VecDeque::new(),
            waking_at: None,
            interrupted_at_ms,
        }
    }

    /// The instance's state, giving the driver up (an instance that could not be recorded).
    pub(crate) fn into_state(self) -> W::State {
        self.state
    }

    pub(crate) fn id(&self) -> &InstanceId {
        &self.id
    }

    /// Drives the instance to its end, then closes its mailbox.
    ///
    /// Not an `async fn`: that would store the driver twice in the future every waiting
    /// instance holds, once as an argument and once as a local (rust-lang/rust#62958).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn would store the driver twice"
    )]
    pub(crate) fn run(mut self, mailbox: Arc<Mailbox<W>>) -> impl Future<Output = ()> {
        async move {
            let span = info_span!("instance", flow = W::DEFINITION.name(), instance = %self.id);
            let end = async {
                match self.drive(&mailbox).await {
                    Ok(finished) => {
                        info!(status = %finished.status(), state = finished.state().name(), "instance ended");
                        End::Finished(finished)
                    }
                    Err(error) => {
                        tracing::error!(%error, "instance stopped; it resumes from its last record");
                        End::Stalled(error.to_string())
                    }
                }
            }
            .instrument(span)
            .await;
            let status = match &end {
                End::Finished(finished) => finished.status(),
                End::Stalled(_) => Status::Running,
            };
            let ended = || RuntimeError::Ended {
                id: self.id.clone(),
                status,
                state: self.state.name(),
            };
            for (_, reply) in self.deferred.drain(..) {
                let _ = reply.send(Err(ended()));
            }
            for message in mailbox.close(end) {
                match message {
                    Message::Event(_, reply) | Message::Cancel(reply) => {
                        let _ = reply.send(Err(ended()));
                    }
                }
            }
            self.shared.forget(&self.id);
        }
    }

    async fn drive(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
    ) -> Result<Finished<W::State>, RuntimeError> {
        // Work is boxed: an instance waiting for an event holds only its fields and its wait,
        // not the space of a step in progress.
        if let Some(finished) = Box::pin(self.resume_pending(mailbox)).await? {
            return Ok(finished);
        }
        loop {
            let work = match self.next.take() {
                Some(work) => *work,
                None => loop {
                    if let Some(work) = self.wait_for_work(mailbox, None).await {
                        break work;
                    }
                },
            };
            if let Some(finished) = Box::pin(self.perform_while_ready(mailbox, work)).await? {
                return Ok(finished);
            }
        }
    }

    /// Performs `work`, then whatever work is ready at once after it (automatic transitions,
    /// requests already posted), until the instance ends or has to wait.
    async fn perform_while_ready(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        mut work: Work<W>,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        loop {
            if let Some(finished) = self.perform(mailbox, work).await? {
                return Ok(Some(finished));
            }
            work = match self.next.take() {
                Some(next) => *next,
                None => match self.ready_work(mailbox, None) {
                    Poll::Ready(Some(next)) => next,
                    _ => return Ok(None),
                },
            };
        }
    }

    /// Carries on with work a previous run recorded and did not finish.
    async fn resume_pending(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        let definition = W::DEFINITION;
        match self.pending.clone().map(|pending| *pending) {
            None => Ok(None),
            Some(Pending::Step {
                transition,
                event,
                key,
                failed_attempts,
                retry_at_ms,
            }) => {
                let t = definition
                    .transition_index(&transition)
                    .ok_or_else(|| self.corrupt(format!("unknown transition `{transition}`")))?;
                let event = match event {
                    Some(json) => Some(
                        serde_json::from_str::<W::Event>(&json)
                            .map_err(|e| self.corrupt(format!("event cannot be decoded: {e}")))?,
                    ),
                    None => None,
                };
                if let Some(at) = retry_at_ms {
                    let resume_at =
                        Instant::now() + Duration::from_millis(at.saturating_sub(now_ms()));
                    if let Some(work) = self.wait_for_work(mailbox, Some(resume_at)).await {
                        self.next = Some(Box::new(work));
                        return Ok(None);
                    }
                }
                self.take_step(mailbox, t, event, &key.into(), failed_attempts)
                    .await
            }
            Some(Pending::Compensation {
                cause,
                report,
                landing,
            }) => {
                let report = outcome::report_from_entries(definition, &report);
                let report = self.unwind(report).await?;
                self.after_unwinding(cause, landing, report).await
            }
        }
    }

    async fn perform(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        work: Work<W>,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        let definition = W::DEFINITION;
        if !matches!(work, Work::Automatic(_)) {
            // New work: nothing of a previous run's attempt is left to finish.
            self.interrupted_at_ms = None;
        }
        match work {
            Work::Cancel(reply) => self.cancel(reply).await,
            Work::Event {
                transition,
                event,
                reply,
            } => {
                let name = definition.transitions()[transition].name();
                let key = self.key(name);
                let json = match outcome::encode(&self.id, "the event", &event) {
                    Ok(json) => json,
                    Err(error) => {
                        let _ = reply.send(Err(error));
                        return Ok(None);
                    }
                };
                info!(event = event.name(), step = name, "event accepted");
                self.set_pending(Pending::Step {
                    transition: name.to_string(),
                    event: Some(json.clone()),
                    key: key.to_string(),
                    failed_attempts: 0,
                    retry_at_ms: None,
                });
                if let Err(error) = self
                    .save(RecordKind::EventAccepted {
                        transition: name.to_string(),
                        event: json,
                    })
                    .await
                {
                    let _ = reply.send(Err(RuntimeError::Stalled {
                        id: self.id.clone(),
                        reason: error.to_string(),
                    }));
                    return Err(error);
                }
                let _ = reply.send(Ok(()));
                self.take_step(mailbox, transition, Some(event), &key, 0)
                    .await
            }
            Work::Timer(transition) => {
                let name = definition.transitions()[transition].name();
                let key = self.key(name);
                info!(step = name, "timer fired");
                self.timer = None;
                self.set_pending(Pending::Step {
                    transition: name.to_string(),
                    event: None,
                    key: key.to_string(),
                    failed_attempts: 0,
                    retry_at_ms: None,
                });
                self.save(RecordKind::TimerFired {
                    transition: name.to_string(),
                })
                .await?;
                self.take_step(mailbox, transition, None, &key, 0).await
            }
            Work::Automatic(transition) => {
                let key = self.key(definition.transitions()[transition].name());
                self.take_step(mailbox, transition, None, &key, 0).await
            }
        }
    }

    /// The idempotency key of a step chosen now: the same for each of its attempts, and after
    /// a restart (it is recorded with the step, or recomputed from the same record count).
    fn key(&self, step: &str) -> Arc<str> {
        format!("{}/{}/{step}", self.id, self.seq).into()
    }

    async fn take_step(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        transition: usize,
        event: Option<W::Event>,
        key: &Arc<str>,
        failed_attempts: u32,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        match self
            .attempt(mailbox, transition, event.as_ref(), key, failed_attempts)
            .await?
        {
            Attempts::Landed { next, attempt } => self.land(transition, next, attempt).await,
            Attempts::Failed(error) => {
                self.fail(W::DEFINITION.transitions()[transition].name(), error)
                    .await
            }
            Attempts::Interrupted => Ok(None),
        }
    }

    /// Attempts transition `t` until one attempt succeeds, the policy's attempts run out, or
    /// other work arrives while waiting to retry.
    async fn attempt(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        t: usize,
        event: Option<&W::Event>,
        key: &Arc<str>,
        mut failed: u32,
    ) -> Result<Attempts<W::State>, RuntimeError> {
        let definition = W::DEFINITION;
        let step = &definition.transitions()[t];
        let attempts = step.retry().map_or(1, |p| p.attempts().max(1));
        loop {
            let attempt = failed + 1;
            let ctx = StepCtx::new(self.id.clone(), step.name(), attempt, Arc::clone(key));
            let span = info_span!(
                "step",
                flow = definition.name(),
                instance = %self.id,
                state = self.state.name(),
                step = step.name(),
                attempt,
                outcome = field::Empty,
            );
            let call = W::run_transition(&self.shared.activities, t, &self.state, event, &ctx);
            let limit = step
                .timeout()
                .map(|timeout| match self.interrupted_at_ms.take() {
                    Some(started) => {
                        let spent = Duration::from_millis(now_ms().saturating_sub(started));
                        (timeout.saturating_sub(spent), timeout)
                    }
                    None => (timeout, timeout),
                });
            match guarded(call, limit).instrument(span.clone()).await {
                Ok(next) => {
                    span.record("outcome", "ok");
                    return Ok(Attempts::Landed { next, attempt });
                }
                Err(error) => {
                    span.record("outcome", "error");
                    span.in_scope(|| warn!(%error, "attempt failed"));
                    let Some(policy) = step.retry().filter(|_| attempt < attempts) else {
                        return Ok(Attempts::Failed(error));
                    };
                    failed = attempt;
                    let wait = retry_wait(policy, attempt, key);
                    let event_json = match event {
                        Some(event) => Some(outcome::encode(&self.id, "the event", event)?),
                        None => None,
                    };
                    self.set_pending(Pending::Step {
                        transition: step.name().to_string(),
                        event: event_json,
                        key: key.to_string(),
                        failed_attempts: failed,
                        retry_at_ms: Some(
                            now_ms().saturating_add(
                                u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                            ),
                        ),
                    });
                    self.save(RecordKind::AttemptFailed {
                        transition: step.name().to_string(),
                        attempt,
                        error,
                    })
                    .await?;
                    if let Some(work) = self
                        .wait_for_work(mailbox, Some(Instant::now() + wait))
                        .await
                    {
                        self.next = Some(Box::new(work));
                        return Ok(Attempts::Interrupted);
                    }
                }
            }
        }
    }

    /// Lands in `next`, the state transition `t` produced.
    async fn land(
        &mut self,
        t: usize,
        next: W::State,
        attempt: u32,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        let definition = W::DEFINITION;
        let step = &definition.transitions()[t];
        info!(
            step = step.name(),
            from = self.state.name(),
            to = next.name(),
            attempt,
            "transition"
        );
        if step.compensate() && !self.chain.is_empty() {
            let landing = Landing {
                transition: step.name().to_string(),
                attempt,
                state: outcome::encode(&self.id, "the state", &next)?,
            };
            self.set_pending(Pending::Compensation {
                cause: None,
                report: Vec::new(),
                landing: Some(landing.clone()),
            });
            self.save(RecordKind::CompensationStarted { cause: None })
                .await?;
            let report = self.unwind(Report::new()).await?;
            return self.after_unwinding(None, Some(landing), report).await;
        }
        if let Some(undo) = definition.undo_for(t, next.index()) {
            let state = outcome::encode(&self.id, "the state", &next)?.into();
            self.chain.push(ChainEntry {
                undo: definition.undos()[undo].name().into(),
                seq: self.seq + 1,
                state,
            });
        }
        self.settle(next, step.name(), attempt).await
    }

    /// Makes `next` the current state and records it.
    async fn settle(
        &mut self,
        next: W::State,
        transition: &str,
        attempt: u32,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        self.state = next;
        self.arm_timer();
        self.pending = None;
        if self.state.is_final() {
            self.status = Status::Completed;
            // A completed instance is never compensated: its undos need not be kept.
            self.chain.clear();
            self.ending = Some(Box::new(Ending {
                failure: None,
                report: Vec::new(),
            }));
        }
        self.save(RecordKind::Transition {
            transition: transition.to_string(),
            attempt,
        })
        .await?;
        Ok(self
            .state
            .is_final()
            .then(|| Finished::Completed(self.state.clone())))
    }

    fn arm_timer(&mut self) {
        let definition = W::DEFINITION;
        self.timer = definition
            .timer(self.state.index())
            .map(|(transition, wait)| Armed {
                transition,
                deadline: Instant::now() + wait,
                due_ms: now_ms()
                    .saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)),
            });
    }

    /// A step failed for good: compensate, then end `Failed`.
    async fn fail(
        &mut self,
        step: &str,
        error: String,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        warn!(step, %error, "step failed; compensating");
        let cause = Some((step.to_string(), error));
        self.set_pending(Pending::Compensation {
            cause: cause.clone(),
            report: Vec::new(),
            landing: None,
        });
        self.save(RecordKind::CompensationStarted {
            cause: cause.clone(),
        })
        .await?;
        let report = self.unwind(Report::new()).await?;
        self.after_unwinding(cause, None, report).await
    }

    /// A cancel: record it, answer, compensate, end `Cancelled`.
    async fn cancel(&mut self, reply: Reply) -> Result<Option<Finished<W::State>>, RuntimeError> {
        info!("cancel accepted; compensating");
        self.set_pending(Pending::Compensation {
            cause: None,
            report: Vec::new(),
            landing: None,
        });
        if let Err(error) = self
            .save(RecordKind::CompensationStarted { cause: None })
            .await
        {
            let _ = reply.send(Err(RuntimeError::Stalled {
                id: self.id.clone(),
                reason: error.to_string(),
            }));
            return Err(error);
        }
        let _ = reply.send(Ok(()));
        let report = self.unwind(Report::new()).await?;
        self.after_unwinding(None, None, report).await
    }

    /// After the chain was unwound: end failed or cancelled, or land where a compensating
    /// transition goes (unless one of the undos failed); `None` if the instance goes on.
    async fn after_unwinding(
        &mut self,
        cause: Option<(String, String)>,
        landing: Option<Landing>,
        mut report: Report<String>,
    ) -> Result<Option<Finished<W::State>>, RuntimeError> {
        match (cause, landing) {
            (Some((step, error)), _) => self
                .end(Status::Failed, Some((step, error)), report)
                .await
                .map(Some),
            (None, Some(landing)) => {
                if let Some((undo, error)) = report.take_undo_failure() {
                    return self
                        .end(Status::Failed, Some((undo.to_string(), error)), report)
                        .await
                        .map(Some);
                }
                let next = serde_json::from_str::<W::State>(&landing.state)
                    .map_err(|e| self.corrupt(format!("landing state cannot be decoded: {e}")))?;
                self.settle(next, &landing.transition, landing.attempt)
                    .await
            }
            (None, None) => self.end(Status::Cancelled, None, report).await.map(Some),
        }
    }

    /// Undoes the chain, newest first, each undo once: an undo that fails (after its step's
    /// retries) stops the unwinding, and the older ones are recorded as skipped.
    async fn unwind(&mut self, mut report: Report<String>) -> Result<Report<String>, RuntimeError> {
        let definition = W::DEFINITION;
        while let Some(entry) = self.chain.last().cloned() {
            let undo = definition
                .undos()
                .iter()
                .position(|u| u.name() == &*entry.undo)
                .ok_or_else(|| self.corrupt(format!("unknown undo `{}`", entry.undo)))?;
            let name = definition.undos()[undo].name();
            let state = serde_json::from_str::<W::State>(&entry.state).map_err(|e| {
                self.corrupt(format!("state for undo `{name}` cannot be decoded: {e}"))
            })?;
            self.chain.pop();
            match self.run_undo(undo, &state, entry.seq).await {
                Ok(()) => {
                    report.undone(name);
                    if let Some(Pending::Compensation { report: stored, .. }) =
                        self.pending.as_deref_mut()
                    {
                        *stored = outcome::entries_from_report(&report);
                    }
                    self.save(RecordKind::Undone {
                        undo: name.to_string(),
                    })
                    .await?;
                }
                Err(error) => {
                    warn!(undo = name, %error, "undo failed; older undos are skipped");
                    report.undo_failed(name, error);
                    for older in self.chain.drain(..).rev() {
                        report.skipped(outcome::static_name(definition, &older.undo));
                    }
                }
            }
        }
        Ok(report)
    }

    /// One undo, retried under the policy of the transition that recorded it.
    async fn run_undo(&self, undo: usize, state: &W::State, seq: u64) -> Result<(), String> {
        let definition = W::DEFINITION;
        let undo_def = &definition.undos()[undo];
        let step = &definition.transitions()[undo_def.transition()];
        let attempts = step.retry().map_or(1, |p| p.attempts().max(1));
        let key: Arc<str> = format!("{}/{seq}/undo/{}", self.id, undo_def.name()).into();
        let mut attempt = 1;
        loop {
            let ctx = StepCtx::new(self.id.clone(), undo_def.name(), attempt, Arc::clone(&key));
            let span = info_span!(
                "undo",
                flow = definition.name(),
                instance = %self.id,
                state = state.name(),
                step = undo_def.name(),
                attempt,
                outcome = field::Empty,
            );
            let call = W::run_undo(&self.shared.activities, undo, state, &ctx);
            let limit = step.timeout().map(|timeout| (timeout, timeout));
            match guarded(call, limit).instrument(span.clone()).await {
                Ok(()) => {
                    span.record("outcome", "ok");
                    return Ok(());
                }
                Err(error) => {
                    span.record("outcome", "error");
                    span.in_scope(|| warn!(%error, "undo attempt failed"));
                    match step.retry().filter(|_| attempt < attempts) {
                        Some(policy) => sleep(retry_wait(policy, attempt, &key)).await,
                        None => return Err(error),
                    }
                    attempt += 1;
                }
            }
        }
    }

    /// Ends the instance and records how.
    async fn end(
        &mut self,
        status: Status,
        failure: Option<(String, String)>,
        report: Report<String>,
    ) -> Result<Finished<W::State>, RuntimeError> {
        self.status = status;
        self.pending = None;
        self.timer = None;
        self.chain.clear();
        self.ending = Some(Box::new(Ending {
            failure: failure.clone(),
            report: outcome::entries_from_report(&report),
        }));
        self.save(RecordKind::Ended { status }).await?;
        let state = self.state.clone();
        Ok(match failure {
            Some((step, error)) => Finished::Failed {
                step,
                error,
                state,
                report,
            },
            None => Finished::Cancelled { state, report },
        })
    }

    /// Waits for something to do: a request, the timer, the state's automatic transition (when
    /// not waiting to retry), or `resume_at`, which returns `None`.
    async fn wait_for_work(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        resume_at: Option<Instant>,
    ) -> Option<Work<W>> {
        loop {
            if let Poll::Ready(work) = self.ready_work(mailbox, resume_at) {
                return work;
            }
            let wake = match (resume_at, self.timer.as_ref().map(|t| t.deadline)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            // Woken by a request or by the runtime's timer task: either way, look again.
            if let Some(at) = wake
                && self.waking_at != Some(at)
            {
                self.waking_at = Some(at);
                self.shared.timers.wake_at(at, mailbox);
            }
            mailbox.woken().await;
        }
    }

    /// What [`wait_for_work`](Self::wait_for_work) would return now, or `Pending` if it
    /// would have to wait.
    fn ready_work(
        &mut self,
        mailbox: &Arc<Mailbox<W>>,
        resume_at: Option<Instant>,
    ) -> Poll<Option<Work<W>>> {
        let automatic = W::DEFINITION.automatic(self.state.index());
        if let Some(work) = self.take_message(mailbox, resume_at.is_some() || automatic.is_some()) {
            return Poll::Ready(Some(work));
        }
        if let Some(armed) = self.timer.as_ref().filter(|t| Instant::now() >= t.deadline) {
            return Poll::Ready(Some(Work::Timer(armed.transition)));
        }
        match (resume_at, automatic) {
            (None, Some(t)) => Poll::Ready(Some(Work::Automatic(t))),
            (Some(at), _) if Instant::now() >= at => Poll::Ready(None),
            _ => Poll::Pending,
        }
    }

    /// The next request that can be acted on. An event the current state does not accept is
    /// held while the instance moves on by itself (its state has an automatic transition, or
    /// a step is waiting to be retried), and refused, changing nothing, once it waits.
    fn take_message(&mut self, mailbox: &Arc<Mailbox<W>>, moving: bool) -> Option<Work<W>> {
        let definition = W::DEFINITION;
        let state = self.state.index();
        if let Some(at) = self
            .deferred
            .iter()
            .position(|(event, _)| definition.on_event(state, event.index()).is_some())
        {
            let (event, reply) = self.deferred.remove(at)?;
            let transition = definition.on_event(state, event.index())?;
            return Some(Work::Event {
                transition,
                event,
                reply,
            });
        }
        while let Some(message) = mailbox.pop() {
            match message {
                Message::Cancel(reply) => return Some(Work::Cancel(reply)),
                Message::Event(event, reply) => {
                    if let Some(transition) = definition.on_event(state, event.index()) {
                        return Some(Work::Event {
                            transition,
                            event,
                            reply,
                        });
                    }
                    self.deferred.push_back((event, reply));
                }
            }
        }
        if !moving {
            for (event, reply) in self.deferred.drain(..) {
                info!(
                    event = event.name(),
                    state = self.state.name(),
                    "event not accepted"
                );
                let _ = reply.send(Err(RuntimeError::NotAccepted {
                    id: self.id.clone(),
                    state: self.state.name(),
                    event: event.name(),
                    accepted: accepted_events(definition, state),
                }));
            }
        }
        None
    }

    /// Writes the instance as it is now, with `kind` as the next record.
    async fn save(&mut self, kind: RecordKind) -> Result<(), RuntimeError> {
        let definition = W::DEFINITION;
        let seq = self.seq + 1;
        let at_ms = now_ms();
        let snapshot = Snapshot {
            flow: definition.name().to_string(),
            fingerprint: definition.fingerprint().as_u64(),
            id: self.id.clone(),
            seq,
            at_ms,
            status: self.status,
            state_name: self.state.name().to_string(),
            state: match self.chain.last() {
                // The undo this very transition recorded holds the state it landed in.
                Some(newest) if newest.seq == seq => newest.state.to_string(),
                _ => outcome::encode(&self.id, "the state", &self.state)?,
            },
            chain: self.chain.clone(),
            timer: self.timer.as_ref().map(|t| Timer {
                transition: definition.transitions()[t.transition].name().to_string(),
                due_ms: t.due_ms,
            }),
            pending: self.pending.as_deref().cloned(),
            ending: self.ending.as_deref().cloned(),
        };
        let record = Record {
            seq,
            at_ms,
            kind,
            state_name: self.state.name().to_string(),
        };
        self.shared.store.save(snapshot, record).await?;
        self.seq = seq;
        Ok(())
    }

    /// Records work chosen and not finished, to be saved with the next record.
    fn set_pending(&mut self, pending: Pending) {
        self.pending = Some(Box::new(pending));
    }

    fn corrupt(&self, reason: String) -> RuntimeError {
        RuntimeError::Corrupt {
            id: self.id.clone(),
            reason,
        }
    }
}

/// Runs one attempt of an activity: within `limit` (the time left, and the step's timeout for
/// the message), with a panic caught and reported as the attempt's error.
async fn guarded<T, E: fmt::Display>(
    call: impl Future<Output = Result<T, DispatchError<E>>>,
    limit: Option<(Duration, Duration)>,
) -> Result<T, String> {
    let call = AssertUnwindSafe(call).catch_unwind();
    let result = match limit {
        Some((left, declared)) => match timeout(left, call).await {
            Ok(result) => result,
            Err(_) => return Err(format!("timed out after {}", human(declared))),
        },
        None => call.await,
    };
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(error.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(ToString::to_string)
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".to_string());
            Err(format!("the activity panicked: {message}"))
        }
    }
}
