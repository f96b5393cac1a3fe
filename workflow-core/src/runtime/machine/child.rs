//! Steps that run a child flow: the attempt starts the child (or finds the one started
//! before a crash) and says how it is; while it runs the step waits with no attempt running,
//! holding no worker, until the child's end is posted; a cancel meanwhile cancels the child
//! with the parent's own write.

use super::decide::build;
use super::{AttemptId, Cause, ChildWait, Effects, How, Machine, Message, Step, Work};
use crate::runtime::Durable;
use crate::runtime::child::ChildEnd;
use crate::store::{self, Answer, Post, RecordKind, Status};
use crate::{Failure, FailureKind, InstanceId};

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

    /// The end of child `child` was posted: the step waiting for it looks at how it ended.
    pub(super) fn child_ended(&mut self, child: &InstanceId) {
        if let Some(Work::Step(Step {
            child: Some(wait), ..
        })) = &mut self.work
            && wait.id == *child
        {
            wait.running = false;
        }
    }

    /// Whether the current step waits for a running child.
    pub(super) fn awaits_child(&self) -> bool {
        matches!(
            &self.work,
            Some(Work::Step(Step {
                child: Some(ChildWait { running: true, .. }),
                running: None,
                ..
            }))
        )
    }

    /// While the step waits for its child, only a cancel is decided: it cancels the child
    /// (posted with this write) and compensates the parent. Events and timers wait for the
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

    /// The name of the flow transition `transition` runs a child of.
    fn child_flow(transition: usize) -> &'static str {
        Self::DEF.transitions()[transition]
            .child()
            .map_or("?", crate::Definition::name)
    }
}
