//! One claimed instance, driven: the machine's effects are written to the store under the
//! claim, and only then is the attempt it asks for made; inputs (the attempt's result,
//! messages from the inbox, the clock) go back to the machine. The task leaves when the
//! instance ends, when it waits and the host has no room to keep it, or when its claim is
//! lost. A store that fails to write stalls it: it keeps its claim and tries again, backing
//! off, and says so to whoever waits on it.

use std::sync::Arc;
use std::time::Duration;

use tracing::{Instrument, info, info_span, warn};

use super::attempt::{self, Attempt};
use super::child::{ChildEnd, ChildOf};
use super::codec;
use super::host::{FlowRunner, HostShared};
use super::machine::{self, Command, Effects, Input, Machine, PartCommand, UndoPartCommand};
use super::metrics::Tally;
use super::policy::{instant_of, now_ms};
use super::{Durable, Runnable};
use crate::store::{
    Answer, Claim, Commit, InboxItem, Message, MessageId, Parent, Snapshot, StoreError, Wake,
};
use crate::{Failure, FailureKind, FlowState, InstanceId, StepCtx};

/// Why a driven instance's task left.
#[derive(Clone, Copy)]
pub(crate) enum Exit {
    /// The instance ended.
    Ended,
    /// It waits, and its claim was handed back.
    Released,
    /// Its claim was lost (or the host asked it to stop): someone else drives it now.
    Lost,
}

/// How a write went.
pub(crate) enum Wrote {
    /// It is in the store.
    Written,
    /// It failed, and the instance was read back from the store: the machine is now what
    /// the store holds.
    Reloaded,
}

/// One claimed instance and what it needs to run.
pub(crate) struct Driven<W: Durable, A> {
    pub(crate) host: Arc<HostShared>,
    pub(crate) flow: Arc<FlowRunner<W, A>>,
    pub(crate) claim: Claim,
    pub(crate) machine: Machine<W>,
    pub(crate) wakeup: Arc<super::timers::Wakeup>,
    /// What the machine decided and is not written yet.
    pub(crate) fx: Effects,
    /// The newest message fed to the machine.
    pub(crate) fed: Option<MessageId>,
    /// Whether the host counts this instance among those it keeps waiting in memory.
    pub(crate) hot: bool,
    /// The deadline registered with the host's timers, not to register it twice.
    pub(crate) waking_at: Option<u64>,
    /// The attempts of parts running, while the current step is made of parts. Dropping it
    /// stops them.
    pub(crate) parts: Option<Running<W>>,
}

/// The parts of one step running, as tasks of their own, and what they all read.
pub(crate) struct Running<W: Durable> {
    tasks: tokio::task::JoinSet<Input<W>>,
    /// The step's key, to tell the step they belong to.
    step: Arc<str>,
    /// The state (and event) the parts run from, shared by all of them.
    from: Arc<(W::State, Option<W::Event>)>,
}

/// The machine of an instance read from the store, carried on from its snapshot and fed its
/// inbox: what a host does with an instance it claims, and a task with one it reads back.
/// What it decided is in the effects, not written yet; the message number is the last fed.
pub(crate) fn restored<W: Durable>(
    snapshot: &Snapshot,
    inbox: Vec<InboxItem>,
) -> Result<(Machine<W>, Effects, Option<MessageId>), String> {
    let mut machine = Machine::<W>::restore(snapshot)?;
    let mut fx = Effects::new();
    machine.resume(now_ms(), &mut fx);
    let fed = feed(&mut machine, inbox, None, &mut fx);
    Ok((machine, fx, fed))
}

/// Messages from the inbox as the machine's inputs: events decoded, and those that cannot be
/// answered [`Answer::Unreadable`] at once.
pub(crate) fn feed<W: Durable>(
    machine: &mut Machine<W>,
    inbox: Vec<InboxItem>,
    after: Option<MessageId>,
    fx: &mut Effects,
) -> Option<MessageId> {
    let mut fed = after;
    for item in inbox {
        if after.is_some_and(|after| item.id <= after) {
            continue;
        }
        fed = Some(item.id);
        let message = match item.message {
            Message::Cancel => machine::Message::Cancel { id: item.id },
            Message::ChildEnded { child } => machine::Message::ChildEnded { id: item.id, child },
            Message::Compensate => machine::Message::Compensate { id: item.id },
            Message::Release => machine::Message::Release { id: item.id },
            Message::Pause => machine::Message::Pause { id: item.id },
            Message::Unpause => machine::Message::Unpause { id: item.id },
            Message::Event { event: json, .. } => match codec::decode::<W::Event>(&json) {
                Ok(event) => machine::Message::Event {
                    id: item.id,
                    event,
                    json,
                },
                Err(error) => {
                    let reason =
                        format!("not an event of flow `{}`: {error}", W::DEFINITION.name());
                    fx.answers.push((item.id, Answer::Unreadable { reason }));
                    continue;
                }
            },
        };
        machine.handle(Input::Message(message), now_ms(), fx);
    }
    fed
}

impl<W, A> Driven<W, A>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    /// Runs the instance until its task leaves, then tells the host why.
    ///
    /// Not an `async fn`: its future would hold `self` twice, as the argument and as the
    /// binding the body moves it into; the block below uses the one it captures. That halves
    /// what each instance's task holds while it waits.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            let span =
                info_span!("instance", flow = W::DEFINITION.name(), instance = %self.machine.id());
            let exit = self.drive().instrument(span.clone()).await;
            // Parts still running are stopped, and waited for: none outlives the instance's
            // task, nor keeps the store open after the host stops.
            if let Some(mut running) = self.parts.take() {
                running.tasks.shutdown().instrument(span).await;
            }
            if self.hot {
                self.host.leave_hot();
            }
            let host = Arc::clone(&self.host);
            host.finished(&self.claim, &self.wakeup, exit);
        }
    }

    async fn drive(&mut self) -> Exit {
        loop {
            if self.wakeup.stopping() {
                return Exit::Lost;
            }
            if self.fx.must_write() {
                match self.write(false).await {
                    Ok(Wrote::Written) => {}
                    // Read back from the store: what the reload decided is written first.
                    Ok(Wrote::Reloaded) => continue,
                    Err(exit) => return exit,
                }
            }
            if std::mem::take(&mut self.fx.stop_parts) {
                // A part failed for good: the others are no longer waited for.
                self.parts = None;
            }
            if !self.fx.parts.is_empty() || !self.fx.undo_parts.is_empty() {
                self.start_parts();
            }
            if let Some(running) = self.parts.as_mut().filter(|r| !r.tasks.is_empty()) {
                if let Some(at) = self.machine.part_retry_at()
                    && self.waking_at != Some(at)
                {
                    self.waking_at = Some(at);
                    self.host.timers.wake_at(instant_of(at), &self.wakeup);
                }
                tokio::select! {
                    Some(done) = running.tasks.join_next() => {
                        // A part's task only ends early when it is stopped.
                        if let Ok(input) = done {
                            self.machine.handle(input, now_ms(), &mut self.fx);
                        }
                    }
                    () = self.wakeup.woken() => {
                        self.read_inbox().await;
                        self.machine.handle(Input::Tick, now_ms(), &mut self.fx);
                    }
                }
                continue;
            }
            if let Some(command) = self.fx.command.take() {
                // Boxed: an attempt's future (the activity's own) lives only while it runs, so
                // a waiting instance's task does not carry its size.
                let input = Box::pin(self.attempt(command)).await;
                // Messages posted while the attempt ran are held first, so a cancel is
                // taken as the step lands, before the next step is chosen.
                self.read_inbox().await;
                self.machine.handle(input, now_ms(), &mut self.fx);
                continue;
            }
            if self.machine.status().is_finished() {
                info!(status = %self.machine.status(), state = self.machine.state().name(), "instance ended");
                return Exit::Ended;
            }
            // Waiting: for a message, a timer, or a retry's wait.
            if !self.hot {
                if !self.host.try_stay_hot() {
                    match self.release().await {
                        Some(exit) => return exit,
                        // Read back from the store: the task goes on from there.
                        None => continue,
                    }
                }
                self.hot = true;
            }
            if let Wake::At(at) = self.machine.wake()
                && self.waking_at != Some(at)
            {
                self.waking_at = Some(at);
                self.host.timers.wake_at(instant_of(at), &self.wakeup);
            }
            self.wakeup.woken().await;
            self.read_inbox().await;
            self.machine.handle(Input::Tick, now_ms(), &mut self.fx);
            if self.hot && !self.machine.is_waiting() {
                self.host.leave_hot();
                self.hot = false;
            }
        }
    }

    /// Feeds the machine the messages posted since it last looked, if any were.
    async fn read_inbox(&mut self) {
        if !self.wakeup.take_posted() {
            return;
        }
        let store = &self.host.store;
        match store.inbox(&self.claim.flow, &self.claim.id).await {
            Ok(inbox) => {
                self.fed = feed(&mut self.machine, inbox, self.fed, &mut self.fx);
            }
            Err(error) => {
                warn!(%error, "the inbox cannot be read; trying again");
                // Looked at again at the next wake.
                self.wakeup.posted();
            }
        }
    }

    /// Writes what the machine decided, under the claim. On a store failure the instance
    /// stalls: what it did since its last write is given up, as a crash would give it up,
    /// and it is read back from the store once the store answers again (an attempt whose
    /// result could not be written is made again, with its key). `Err` if the task must
    /// leave.
    async fn write(&mut self, release: bool) -> Result<Wrote, Exit> {
        let mut commit = Commit::new(
            self.machine.snapshot(),
            std::mem::take(&mut self.fx.records),
            self.machine.wake(),
        )
        .answering(std::mem::take(&mut self.fx.answers))
        .posting(std::mem::take(&mut self.fx.posts));
        self.fx.starts_parts = false;
        if release {
            commit = commit.releasing();
        }
        let tally = Tally::of(
            W::DEFINITION.name(),
            &commit.records,
            commit.snapshot.status,
        );
        match self.host.store.commit(&self.claim, commit).await {
            Ok(()) => {
                tally.written();
                self.host.unstall(&self.claim);
                Ok(Wrote::Written)
            }
            Err(StoreError::ClaimLost { .. } | StoreError::Conflict { .. }) => {
                warn!("the claim on the instance was lost; another worker drives it");
                Err(Exit::Lost)
            }
            Err(error) => {
                warn!(%error, "the instance cannot be written; it stays where its last record left it");
                self.host.stall(&self.claim, error);
                // Boxed, as a rare path: the task does not carry its size.
                Box::pin(self.reload()).await.map(|()| Wrote::Reloaded)
            }
        }
    }

    /// Reads the instance back from the store, waiting longer each time the store fails.
    async fn reload(&mut self) -> Result<(), Exit> {
        let (flow, id) = (&self.claim.flow, &self.claim.id);
        let mut wait = Duration::from_millis(100);
        loop {
            if !self.back_off(&mut wait).await {
                return Err(Exit::Lost);
            }
            let store = &self.host.store;
            let Ok(Some(snapshot)) = store.load(flow, id).await else {
                continue;
            };
            let Ok(inbox) = store.inbox(flow, id).await else {
                continue;
            };
            let (machine, fx, fed) = match restored::<W>(&snapshot, inbox) {
                Ok(restored) => restored,
                Err(reason) => {
                    tracing::error!(%reason, "the instance cannot be read back; it is left as it was");
                    return Err(Exit::Lost);
                }
            };
            self.fed = fed;
            self.machine = machine;
            self.fx = fx;
            if !self.fx.must_write() {
                // Nothing is waiting to be written: it no longer waits on the store.
                self.host.unstall(&self.claim);
            }
            return Ok(());
        }
    }

    /// Hands the claim back: the instance waits in the store for a message or its timer.
    /// `None` if the last write failed and the instance was read back from the store instead:
    /// the task goes on driving it.
    async fn release(&mut self) -> Option<Exit> {
        if self.fx.must_write() {
            match self.write(true).await {
                Ok(Wrote::Written) => {}
                Ok(Wrote::Reloaded) => return None,
                Err(exit) => return Some(exit),
            }
        } else if let Err(error) = self.host.store.release(&self.claim).await {
            warn!(%error, "the claim could not be handed back; it lapses with its lease");
        }
        // Once it waits in the store, where the host's sweep finds it.
        if let Wake::At(at) = self.machine.wake() {
            self.host.sweep_at(at);
        }
        Some(Exit::Released)
    }

    /// Starts the attempts of parts the machine asked for, each as a task of its own, so that
    /// they run at the same time while the instance goes on writing what they did.
    fn start_parts(&mut self) {
        let Some(step) = self.machine.tasks_key() else {
            self.fx.parts.clear();
            self.fx.undo_parts.clear();
            return;
        };
        let running = match &mut self.parts {
            Some(running) if Arc::ptr_eq(&running.step, step) => running,
            _ => {
                let from = (
                    self.machine.state().clone(),
                    self.machine.step_event().cloned(),
                );
                self.parts.insert(Running {
                    tasks: tokio::task::JoinSet::new(),
                    step: Arc::clone(step),
                    from: Arc::new(from),
                })
            }
        };
        for command in self.fx.parts.drain(..) {
            let from = Arc::clone(&running.from);
            let flow = Arc::clone(&self.flow);
            let host = Arc::clone(&self.host);
            let id = self.machine.id().clone();
            let attempt = run_part::<W, A>(host, flow, id, from, command);
            running.tasks.spawn(attempt.in_current_span());
        }
        for command in self.fx.undo_parts.drain(..) {
            let flow = Arc::clone(&self.flow);
            let host = Arc::clone(&self.host);
            let id = self.machine.id().clone();
            let state = self.machine.state().name();
            let attempt = async move {
                let UndoPartCommand {
                    attempt,
                    undo,
                    seq,
                    number,
                    key,
                    deadline,
                    json,
                } = command;
                let name = W::DEFINITION.undos()[undo].name();
                let ctx = StepCtx::new(id.clone(), name, number, key);
                let deadline = deadline.map(|(at, t)| (instant_of(at), t));
                let on = UndoOn {
                    host: &host,
                    flow: &flow,
                    instance: &id,
                    state,
                };
                let result = on.part_undo(undo, &json, number, deadline, &ctx).await;
                Input::UndoPartDone {
                    attempt,
                    seq,
                    result,
                }
            };
            running.tasks.spawn(attempt.in_current_span());
        }
    }

    /// Makes one attempt through the host's stack of layers.
    async fn attempt(&self, command: Command) -> Input<W> {
        let def = W::DEFINITION;
        let id: &InstanceId = self.machine.id();
        match command {
            Command::Step {
                attempt: handle,
                transition,
                number,
                key,
                deadline,
            } => {
                let step = &def.transitions()[transition];
                if let Some(child) = step.child() {
                    return self.child_attempt(handle, transition, child, key).await;
                }
                let ctx = StepCtx::new(id.clone(), step.name(), number, key);
                let state = self.machine.state();
                let attempt = Attempt {
                    flow: def.name(),
                    instance: id,
                    state: state.name(),
                    step: step.name(),
                    part: None,
                    is_undo: false,
                    number,
                    deadline: deadline.map(|(at, t)| (instant_of(at), t)),
                    control: self.host.control(def.name(), step.name()),
                };
                let call = W::run_transition(
                    &*self.flow.activities,
                    transition,
                    state,
                    self.machine.step_event(),
                    &ctx,
                );
                let result = attempt::run(&attempt::STANDARD, &attempt, W::retryable, call).await;
                Input::StepDone {
                    attempt: handle,
                    result,
                }
            }
            Command::Undo {
                attempt: handle,
                undo,
                number,
                key,
                deadline,
            } => {
                let undo_def = &def.undos()[undo];
                let ctx = StepCtx::new(id.clone(), undo_def.name(), number, key);
                let deadline = deadline.map(|(at, t)| (instant_of(at), t));
                if undo_def.part().is_some() {
                    let result = self.part_undo(undo, number, deadline, &ctx).await;
                    return Input::UndoDone {
                        attempt: handle,
                        result,
                    };
                }
                let state = match self.machine.undo_state() {
                    Some(Ok(state)) => state,
                    Some(Err(why)) => {
                        let failure =
                            Failure::new(undo_def.name(), number, FailureKind::Mismatch, why);
                        return Input::UndoDone {
                            attempt: handle,
                            result: Err(failure),
                        };
                    }
                    None => return Input::Tick,
                };
                let state = &state;
                let attempt = Attempt {
                    flow: def.name(),
                    instance: id,
                    state: state.name(),
                    step: undo_def.name(),
                    part: None,
                    is_undo: true,
                    number,
                    deadline,
                    control: self.host.control(def.name(), undo_def.name()),
                };
                let call = W::run_undo(&*self.flow.activities, undo, state, &ctx);
                let result = attempt::run(&attempt::STANDARD, &attempt, W::retryable, call).await;
                Input::UndoDone {
                    attempt: handle,
                    result,
                }
            }
            Command::UndoChild {
                attempt,
                transition,
                child,
            } => self.undo_child_attempt(attempt, transition, child).await,
        }
    }

    /// One attempt to compensate `child`, which step `transition` ran and which its parent
    /// unwinds: asks a held child to compensate, and reads how it is. A store that fails is
    /// asked again, as for [`child_attempt`](Self::child_attempt).
    async fn undo_child_attempt(
        &self,
        attempt: machine::AttemptId,
        transition: usize,
        child: InstanceId,
    ) -> Input<W> {
        let step = &W::DEFINITION.transitions()[transition];
        let Some(flow) = step.child() else {
            return Input::Tick;
        };
        let span = info_span!(
            "undo",
            flow = W::DEFINITION.name(),
            instance = %self.machine.id(),
            state = self.machine.state().name(),
            step = step.name(),
            child_flow = flow.name(),
            child = %child,
            outcome = tracing::field::Empty,
        );
        let recorded = span.clone();
        let asked = async {
            let mut wait = Duration::from_millis(100);
            loop {
                match self.compensate_child(flow, &child).await {
                    Ok(result) => return Some(result),
                    Err(error) => {
                        warn!(%error, "the child cannot be read or compensated; trying again");
                    }
                }
                if !self.back_off(&mut wait).await {
                    return None;
                }
            }
        };
        let Some(result) = asked.instrument(span).await else {
            return Input::Tick;
        };
        let outcome = match &result {
            None => "compensating",
            Some(Ok(())) => "ok",
            Some(Err(_)) => "error",
        };
        recorded.record("outcome", outcome);
        let result = result.map(|result| {
            result.map_err(|why| Failure::new(step.name(), 1, FailureKind::Child, why))
        });
        Input::ChildUndone { attempt, result }
    }

    /// How the compensation of child `child` of `flow` is: `None` while it compensates
    /// (asked now, if it was held); `Some(Err)` with the reason if it could not be undone.
    async fn compensate_child(
        &self,
        flow: &'static crate::Definition,
        child: &InstanceId,
    ) -> Result<Option<Result<(), String>>, StoreError> {
        let store = &self.host.store;
        let name = flow.name();
        let Some(snapshot) = store.load(name, child).await? else {
            return Ok(Some(Err(format!(
                "its `{name}` child `{child}` does not exist"
            ))));
        };
        match ChildEnd::of(flow, &snapshot) {
            Some(ended) if ended.held => {
                // Asked again after a crash, the child takes the first and answers the rest.
                match store.post(name, child, Message::Compensate, now_ms()).await {
                    Ok(_) | Err(StoreError::Ended { .. }) => Ok(None),
                    Err(error) => Err(error),
                }
            }
            None => Ok(None),
            Some(ChildEnd {
                failure: Some(failure),
                ..
            }) => Ok(Some(Err(format!(
                "its `{name}` child `{child}` could not be compensated: {failure}"
            )))),
            Some(_) => Ok(Some(Ok(()))),
        }
    }

    /// One attempt of a step that runs a child flow: starts the child, whose id is the step's
    /// key, unless it exists (started before a crash), and reads how it is. A store that
    /// fails is asked again, waiting longer each time, as long as the host runs.
    async fn child_attempt(
        &self,
        attempt: machine::AttemptId,
        transition: usize,
        flow: &'static crate::Definition,
        key: Arc<str>,
    ) -> Input<W> {
        let child = InstanceId::new(&*key);
        let span = info_span!(
            "child",
            flow = W::DEFINITION.name(),
            instance = %self.machine.id(),
            state = self.machine.state().name(),
            step = W::DEFINITION.transitions()[transition].name(),
            child_flow = flow.name(),
            child = %child,
            outcome = tracing::field::Empty,
        );
        let recorded = span.clone();
        let looked = self.look_at_child(attempt, transition, flow, child);
        let input = looked.instrument(span).await;
        if let Input::Child { ended, .. } = &input {
            recorded.record("outcome", child_outcome(ended.as_ref()));
        }
        input
    }

    /// [`child_attempt`](Self::child_attempt), in its span.
    async fn look_at_child(
        &self,
        attempt: machine::AttemptId,
        transition: usize,
        flow: &'static crate::Definition,
        child: InstanceId,
    ) -> Input<W> {
        let mut wait = Duration::from_millis(100);
        loop {
            match self.find_or_start_child(transition, flow, &child).await {
                Ok(Ok(ended)) => {
                    return Input::Child {
                        attempt,
                        child,
                        ended,
                    };
                }
                Ok(Err(why)) => {
                    let name = W::DEFINITION.transitions()[transition].name();
                    let failure = Failure::new(name, 1, FailureKind::Unstorable, why);
                    return Input::StepDone {
                        attempt,
                        result: Err(failure),
                    };
                }
                Err(error) => {
                    warn!(%error, "the child cannot be read or started; trying again");
                }
            }
            if !self.back_off(&mut wait).await {
                return Input::Tick;
            }
        }
    }

    /// Waits `wait` (or until woken) before asking a failing store again, and doubles it,
    /// up to a minute; `false` if the host asked the task to stop meanwhile.
    async fn back_off(&self, wait: &mut Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(*wait) => {}
            () = self.wakeup.woken() => {}
        }
        *wait = (*wait * 2).min(Duration::from_mins(1));
        !self.wakeup.stopping()
    }

    /// How child `child` of `flow` is, starting it first if it does not exist: `Ok(Err)` if
    /// its first state cannot be built or stored.
    async fn find_or_start_child(
        &self,
        transition: usize,
        flow: &'static crate::Definition,
        child: &InstanceId,
    ) -> Result<Result<Option<ChildEnd>, String>, StoreError> {
        let store = &self.host.store;
        if let Some(snapshot) = store.load(flow.name(), child).await? {
            return Ok(Ok(ChildEnd::of(flow, &snapshot)));
        }
        let of = ChildOf::new(
            child.clone(),
            Parent::new(W::DEFINITION.name(), self.machine.id().clone()),
            now_ms(),
        );
        let state = self.machine.state();
        let new = match W::start_child(transition, state, self.machine.step_event(), of) {
            Ok(new) => new,
            Err(why) => return Ok(Err(why)),
        };
        match store.create(new.snapshot, new.record, new.wake, None).await {
            Ok(_) => {
                info!(child = %child, flow = flow.name(), "child started");
                Ok(Ok(None))
            }
            // Started meanwhile (by another worker that held this claim before): read it.
            Err(StoreError::Duplicate { .. }) => match store.load(flow.name(), child).await? {
                Some(snapshot) => Ok(Ok(ChildEnd::of(flow, &snapshot))),
                None => Ok(Ok(None)),
            },
            Err(error) => Err(error),
        }
    }

    /// One attempt of the undo of a part, on the part's output: the newest link's.
    async fn part_undo(
        &self,
        undo: usize,
        number: u32,
        deadline: Option<(tokio::time::Instant, Duration)>,
        ctx: &StepCtx,
    ) -> Result<(), Failure> {
        let Some(output) = self.machine.undo_json() else {
            let name = W::DEFINITION.undos()[undo].name();
            return Err(Failure::new(
                name,
                number,
                FailureKind::Mismatch,
                "the chain is empty",
            ));
        };
        let on = UndoOn {
            host: &self.host,
            flow: &self.flow,
            instance: self.machine.id(),
            state: self.machine.state().name(),
        };
        on.part_undo(undo, output, number, deadline, ctx).await
    }
}

/// Where the undo of a part runs: the host, the flow's activities, the instance and its
/// state, borrowed by the instance's task or owned by a task of its own.
struct UndoOn<'a, W: Durable, A> {
    host: &'a HostShared,
    flow: &'a FlowRunner<W, A>,
    instance: &'a InstanceId,
    state: &'static str,
}

impl<W, A> UndoOn<'_, W, A>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    /// One attempt of undo `undo` of a part, on the part's `output`, through the host's
    /// stack of layers.
    async fn part_undo(
        &self,
        undo: usize,
        output: &str,
        number: u32,
        deadline: Option<(tokio::time::Instant, Duration)>,
        ctx: &StepCtx,
    ) -> Result<(), Failure> {
        let def = W::DEFINITION;
        let name = def.undos()[undo].name();
        let attempt = Attempt {
            flow: def.name(),
            instance: self.instance,
            state: self.state,
            step: name,
            part: None,
            is_undo: true,
            number,
            deadline,
            control: self.host.control(def.name(), name),
        };
        let call = W::run_part_undo(&*self.flow.activities, undo, output, ctx);
        match attempt::run(&attempt::STANDARD, &attempt, W::retryable, call).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(Failure::new(
                name,
                number,
                FailureKind::Mismatch,
                format!("the output it undoes cannot be decoded: {why}"),
            )),
            Err(failure) => Err(failure),
        }
    }
}

/// What a look at a child found, as its span records it.
fn child_outcome(ended: Option<&ChildEnd>) -> &'static str {
    match ended {
        None => "running",
        Some(ended) if ended.held => "held",
        Some(ended) => ended.status.as_str(),
    }
}

/// One attempt of a part of a step, through the host's stack of layers, as a task of its
/// own: it owns what it needs.
async fn run_part<W, A>(
    host: Arc<HostShared>,
    flow: Arc<FlowRunner<W, A>>,
    id: InstanceId,
    from: Arc<(W::State, Option<W::Event>)>,
    command: PartCommand,
) -> Input<W>
where
    W: Runnable<A>,
    A: Send + Sync + 'static,
{
    let PartCommand {
        attempt: handle,
        transition,
        part,
        number,
        key,
        deadline,
    } = command;
    let def = W::DEFINITION;
    let step = &def.transitions()[transition];
    let name = step
        .parts()
        .map_or(step.name(), |parts| parts.activity(part));
    let ctx = StepCtx::new(id.clone(), name, number, key);
    let (state, event) = &*from;
    let attempt = Attempt {
        flow: def.name(),
        instance: &id,
        state: state.name(),
        step: name,
        part: u32::try_from(part).ok(),
        is_undo: false,
        number,
        deadline: deadline.map(|(at, t)| (instant_of(at), t)),
        control: host.control(def.name(), name),
    };
    let call = W::run_part(
        &*flow.activities,
        transition,
        part,
        state,
        event.as_ref(),
        &ctx,
    );
    let result = match attempt::run(&attempt::STANDARD, &attempt, W::retryable, call).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(why)) => Err(Failure::new(
            name,
            number,
            FailureKind::Unstorable,
            format!("the output it returned cannot be stored: {why}"),
        )),
        Err(failure) => Err(failure),
    };
    Input::PartDone {
        attempt: handle,
        part,
        result,
    }
}
