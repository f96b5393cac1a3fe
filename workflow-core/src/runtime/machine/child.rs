//! Steps that run a child flow: the attempt starts the child (or finds the one started
//! before a crash) and says how it is; while it runs the step waits with no attempt running,
//! holding no worker, until the child's end is posted; a cancel meanwhile cancels the child
//! with the parent's own write.
//!
//! A child that reaches its final state with undos on its chain is held there, running, for
//! its parent: the parent's step lands and puts the child on the parent's chain; unwinding
//! that link compensates the child and waits for its end, and a parent that ends without
//! unwinding it releases it with the write that ends the parent.

use super::decide::build;
use super::{
    AttemptId, Cause, ChildWait, Effects, How, Link, Machine, Message, Step, Undo, Unwinding, Work,
};
use crate::runtime::Durable;
use crate::runtime::child::ChildEnd;
use crate::store::{self, Answer, Post, RecordKind, Status};
use crate::{Failure, FailureKind, FlowState, InstanceId};

impl<W: Durable> Machine<W> {
    /// An attempt of the current step found its child `child`: lands from the child's final
    /// state, fails (the child failed or was cancelled), or waits for it.
    pub(super) fn child_done(
        &mut self,
        attempt: AttemptId,
        child: &InstanceId,
        ended: Option<ChildEnd>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let Some(Work::Step(step)) = &mut self.work else {
            return;
        };
        if step.running != Some(attempt) {
            return;
        }
        step.running = None;
        let (transition, number) = (step.transition, step.failed + 1);
        let started = step.child.is_none();
        step.child = Some(ChildWait {
            id: child.clone(),
            running: ended.is_none(),
            held: ended.as_ref().is_some_and(|ended| ended.held),
        });
        let name = Self::DEF.transitions()[transition].name();
        if started {
            self.record(
                fx,
                now_ms,
                RecordKind::ChildStarted {
                    transition: name.into(),
                    child: child.clone(),
                },
            );
        }
        let Some(ended) = ended else {
            return;
        };
        let flow = Self::child_flow(transition);
        match ended.status {
            Status::Completed => {
                let (state, event) = (&self.state, self.step_event());
                let built = build::<W, _>(transition, number, || {
                    W::join_child(transition, state, event, &ended.state)
                });
                match built {
                    Ok((next, json)) => {
                        self.land(transition, How::Activity(number), next, json, now_ms, fx);
                    }
                    Err(failure) => self.step_failed(failure, now_ms, fx),
                }
            }
            status => {
                let why = match (&ended.failure, status) {
                    (Some(failure), _) => format!("its `{flow}` child `{child}` failed: {failure}"),
                    (None, Status::Cancelled) => {
                        format!("its `{flow}` child `{child}` was cancelled")
                    }
                    (None, _) => format!("its `{flow}` child `{child}` ended {status}"),
                };
                let failure = Failure::new(name, number, FailureKind::Child, why);
                self.step_failed(failure, now_ms, fx);
            }
        }
    }

    /// The end of child `child` was posted: the step waiting for it, or the unwinding
    /// compensating it, looks at how it ended.
    pub(super) fn child_ended(&mut self, child: &InstanceId) {
        match &mut self.work {
            Some(Work::Step(Step {
                child: Some(wait), ..
            })) if wait.id == *child => wait.running = false,
            Some(Work::Unwinding(unwinding)) => {
                let newest = self.chain.last().map(|link| &link.undo);
                if matches!(newest, Some(Undo::Child { child: c, .. }) if c == child) {
                    unwinding.child_running = false;
                }
            }
            _ => {}
        }
    }

    /// Whether the current step waits for a running child, or the unwinding for a child
    /// compensating.
    pub(super) fn awaits_child(&self) -> bool {
        matches!(
            &self.work,
            Some(
                Work::Step(Step {
                    child: Some(ChildWait { running: true, .. }),
                    running: None,
                    ..
                }) | Work::Unwinding(Unwinding {
                    child_running: true,
                    running: None,
                    ..
                })
            )
        )
    }

    /// An attempt to compensate the held child of the newest link found it compensated
    /// (or its compensation failed), or compensating: then the unwinding waits for the
    /// child's end to be posted.
    pub(super) fn child_undone(
        &mut self,
        attempt: AttemptId,
        result: Option<Result<(), Failure>>,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        match result {
            Some(result) => self.undo_done(attempt, result, now_ms, fx),
            None => {
                if let Some(Work::Unwinding(unwinding)) = &mut self.work
                    && unwinding.running == Some(attempt)
                {
                    unwinding.running = None;
                    unwinding.child_running = true;
                }
            }
        }
    }

    /// The child held by `transition`'s step, which just landed: on the chain from now.
    pub(super) fn held_child(&self, transition: usize) -> Option<Undo> {
        match &self.work {
            Some(Work::Step(Step {
                child: Some(ChildWait { id, held: true, .. }),
                ..
            })) => Some(Undo::Child {
                transition,
                child: id.clone(),
            }),
            _ => None,
        }
    }

    /// Whether the instance is held in its final state for its parent.
    pub(super) fn is_held(&self) -> bool {
        self.status == Status::Running && self.work.is_none() && self.state.is_final()
    }

    /// Held in its final state: its parent compensates it (it unwinds and ends cancelled)
    /// or releases it (it completes). To anyone else it has completed.
    pub(super) fn while_held(&mut self, now_ms: u64, fx: &mut Effects) {
        while let Some(message) = self.held.pop_front() {
            match message {
                Message::Compensate { id } => {
                    fx.answers.push((id, Answer::Applied));
                    return self.begin_unwinding(Cause::Cancelled, 0, now_ms, fx);
                }
                Message::Release { id } => {
                    fx.answers.push((id, Answer::Applied));
                    self.complete(fx);
                    self.record(
                        fx,
                        now_ms,
                        RecordKind::Ended {
                            status: Status::Completed,
                        },
                    );
                    let answer = self.ended_answer();
                    fx.answers
                        .extend(self.held.drain(..).map(|m| (m.id(), answer.clone())));
                    return;
                }
                Message::Cancel { id } => {
                    let answer = Answer::Ended {
                        status: Status::Completed,
                        state: self.state.name().into(),
                    };
                    fx.answers.push((id, answer));
                }
                // Pauses and resumes are read as they arrive, never held.
                Message::Event { id, .. }
                | Message::ChildEnded { id, .. }
                | Message::Pause { id }
                | Message::Unpause { id } => {
                    let answer = Answer::NotAccepted {
                        state: self.state.name().into(),
                    };
                    fx.answers.push((id, answer));
                }
            }
        }
    }

    /// Reached its final state, or released by its parent: completed, its held children
    /// released.
    pub(super) fn complete(&mut self, fx: &mut Effects) {
        self.status = Status::Completed;
        self.timer = None;
        self.release_children(fx);
        self.ending = Some(store::Ending::default());
    }

    /// Empties the chain, releasing every held child on it: they will not be compensated.
    pub(super) fn release_children(&mut self, fx: &mut Effects) {
        let links = std::mem::take(&mut self.chain);
        fx.posts.extend(
            links
                .iter()
                .filter_map(|link: &Link| Self::release(&link.undo)),
        );
    }

    /// The release of the child `undo` compensates, if it does.
    pub(super) fn release(undo: &Undo) -> Option<Post> {
        let Undo::Child { transition, child } = undo else {
            return None;
        };
        let flow = Self::child_flow(*transition);
        Some(Post::new(flow, child.clone(), store::Message::Release))
    }

    /// While the step waits for its child, only a cancel and the step's `timeout` are
    /// decided: a cancel cancels the child (posted with this write) and compensates the
    /// parent; a timeout cancels the child and fails the step. Events and timers wait for the
    /// step, as they wait for any step.
    pub(super) fn await_child(&mut self, now_ms: u64, fx: &mut Effects) {
        let Some(Work::Step(Step {
            transition,
            child: Some(wait),
            ..
        })) = &self.work
        else {
            return;
        };
        let Some(at) = self
            .held
            .iter()
            .position(|m| matches!(m, Message::Cancel { .. }))
        else {
            let (transition, child) = (*transition, wait.id.clone());
            if let Some((due, timeout)) = self.child_deadline()
                && due <= now_ms
            {
                self.child_timed_out(transition, &child, timeout, now_ms, fx);
            }
            return;
        };
        let Some(message) = self.held.remove(at) else {
            return;
        };
        let flow = Self::child_flow(*transition);
        let cancel = Post::new(flow, wait.id.clone(), store::Message::Cancel);
        fx.posts.push(cancel);
        fx.answers.push((message.id(), Answer::Applied));
        self.begin_unwinding(Cause::Cancelled, 0, now_ms, fx);
    }

    /// When the current step's wait for its child times out, and its `timeout`: from the
    /// step's start, which is stored, so the deadline holds across restarts.
    pub(super) fn child_deadline(&self) -> Option<(u64, core::time::Duration)> {
        let Some(Work::Step(step)) = &self.work else {
            return None;
        };
        let timeout = Self::DEF.transitions()[step.transition].timeout();
        super::deadline::<W>(step.started_ms, timeout, &self.state)
    }

    /// The child did not end in time: it is cancelled, and the step fails with a timeout
    /// (which a `catch` on the step takes).
    fn child_timed_out(
        &mut self,
        transition: usize,
        child: &InstanceId,
        timeout: core::time::Duration,
        now_ms: u64,
        fx: &mut Effects,
    ) {
        let flow = Self::child_flow(transition);
        fx.posts
            .push(Post::new(flow, child.clone(), store::Message::Cancel));
        let why = format!(
            "its `{flow}` child `{child}` did not end within {}: it is cancelled",
            crate::runtime::policy::human(timeout)
        );
        let name = Self::DEF.transitions()[transition].name();
        let failure = Failure::new(name, 1, FailureKind::Timeout, why);
        self.step_failed(failure, now_ms, fx);
    }

    /// The name of the flow transition `transition` runs a child of.
    fn child_flow(transition: usize) -> &'static str {
        Self::DEF.transitions()[transition]
            .child()
            .map_or("?", crate::Definition::name)
    }
}
