//! The async driver, in virtual time: automatic transitions, events between steps, timers,
//! retries, timeouts, compensation on failure and on cancel, and every bad request refused
//! with a typed error that changes nothing.

mod common;

use std::time::Duration;

use common::{CancelRequested, Fakes, order, placed};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};
use workflow_core::store::{RecordKind, Status};
use workflow_core::testing::{CallLog, Fault};
use workflow_core::{Entry, FailureKind, Report};

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Assign {
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Close;

workflow! {
    /// A ticket that waits for people, and expires if nobody acts.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Ticket {
        initial Open      { title: String }
        state   Assigned  { title: String, to: String }
        state   Resolving { title: String, by: String }
        final   Closed    { title: String, by: String }
        final   Expired   { title: String }

        assign:  Open -> Assigned undo unassign, on Assign;
        resolve: Assigned -> Resolving, on Close;
        close:   Resolving -> Closed, retry(3, 1s..10s), timeout(5s);
        expire:  Open | Assigned -> Expired, after(1h);
    }
}

use ticket::{Assigned, Closed, Expired, Open, Resolving};

/// Fake helpdesk: records every call; `close` takes `close_takes` of virtual time.
struct Desk {
    log: CallLog,
    close_takes: Duration,
}

impl Desk {
    fn new() -> Self {
        Self {
            log: CallLog::new(),
            close_takes: Duration::ZERO,
        }
    }
}

impl ticket::Activities for Desk {
    type Error = Fault;

    async fn assign(&self, from: &Open, event: &Assign, ctx: &StepCtx) -> Result<Assigned, Fault> {
        self.log.call(ctx)?;
        Ok(Assigned {
            title: from.title.clone(),
            to: event.to.clone(),
        })
    }
    async fn resolve(&self, from: &Assigned, _: &Close, ctx: &StepCtx) -> Result<Resolving, Fault> {
        self.log.call(ctx)?;
        Ok(Resolving {
            title: from.title.clone(),
            by: from.to.clone(),
        })
    }
    async fn close(&self, from: &Resolving, ctx: &StepCtx) -> Result<Closed, Fault> {
        self.log.call(ctx)?;
        tokio::time::sleep(self.close_takes).await;
        Ok(Closed {
            title: from.title.clone(),
            by: from.by.clone(),
        })
    }
    async fn expire(&self, from: ticket::ExpireFrom<'_>, ctx: &StepCtx) -> Result<Expired, Fault> {
        self.log.call(ctx)?;
        let title = match from {
            ticket::ExpireFrom::Open(s) => s.title.clone(),
            ticket::ExpireFrom::Assigned(s) => s.title.clone(),
        };
        Ok(Expired { title })
    }
    async fn unassign(&self, _: &Assigned, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)
    }
}

fn open(title: &str) -> Open {
    Open {
        title: title.to_string(),
    }
}

type Tickets = Runtime<ticket::Flow, Desk>;

#[tokio::test(start_paused = true)]
async fn an_instance_runs_its_automatic_transitions_to_a_final_state() {
    let runtime = Runtime::<order::Flow, _>::new(Fakes::default());
    let id = runtime
        .start_with_id("order-1", placed(1, 50))
        .await
        .unwrap();
    let finished = runtime.outcome(&id).await.unwrap();
    let Outcome::Completed(order::State::Shipped(shipped)) = finished else {
        panic!("{finished:?}")
    };
    assert_eq!(shipped.tracking, "TRACK-1");
    assert_eq!(runtime.activities().calls(), ["reserve", "pay", "ship"]);
    let kinds: Vec<_> = runtime
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert!(matches!(kinds[0], RecordKind::Started));
    assert_eq!(
        kinds.len(),
        4,
        "one record to start, one per transition: {kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_step_compensates_and_the_instance_ends_failed() {
    let runtime = Runtime::<order::Flow, _>::new(Fakes::failing(&["ship"]));
    let id = runtime.start(placed(2, 50)).await.unwrap();
    let Outcome::Failed {
        failure,
        state,
        report,
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            failure.step(),
            failure.attempt(),
            failure.kind(),
            state.name()
        ),
        ("ship", 1, FailureKind::Activity, "Paid")
    );
    assert_eq!(report.undone_steps(), ["refund", "release"]);
    assert_eq!(
        runtime.activities().calls(),
        ["reserve", "pay", "ship", "refund", "release"]
    );
}

#[tokio::test(start_paused = true)]
async fn an_undo_is_retried_under_its_steps_policy() {
    let log = CallLog::new();
    log.fail("refund", 2);
    // `pay` retries 3 times, so its undo `refund` gets 3 attempts too.
    let runtime = Runtime::<order::Flow, _>::new(LoggedOrder {
        log: log.clone(),
        failing: "ship",
    });
    let id = runtime.start(placed(3, 50)).await.unwrap();
    let Outcome::Failed { report, .. } = runtime.outcome(&id).await.unwrap() else {
        panic!()
    };
    assert_eq!(report.undone_steps(), ["refund", "release"]);
    log.assert_steps(&[
        "reserve", "pay", "ship", "refund", "refund", "refund", "release",
    ]);
}

#[tokio::test(start_paused = true)]
async fn an_undo_that_keeps_failing_is_reported_next_to_the_original_error() {
    let log = CallLog::new();
    log.fail_always("refund");
    let runtime = Runtime::<order::Flow, _>::new(LoggedOrder {
        log: log.clone(),
        failing: "ship",
    });
    let id = runtime.start(placed(4, 50)).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!((failure.step(), failure.attempt()), ("ship", 1));
    let [
        Entry::UndoFailed {
            undo: "refund",
            error: undo,
        },
        Entry::Skipped { undo: "release" },
    ] = report.entries()
    else {
        panic!("{report:?}")
    };
    assert_eq!(
        (undo.step(), undo.attempt(), undo.kind()),
        ("refund", 3, FailureKind::Activity)
    );
    assert_eq!(log.count("release"), 0, "a skipped undo does not run");
}

#[tokio::test(start_paused = true)]
async fn every_attempt_of_a_step_has_the_same_idempotency_key() {
    let log = CallLog::new();
    log.fail("pay", 2);
    let runtime = Runtime::<order::Flow, _>::new(LoggedOrder {
        log: log.clone(),
        failing: "",
    });
    let id = runtime
        .start_with_id("order-5", placed(5, 50))
        .await
        .unwrap();
    assert!(matches!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Completed(_)
    ));
    let pays: Vec<_> = log
        .calls()
        .into_iter()
        .filter(|c| c.step == "pay")
        .collect();
    assert_eq!(
        pays.iter().map(|c| c.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(pays.iter().all(|c| c.key == pays[0].key));
    let keys: Vec<_> = log.calls().into_iter().map(|c| c.key.unwrap()).collect();
    assert_eq!(keys[0], "order-5/1/reserve");
    assert_eq!(keys[1], "order-5/2/pay");
    assert_ne!(keys.last(), keys.first());
}

#[tokio::test(start_paused = true)]
async fn an_event_the_state_does_not_accept_is_refused_and_changes_nothing() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime
        .start_with_id("T-1", open("printer on fire"))
        .await
        .unwrap();
    let rejected = runtime.send(&id, Close).await.unwrap_err();
    let RuntimeError::NotAccepted {
        state,
        event,
        accepted,
        ..
    } = &rejected.error
    else {
        panic!("{rejected}")
    };
    assert_eq!(
        (*state, *event, accepted.as_str()),
        ("Open", "Close", "`Assign`")
    );
    assert_eq!(
        rejected.into_value(),
        ticket::Event::Close(Close),
        "the event comes back"
    );
    assert_eq!(
        runtime.state(&id).await.unwrap(),
        ticket::State::Open(open("printer on fire"))
    );
    assert_eq!(
        runtime.history(&id).await.unwrap().len(),
        1,
        "nothing was written"
    );
    assert!(runtime.activities().log.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_event_sent_while_the_instance_moves_on_by_itself_waits_for_a_state_that_takes_it() {
    // Sent right after start, while the order still takes its automatic steps: `cancel` is
    // accepted in `Placed`, so it is applied there, between steps.
    let runtime = Runtime::<order::Flow, _>::new(Fakes::default());
    let id = runtime.start(placed(7, 50)).await.unwrap();
    runtime
        .send(
            &id,
            CancelRequested {
                reason: "oops".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        runtime.outcome(&id).await.unwrap().state().name(),
        "Cancelled"
    );
    // Wherever the order had got to when the event was decided, `cancel` ran there, between
    // two steps, and what was done before it is undone, newest first.
    let calls = runtime.activities().calls();
    let at = calls.iter().position(|c| *c == "cancel").unwrap();
    let undos = |done: &[&str]| -> Vec<&'static str> {
        done.iter()
            .rev()
            .filter_map(|step| match *step {
                "reserve" => Some("release"),
                "pay" => Some("refund"),
                _ => None,
            })
            .collect()
    };
    assert!(["reserve", "pay"].starts_with(&calls[..at]), "{calls:?}");
    assert_eq!(calls[at + 1..], undos(&calls[..at]), "{calls:?}");

    // An event no state of the run accepts is held while the instance moves, then refused
    // once it has ended.
    let runtime = Tickets::new(Desk::new());
    let id = runtime.start_with_id("T-10", open("quick")).await.unwrap();
    runtime
        .send(&id, Assign { to: "hal".into() })
        .await
        .unwrap();
    let close = runtime.send(&id, Close).await.unwrap();
    // Posted while `assign` runs: held, and decided once the instance waits again.
    let late = runtime
        .send(&id, Assign { to: "ivy".into() })
        .await
        .unwrap();
    close.applied().await.unwrap();
    let refused = late.applied().await.unwrap_err();
    assert!(
        matches!(
            refused.error,
            RuntimeError::Ended {
                status: Status::Completed,
                state: "Closed",
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(
        refused.into_value(),
        ticket::Event::Assign(Assign { to: "ivy".into() })
    );
}

#[tokio::test(start_paused = true)]
async fn events_move_a_waiting_instance() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime
        .start_with_id("T-2", open("no coffee"))
        .await
        .unwrap();
    runtime
        .send(&id, Assign { to: "ada".into() })
        .await
        .unwrap();
    runtime.send(&id, Close).await.unwrap();
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(
        finished,
        Outcome::Completed(ticket::State::Closed(Closed {
            title: "no coffee".into(),
            by: "ada".into()
        }))
    );
    runtime
        .activities()
        .log
        .assert_steps(&["assign", "resolve", "close"]);
}

#[tokio::test(start_paused = true)]
async fn posting_an_event_does_not_wait_for_the_attempt_in_progress() {
    let mut desk = Desk::new();
    desk.close_takes = Duration::from_secs(3);
    let runtime = Tickets::new(desk);
    let id = runtime.start_with_id("T-3", open("slow")).await.unwrap();
    runtime
        .send(&id, Assign { to: "bob".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    runtime
        .send(&id, Close)
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    // `close` is running (3s): a second `Close` is posted at once, without waiting for it.
    let start = tokio::time::Instant::now();
    let second = runtime.send(&id, Close).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "posted while `close` runs");
    // Its decision comes once the attempt has ended: the instance ended in `Closed`, so it
    // is refused, and the running attempt was undisturbed.
    let refused = second.applied().await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert!(
        matches!(
            refused.error,
            RuntimeError::Ended {
                status: Status::Completed,
                ..
            }
        ),
        "{refused}"
    );
    assert!(matches!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Completed(_)
    ));
    runtime
        .activities()
        .log
        .assert_steps(&["assign", "resolve", "close"]);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_that_exceeds_its_timeout_fails_and_is_retried() {
    let mut desk = Desk::new();
    desk.close_takes = Duration::from_mins(1);
    let runtime = Tickets::new(desk);
    let id = runtime.start_with_id("T-4", open("stuck")).await.unwrap();
    runtime.send(&id, Assign { to: "cy".into() }).await.unwrap();
    runtime.send(&id, Close).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (failure.step(), failure.attempt(), failure.kind()),
        ("close", 3, FailureKind::Timeout)
    );
    assert_eq!(report.undone_steps(), ["unassign"]);
    let closes: Vec<_> = runtime
        .activities()
        .log
        .calls()
        .into_iter()
        .filter(|c| c.step == "close")
        .map(|c| c.at.as_secs())
        .collect();
    assert_eq!(
        closes,
        [0, 6, 13],
        "5s timeout, then 1s and 2s waits between attempts"
    );
}

#[tokio::test(start_paused = true)]
async fn an_after_timer_fires_when_the_instance_has_waited_long_enough() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime
        .start_with_id("T-5", open("forgotten"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_mins(59)).await;
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Open", "not yet");
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(
        finished,
        Outcome::Completed(ticket::State::Expired(Expired {
            title: "forgotten".into()
        }))
    );
    let expire = &runtime.activities().log.calls()[0];
    assert_eq!(
        (expire.step.as_str(), expire.at),
        ("expire", Duration::from_hours(1))
    );
}

#[tokio::test(start_paused = true)]
async fn the_timer_starts_again_in_each_state_that_has_one() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime
        .start_with_id("T-6", open("half done"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_mins(30)).await;
    runtime
        .send(&id, Assign { to: "dee".into() })
        .await
        .unwrap();
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(finished.state().name(), "Expired");
    let at: Vec<_> = runtime
        .activities()
        .log
        .calls()
        .into_iter()
        .map(|c| (c.step, c.at.as_secs() / 60))
        .collect();
    assert_eq!(at, [("assign".to_string(), 30), ("expire".to_string(), 90)]);
}

#[tokio::test(start_paused = true)]
async fn timers_of_many_instances_fire_each_at_its_own_deadline() {
    let runtime = Tickets::new(Desk::new());
    // T-c starts after T-b and its deadline comes first; T-b is then assigned, which moves
    // its deadline (the one registered first is stale, and must not fire the transition).
    let mut ids = Vec::new();
    for (name, wait) in [("T-a", 0), ("T-b", 20), ("T-c", 10)] {
        tokio::time::sleep(Duration::from_mins(wait)).await;
        ids.push(runtime.start_with_id(name, open(name)).await.unwrap());
    }
    tokio::time::sleep(Duration::from_mins(5)).await;
    runtime
        .send(&ids[1], Assign { to: "dee".into() })
        .await
        .unwrap();
    for id in &ids {
        assert_eq!(runtime.outcome(id).await.unwrap().state().name(), "Expired");
    }
    let expired: Vec<_> = runtime
        .activities()
        .log
        .calls()
        .into_iter()
        .filter(|c| c.step == "expire")
        .map(|c| {
            (
                c.key.unwrap_or_default()[..3].to_string(),
                c.at.as_secs() / 60,
            )
        })
        .collect();
    let expected = [("T-a", 60), ("T-c", 90), ("T-b", 95)];
    assert_eq!(expired, expected.map(|(id, at)| (id.to_string(), at)));
}

#[tokio::test(start_paused = true)]
async fn cancel_compensates_and_a_second_cancel_is_refused() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime
        .start_with_id("T-7", open("duplicate"))
        .await
        .unwrap();
    runtime
        .send(&id, Assign { to: "eve".into() })
        .await
        .unwrap();
    runtime.cancel(&id).await.unwrap();
    let second = runtime.cancel(&id).await.unwrap_err();
    assert!(
        matches!(
            second,
            RuntimeError::AlreadyCancelling(_)
                | RuntimeError::Ended {
                    status: Status::Cancelled,
                    ..
                }
        ),
        "{second}"
    );
    let Outcome::Cancelled { state, report } = runtime.outcome(&id).await.unwrap() else {
        panic!()
    };
    assert_eq!(state.name(), "Assigned");
    let mut undone = Report::new();
    undone.undone("unassign");
    assert_eq!(report, undone);
    runtime
        .activities()
        .log
        .assert_steps(&["assign", "unassign"]);
    let after = runtime.cancel(&id).await.unwrap_err();
    assert!(
        matches!(
            after,
            RuntimeError::Ended {
                status: Status::Cancelled,
                state: "Assigned",
                ..
            }
        ),
        "{after}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_id_is_refused_and_the_state_comes_back() {
    let runtime = Tickets::new(Desk::new());
    let id = runtime.start_with_id("T-8", open("first")).await.unwrap();
    let rejected = runtime
        .start_with_id("T-8", open("second"))
        .await
        .unwrap_err();
    assert!(matches!(&rejected.error, RuntimeError::Duplicate(id) if id.as_str() == "T-8"));
    assert_eq!(rejected.into_value(), ticket::State::Open(open("second")));
    assert_eq!(
        runtime.state(&id).await.unwrap(),
        ticket::State::Open(open("first"))
    );
}

#[tokio::test(start_paused = true)]
async fn requests_to_unknown_or_ended_instances_are_refused() {
    let runtime = Tickets::new(Desk::new());
    let unknown = InstanceId::new("nope");
    assert!(matches!(
        runtime.send(&unknown, Close).await.unwrap_err().error,
        RuntimeError::Unknown(_)
    ));
    assert!(matches!(
        runtime.cancel(&unknown).await.unwrap_err(),
        RuntimeError::Unknown(_)
    ));
    assert!(matches!(
        runtime.outcome(&unknown).await.unwrap_err(),
        RuntimeError::Unknown(_)
    ));
    let id = runtime.start_with_id("T-9", open("done")).await.unwrap();
    runtime
        .send(&id, Assign { to: "fay".into() })
        .await
        .unwrap();
    runtime.send(&id, Close).await.unwrap();
    runtime.outcome(&id).await.unwrap();
    let ended = runtime.send(&id, Close).await.unwrap_err();
    assert!(
        matches!(
            ended.error,
            RuntimeError::Ended {
                status: Status::Completed,
                state: "Closed",
                ..
            }
        ),
        "{ended}"
    );
}

#[tokio::test(start_paused = true)]
async fn instances_are_listed_with_their_state_and_status() {
    let runtime = Tickets::new(Desk::new());
    let a = runtime.start_with_id("T-a", open("a")).await.unwrap();
    runtime.start_with_id("T-b", open("b")).await.unwrap();
    runtime.send(&a, Assign { to: "gus".into() }).await.unwrap();
    runtime.send(&a, Close).await.unwrap();
    runtime.outcome(&a).await.unwrap();
    let listed: Vec<_> = runtime
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id.to_string(), s.state_name.to_string(), s.status))
        .collect();
    assert_eq!(
        listed,
        [
            ("T-a".to_string(), "Closed".to_string(), Status::Completed),
            ("T-b".to_string(), "Open".to_string(), Status::Running)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_instances_run_at_once_on_a_multi_thread_runtime() {
    let runtime = Runtime::<order::Flow, _>::new(Fakes::default());
    let mut ids = Vec::new();
    for n in 0..1_000 {
        ids.push(runtime.start(placed(n + 1, 50)).await.unwrap());
    }
    for id in &ids {
        assert!(matches!(
            runtime.outcome(id).await.unwrap(),
            Outcome::Completed(_)
        ));
    }
    assert_eq!(runtime.activities().calls().len(), 3_000);
    assert_eq!(runtime.list().await.unwrap().len(), 1_000);
}

#[tokio::test(start_paused = true)]
async fn an_event_between_retry_attempts_takes_its_transition_and_compensates() {
    let log = CallLog::new();
    log.fail("pay", 10);
    let runtime = Runtime::<order::Flow, _>::new(LoggedOrder {
        log: log.clone(),
        failing: "",
    });
    let id = runtime
        .start_with_id("order-6", placed(6, 50))
        .await
        .unwrap();
    // `pay` fails at once and waits 100ms to retry, in `Reserved`: the event arrives then.
    tokio::time::sleep(Duration::from_millis(50)).await;
    runtime
        .send(
            &id,
            CancelRequested {
                reason: "changed my mind".into(),
            },
        )
        .await
        .unwrap();
    let finished = runtime.outcome(&id).await.unwrap();
    let Outcome::Completed(order::State::Cancelled(cancelled)) = finished else {
        panic!("{finished:?}")
    };
    assert_eq!(cancelled.reason, "changed my mind");
    log.assert_steps(&["reserve", "pay", "cancel", "release"]);
    let kinds: Vec<_> = runtime
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.kind)
        .collect();
    assert!(
        matches!(kinds.last(), Some(RecordKind::Transition { transition, .. }) if transition == "cancel")
    );
    assert!(kinds.contains(&RecordKind::Undone {
        undo: "release".into(),
        attempt: 1
    }));
}

/// The order flow's activities over a `CallLog`, failing `failing` always.
struct LoggedOrder {
    log: CallLog,
    failing: &'static str,
}

impl LoggedOrder {
    fn call(&self, ctx: &StepCtx) -> Result<(), Fault> {
        if ctx.step() == self.failing {
            self.log.fail_always(self.failing);
        }
        self.log.call(ctx)
    }
}

impl order::Activities for LoggedOrder {
    type Error = Fault;

    async fn reserve(
        &self,
        from: &order::Placed,
        ctx: &StepCtx,
    ) -> Result<order::ReserveTo, Fault> {
        self.call(ctx)?;
        Ok(order::Reserved {
            order: from.order.clone(),
            hold: 1,
        }
        .into())
    }
    async fn pay(&self, from: &order::Reserved, ctx: &StepCtx) -> Result<order::Paid, Fault> {
        self.call(ctx)?;
        Ok(order::Paid {
            order: from.order.clone(),
            hold: from.hold,
            charge: 2,
        })
    }
    async fn ship(&self, from: &order::Paid, ctx: &StepCtx) -> Result<order::Shipped, Fault> {
        self.call(ctx)?;
        Ok(order::Shipped {
            order: from.order.clone(),
            tracking: "T".into(),
        })
    }
    async fn cancel(
        &self,
        _: order::CancelFrom<'_>,
        event: &CancelRequested,
        ctx: &StepCtx,
    ) -> Result<order::Cancelled, Fault> {
        self.call(ctx)?;
        Ok(order::Cancelled {
            order_id: 0,
            reason: event.reason.clone(),
        })
    }
    async fn expire(
        &self,
        from: &order::Reserved,
        ctx: &StepCtx,
    ) -> Result<order::Cancelled, Fault> {
        self.call(ctx)?;
        Ok(order::Cancelled {
            order_id: from.order.id,
            reason: "expired".into(),
        })
    }
    async fn release(&self, _: &order::Reserved, ctx: &StepCtx) -> Result<(), Fault> {
        self.call(ctx)
    }
    async fn refund(&self, _: &order::Paid, ctx: &StepCtx) -> Result<(), Fault> {
        self.call(ctx)
    }
}

/// A host that keeps no waiting instance in memory: each wait hands the claim back, and the
/// instance is loaded from the store when its input arrives.
fn cold(desk: Desk, store: std::sync::Arc<dyn workflow_core::store::Store>) -> Tickets {
    Tickets::with_host(
        desk,
        workflow_core::runtime::Host::builder()
            .store(store)
            .keep_waiting(0),
    )
}

async fn instances_the_host_does_not_keep_take_their_events_timers_and_retries(
    store: std::sync::Arc<dyn workflow_core::store::Store>,
) {
    let desk = Desk::new();
    desk.log.fail("close", 1);
    let runtime = cold(desk, store);
    // Events: each one loads the instance again.
    let id = runtime.start_with_id("C-1", open("cold")).await.unwrap();
    tokio::time::sleep(Duration::from_mins(1)).await;
    runtime
        .send(&id, Assign { to: "kim".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    runtime
        .send(&id, Close)
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    // `close` fails once and waits 1s to retry, out of memory: the retry comes on time.
    assert!(matches!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Completed(ticket::State::Closed(_))
    ));
    let closes: Vec<_> = runtime
        .activities()
        .log
        .calls()
        .into_iter()
        .filter(|c| c.step == "close")
        .map(|c| (c.attempt, c.at.as_secs(), c.key))
        .collect();
    assert_eq!(closes.len(), 2);
    assert_eq!((closes[0].0, closes[1].0), (1, 2));
    assert_eq!(closes[1].1 - closes[0].1, 1, "retried 1s later");
    assert_eq!(closes[0].2, closes[1].2, "with the same key");

    // A timer: the instance waits in the store, and is claimed again when it is due.
    let start = tokio::time::Instant::now();
    let id = runtime
        .start_with_id("C-2", open("forgotten"))
        .await
        .unwrap();
    assert!(matches!(
        runtime.outcome(&id).await.unwrap(),
        Outcome::Completed(ticket::State::Expired(_))
    ));
    assert_eq!(start.elapsed(), Duration::from_hours(1));
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn instances_the_host_does_not_keep_take_their_inputs_in_memory() {
    instances_the_host_does_not_keep_take_their_events_timers_and_retries(std::sync::Arc::new(
        workflow_core::store::MemoryStore::new(),
    ))
    .await;
}

#[tokio::test(start_paused = true)]
async fn instances_the_host_does_not_keep_take_their_inputs_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = workflow_core::store::SqliteStore::open(dir.path().join("tickets.sqlite")).unwrap();
    instances_the_host_does_not_keep_take_their_events_timers_and_retries(std::sync::Arc::new(
        store,
    ))
    .await;
}

/// Instances handed back with their timers due one after another: the host registers one
/// sweep for the earliest, and each sweep finds the next in the store.
async fn timers_of_instances_out_of_memory_fire_each_on_time(
    store: std::sync::Arc<dyn workflow_core::store::Store>,
) {
    let runtime = cold(Desk::new(), store);
    let start = tokio::time::Instant::now();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            runtime
                .start_with_id(format!("T-{n}"), open("forgotten"))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_mins(10)).await;
    }
    for (n, id) in (0_u32..).zip(&ids) {
        let outcome = tokio::time::timeout(Duration::from_hours(3), runtime.outcome(id))
            .await
            .expect("the timer fires");
        assert!(matches!(
            outcome.unwrap(),
            Outcome::Completed(ticket::State::Expired(_))
        ));
        assert_eq!(
            start.elapsed(),
            Duration::from_hours(1) + Duration::from_mins(10) * n,
            "{id} expires an hour after it was opened"
        );
    }
    runtime.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn timers_of_instances_out_of_memory_fire_each_on_time_in_memory() {
    timers_of_instances_out_of_memory_fire_each_on_time(std::sync::Arc::new(
        workflow_core::store::MemoryStore::new(),
    ))
    .await;
}

#[tokio::test(start_paused = true)]
async fn timers_of_instances_out_of_memory_fire_each_on_time_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = workflow_core::store::SqliteStore::open(dir.path().join("tickets.sqlite")).unwrap();
    timers_of_instances_out_of_memory_fire_each_on_time(std::sync::Arc::new(store)).await;
}
