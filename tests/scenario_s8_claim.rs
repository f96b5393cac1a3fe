//! Scenario S8, an insurance claim: assess (3 attempts, waiting 1s then 2s), then pay out.
//! When the assessment fails for good, the claim is caught into `ManualReview` holding the
//! failure, and waits for a reviewer's decision: approve pays out, reject ends it `Rejected`.
//! An error the assessor marks as not worth retrying (the policy does not exist) skips the
//! remaining attempts. Run by the driver in virtual time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};
use workflow_core::store::RecordKind;
use workflow_core::testing::CallLog;
use workflow_core::{Failure, FailureKind};

/// What the reviewer decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub approve: bool,
    pub payout: u64,
    pub note: String,
}

workflow! {
    /// Scenario S8: retry, then catch.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub InsuranceClaim {
        initial Filed        { policy: String, amount: u64 }
        state   Assessed     { policy: String, payout: u64 }
        state   ManualReview { policy: String, amount: u64, step: String, attempts: u32, reason: String }
        final   Closed       { policy: String, paid: u64 }
        final   Rejected     { policy: String, note: String }

        assess:  Filed -> Assessed, retry(3, 1s..4s), catch(ManualReview, to_review);
        pay_out: Assessed -> Closed;
        review:  ManualReview -> Assessed | Rejected, on Decision, guard(by_reviewer);
    }
}

use insurance_claim::{
    Assessed, Closed, Filed, ManualReview, Rejected, ReviewTo, State as ClaimState,
};

/// The catch: the claim as it was filed, with what failed.
fn to_review(from: &Filed, failure: Failure) -> ManualReview {
    ManualReview {
        policy: from.policy.clone(),
        amount: from.amount,
        step: failure.step().to_string(),
        attempts: failure.attempt(),
        reason: failure.message,
    }
}

/// The reviewer's decision, applied with no activity.
fn by_reviewer(from: &ManualReview, decision: &Decision) -> ReviewTo {
    if decision.approve {
        Assessed {
            policy: from.policy.clone(),
            payout: decision.payout,
        }
        .into()
    } else {
        Rejected {
            policy: from.policy.clone(),
            note: decision.note.clone(),
        }
        .into()
    }
}

/// Why an assessment fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessError {
    #[error("the assessor is unavailable")]
    Unavailable,
    #[error("policy {0} not found")]
    PolicyNotFound(String),
}

/// An assessor that fails its first `failures` calls, or always for an unknown policy.
#[derive(Debug, Default)]
pub struct Assessor {
    pub log: CallLog,
    failures: AtomicU32,
}

impl Assessor {
    fn failing(failures: u32) -> Self {
        Self {
            failures: AtomicU32::new(failures),
            ..Self::default()
        }
    }
}

impl insurance_claim::Activities for Assessor {
    type Error = AssessError;

    fn retryable(error: &AssessError) -> bool {
        !matches!(error, AssessError::PolicyNotFound(_))
    }

    async fn assess(&self, from: &Filed, ctx: &StepCtx) -> Result<Assessed, AssessError> {
        // Faults a test injects through the log (the generated paths' failures).
        self.log.call(ctx).map_err(|_| AssessError::Unavailable)?;
        if from.policy == "none" {
            return Err(AssessError::PolicyNotFound(from.policy.clone()));
        }
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(AssessError::Unavailable);
        }
        Ok(Assessed {
            policy: from.policy.clone(),
            payout: from.amount * 9 / 10,
        })
    }

    async fn pay_out(&self, from: &Assessed, ctx: &StepCtx) -> Result<Closed, AssessError> {
        // Faults a test injects through the log (the generated paths' failures).
        self.log.call(ctx).map_err(|_| AssessError::Unavailable)?;
        Ok(Closed {
            policy: from.policy.clone(),
            paid: from.payout,
        })
    }
}

type Claims = Runtime<insurance_claim::Flow, Assessor>;

fn filed(policy: &str) -> Filed {
    Filed {
        policy: policy.into(),
        amount: 1_000,
    }
}

/// The steps the assessor ran, with the attempt and the virtual second of each.
fn calls(runtime: &Claims) -> Vec<(String, u32, u64)> {
    runtime
        .activities()
        .log
        .calls()
        .into_iter()
        .map(|c| (c.step, c.attempt, c.at.as_secs()))
        .collect()
}

/// Waits until instance `id` stops in a state (its first waiting point), and returns it.
async fn settled(runtime: &Claims, id: &InstanceId) -> ClaimState {
    for _ in 0..1_000 {
        let state = runtime.state(id).await.unwrap();
        let history = runtime.history(id).await.unwrap();
        let waiting = matches!(
            history.last().map(|r| &r.kind),
            Some(RecordKind::Caught { .. })
        );
        if waiting {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("instance {id} never settled");
}

#[tokio::test(start_paused = true)]
async fn a_flaky_assessor_succeeds_on_the_third_attempt_and_the_claim_closes_without_review() {
    let runtime = Claims::new(Assessor::failing(2));
    let id = runtime.start(filed("p-1")).await.unwrap();
    let Outcome::Completed(ClaimState::Closed(closed)) = runtime.outcome(&id).await.unwrap() else {
        panic!("the claim closes")
    };
    assert_eq!(closed.paid, 900);
    assert_eq!(
        calls(&runtime),
        [
            ("assess".into(), 1, 0),
            ("assess".into(), 2, 1),
            ("assess".into(), 3, 3),
            ("pay_out".into(), 1, 3),
        ]
    );
    let history = runtime.history(&id).await.unwrap();
    assert!(
        !history
            .iter()
            .any(|r| matches!(r.kind, RecordKind::Caught { .. })),
        "no review"
    );
}

#[tokio::test(start_paused = true)]
async fn an_assessor_that_always_fails_sends_the_claim_to_review_after_three_attempts() {
    let runtime = Claims::new(Assessor::failing(u32::MAX));
    let id = runtime.start(filed("p-2")).await.unwrap();
    let ClaimState::ManualReview(review) = settled(&runtime, &id).await else {
        panic!("the claim waits for review")
    };
    assert_eq!(
        review,
        ManualReview {
            policy: "p-2".into(),
            amount: 1_000,
            step: "assess".into(),
            attempts: 3,
            reason: "the assessor is unavailable".into(),
        }
    );
    assert_eq!(
        calls(&runtime),
        [
            ("assess".into(), 1, 0),
            ("assess".into(), 2, 1),
            ("assess".into(), 3, 3),
        ],
        "waits of 1s, then 2s"
    );
    let list = runtime.list().await.unwrap();
    assert_eq!(
        list[0].status,
        workflow_core::store::Status::Running,
        "caught, not failed"
    );

    // The reviewer approves: the claim is paid out.
    runtime
        .send(
            &id,
            Decision {
                approve: true,
                payout: 700,
                note: "checked by hand".into(),
            },
        )
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    let Outcome::Completed(ClaimState::Closed(closed)) = runtime.outcome(&id).await.unwrap() else {
        panic!("the claim closes")
    };
    assert_eq!(closed.paid, 700);
    let kinds: Vec<String> = runtime
        .history(&id)
        .await
        .unwrap()
        .iter()
        .map(|r| match &r.kind {
            RecordKind::Started => "started".into(),
            RecordKind::AttemptFailed { failure, .. } => {
                format!(
                    "{} {} failed: {}",
                    failure.step(),
                    failure.attempt(),
                    failure.kind
                )
            }
            RecordKind::Caught { transition, .. } => {
                format!("{transition} caught -> {}", r.state_name)
            }
            RecordKind::EventAccepted { transition, .. } => format!("event for {transition}"),
            RecordKind::Decided { transition, branch } => format!("{transition} chose {branch}"),
            RecordKind::Transition { transition, .. } => {
                format!("{transition} -> {}", r.state_name)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "started",
            "assess 1 failed: activity error",
            "assess 2 failed: activity error",
            "assess 3 failed: activity error",
            "assess caught -> ManualReview",
            "event for review",
            "review chose Assessed",
            "pay_out -> Closed",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_rejection_in_review_ends_the_claim_rejected_without_paying() {
    let runtime = Claims::new(Assessor::failing(u32::MAX));
    let id = runtime.start(filed("p-3")).await.unwrap();
    settled(&runtime, &id).await;
    runtime
        .send(
            &id,
            Decision {
                approve: false,
                payout: 0,
                note: "not covered".into(),
            },
        )
        .await
        .unwrap();
    let Outcome::Completed(ClaimState::Rejected(rejected)) = runtime.outcome(&id).await.unwrap()
    else {
        panic!("the claim is rejected")
    };
    assert_eq!(rejected.note, "not covered");
    assert_eq!(runtime.activities().log.count("pay_out"), 0);
}

#[tokio::test(start_paused = true)]
async fn an_error_not_worth_retrying_goes_to_review_after_one_attempt() {
    let runtime = Claims::new(Assessor::default());
    let id = runtime.start(filed("none")).await.unwrap();
    let ClaimState::ManualReview(review) = settled(&runtime, &id).await else {
        panic!("the claim waits for review")
    };
    assert_eq!(
        (review.attempts, review.reason.as_str()),
        (1, "policy none not found")
    );
    assert_eq!(
        calls(&runtime),
        [("assess".into(), 1, 0)],
        "no retry, no wait"
    );
    let history = runtime.history(&id).await.unwrap();
    let failure = history
        .iter()
        .find_map(|r| match &r.kind {
            RecordKind::AttemptFailed {
                failure,
                retry_at_ms,
            } => Some((failure.kind, *retry_at_ms)),
            _ => None,
        })
        .unwrap();
    assert_eq!(failure, (FailureKind::Permanent, None));
}

#[tokio::test(start_paused = true)]
async fn typestate_guards_decide_without_activities() {
    let review = ManualReview {
        policy: "p-4".into(),
        amount: 10,
        step: "assess".into(),
        attempts: 3,
        reason: "down".into(),
    };
    let decision = Decision {
        approve: false,
        payout: 0,
        note: "no".into(),
    };
    let ReviewTo::Rejected(rejected) = review.review(&decision) else {
        panic!("rejected")
    };
    assert_eq!(rejected.note, "no");
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_each_claim_ends_the_same_with_each_call_once() {
    use workflow_core::testing::crash_check_with;

    let decision = |approve: bool| {
        insurance_claim::Event::from(Decision {
            approve,
            payout: 700,
            note: "checked by hand".into(),
        })
    };
    let minute = Duration::from_mins(1);
    // The assessor always fails: three attempts (two retry waits, then the catch), then the
    // reviewer's decision a minute in (posted; taken, the guard deciding), and the payout if
    // approved. An unknown policy goes to review after one attempt.
    for (policy, approve, writes) in [("p-1", true, 7), ("p-2", false, 6), ("none", true, 5)] {
        let events = [(minute, decision(approve))];
        let checked = crash_check_with::<insurance_claim::Flow, _>(
            filed(policy),
            |log| Assessor {
                log,
                failures: AtomicU32::new(u32::MAX),
            },
            &events,
        )
        .await
        .unwrap();
        assert_eq!(
            (checked.writes, checked.points),
            (writes, writes - 1),
            "{policy}"
        );
    }
}

/// The generated paths: the assessment landing or caught into review (after its three
/// attempts), the reviewer's decision either way (a guard on an event), the payout, each
/// failing, and a cancel while the claim waits for its review.
#[tokio::test(start_paused = true)]
async fn every_generated_path_ends_as_it_says() {
    use workflow_core::testing::{PathRunner, paths};

    let paths = paths(&insurance_claim::DEFINITION);
    let described: Vec<String> = paths.iter().map(ToString::to_string).collect();
    assert_eq!(
        described,
        [
            "Filed -assess-> Assessed -pay_out-> Closed: completed in Closed",
            "Filed -assess fails-> ManualReview -review-> Rejected: completed in Rejected",
            "Filed -assess-> Assessed -pay_out fails-> failed in Assessed (pay_out failed)",
            "Filed -assess-> Assessed -cancel-> cancelled in Assessed",
            "Filed -assess fails-> ManualReview -review-> Assessed -pay_out-> Closed: completed in Closed",
            "Filed -assess fails-> ManualReview -cancel-> cancelled in ManualReview",
        ]
    );
    let runner =
        PathRunner::<insurance_claim::Flow>::new(|_| filed("p-paths")).events(|path, _| Decision {
            approve: !path.takes("review", "Rejected"),
            payout: 700,
            note: "not covered".into(),
        });
    let checked = runner
        .run_all(&paths, |log| Assessor {
            log,
            ..Assessor::default()
        })
        .await
        .unwrap();
    assert_eq!((checked.paths, checked.moves), (6, 13));
}
