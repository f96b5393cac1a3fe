//! Metrics through the [`metrics`] facade: every attempt counted and timed (a [`Layer`] of
//! the attempt stack), and what each write made durable counted (landings, compensations,
//! instances started and ended). Nothing is recorded until the application installs a
//! recorder (a Prometheus exporter, an OpenTelemetry bridge).
//!
//! | metric | kind | labels |
//! | --- | --- | --- |
//! | `workflow_attempts_total` | counter | `flow`, `step`, `of` (`step` or `undo`), `outcome` (`ok` or `error`) |
//! | `workflow_attempt_seconds` | histogram | `flow`, `step`, `of` |
//! | `workflow_transitions_total` | counter | `flow`, `transition` |
//! | `workflow_compensations_total` | counter | `flow` |
//! | `workflow_instances_started_total` | counter | `flow` |
//! | `workflow_instances_ended_total` | counter | `flow`, `status` |

use std::future::Future;

use tokio::time::Instant;

use super::attempt::{Attempt, Attempted, Layer};
use crate::store::{Record, RecordKind, Status};

/// Counts and times each attempt.
pub(crate) struct Measured;

impl Layer for Measured {
    fn layer<T, F>(
        &self,
        attempt: &Attempt<'_>,
        inner: F,
    ) -> impl Future<Output = Attempted<T>> + Send + use<T, F>
    where
        T: Send,
        F: Future<Output = Attempted<T>> + Send,
    {
        let (flow, step) = (attempt.flow, attempt.step);
        let of = if attempt.is_undo { "undo" } else { "step" };
        async move {
            let begun = Instant::now();
            let result = inner.await;
            let outcome = if result.is_ok() { "ok" } else { "error" };
            metrics::counter!("workflow_attempts_total", "flow" => flow, "step" => step, "of" => of, "outcome" => outcome)
                .increment(1);
            metrics::histogram!("workflow_attempt_seconds", "flow" => flow, "step" => step, "of" => of)
                .record(begun.elapsed().as_secs_f64());
            result
        }
    }
}

/// What a write makes durable, counted once it is written.
pub(crate) struct Tally {
    flow: &'static str,
    transitions: Vec<crate::store::Name>,
    compensations: u64,
    ended: Option<&'static str>,
}

impl Tally {
    /// What writing `records` with `status` makes durable, for flow `flow`.
    pub(crate) fn of(flow: &'static str, records: &[Record], status: Status) -> Self {
        let mut tally = Self {
            flow,
            transitions: Vec::new(),
            compensations: 0,
            ended: status.is_finished().then(|| status.as_str()),
        };
        for record in records {
            match &record.kind {
                RecordKind::Transition { transition, .. }
                | RecordKind::Decided { transition, .. } => {
                    tally.transitions.push(transition.clone());
                }
                RecordKind::CompensationStarted { .. } => tally.compensations += 1,
                _ => {}
            }
        }
        tally
    }

    /// Records it: the write succeeded.
    pub(crate) fn written(self) {
        let flow = self.flow;
        for transition in self.transitions {
            metrics::counter!("workflow_transitions_total", "flow" => flow, "transition" => transition)
                .increment(1);
        }
        if self.compensations > 0 {
            metrics::counter!("workflow_compensations_total", "flow" => flow)
                .increment(self.compensations);
        }
        if let Some(status) = self.ended {
            metrics::counter!("workflow_instances_ended_total", "flow" => flow, "status" => status)
                .increment(1);
        }
    }
}

/// Counts an instance of flow `flow` started.
pub(crate) fn started(flow: &'static str) {
    metrics::counter!("workflow_instances_started_total", "flow" => flow).increment(1);
}
