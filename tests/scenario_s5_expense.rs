//! Scenario S5, expense approval with a timeout, run by the driver in virtual time, with the
//! flow of the `expense` example.

#[path = "../examples/expense/flow.rs"]
mod flow;

use std::time::Duration;

use flow::{Approve, Expenses, Reject, created, expense};
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};
use workflow_core::store::Status;

type Claims = Runtime<expense::Flow, Expenses>;

#[tokio::test(start_paused = true)]
async fn approved_in_time_is_paid_and_completed() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime.start(created("ann", 12_000)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(9)).await;
    runtime
        .send(&id, Approve { by: "dana".into() })
        .await
        .unwrap();
    let Outcome::Completed(expense::State::Completed(done)) = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(done.payment, "payout-ann");
    runtime
        .activities()
        .log
        .assert_steps(&["submit", "approve", "pay"]);
}

#[tokio::test(start_paused = true)]
async fn rejected_means_no_payment() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime.start(created("bob", 99_000)).await.unwrap();
    runtime
        .send(
            &id,
            Reject {
                by: "dana".into(),
                reason: "no receipt".into(),
            },
        )
        .await
        .unwrap();
    let Outcome::Completed(expense::State::Rejected(rejected)) =
        runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(rejected.reason, "no receipt");
    assert_eq!(runtime.activities().log.count("pay"), 0);
}

#[tokio::test(start_paused = true)]
async fn no_answer_in_10s_times_out_without_payment() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime.start(created("cat", 4_500)).await.unwrap();
    let finished = runtime.outcome(&id).await.unwrap();
    assert_eq!(finished.state().name(), "TimedOut");
    let log = runtime.activities().log.calls();
    assert_eq!(
        (log[1].step.as_str(), log[1].at),
        ("time_out", Duration::from_secs(10))
    );
    assert_eq!(runtime.activities().log.count("pay"), 0);
}

#[tokio::test(start_paused = true)]
async fn an_approval_an_hour_late_finds_the_flow_timed_out() {
    let runtime = Claims::new(Expenses::default());
    let id = runtime
        .start_with_id("cat", created("cat", 4_500))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_hours(1)).await;
    let refused = runtime
        .send(&id, Approve { by: "dana".into() })
        .await
        .unwrap_err();
    assert!(matches!(
        refused.error,
        RuntimeError::Ended {
            status: Status::Completed,
            state: "TimedOut",
            ..
        }
    ));
    assert_eq!(runtime.activities().log.count("approve"), 0);
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_each_answer_and_the_timeout_end_the_same() {
    use workflow_core::testing::crash_check_with;

    let approve = expense::Event::from(Approve { by: "dana".into() });
    let reject = expense::Event::from(Reject {
        by: "dana".into(),
        reason: "no receipt".into(),
    });
    let nine = Duration::from_secs(9);
    for (events, writes) in [
        // Approved at 9 s, then paid: created, submitted, the event posted, taken, approved,
        // paid.
        (vec![(nine, approve.clone())], 6),
        // Rejected: created, submitted, the event posted, taken, rejected.
        (vec![(nine, reject)], 5),
        // No answer: the timer fires at 10 s (its record, then its step's), and an approval an
        // hour late is refused, in every run.
        (vec![(Duration::from_hours(1), approve)], 4),
    ] {
        let checked = crash_check_with::<expense::Flow, _>(
            created("ann", 12_000),
            |log| Expenses { log },
            &events,
        )
        .await
        .unwrap();
        assert_eq!(
            (checked.writes, checked.points),
            (writes, writes - 1),
            "{events:?}"
        );
    }
}

/// The generated paths: approved, rejected or timed out while waiting, each step failing,
/// and a cancel while the claim waits for its approver.
#[tokio::test(start_paused = true)]
async fn every_generated_path_ends_as_it_says() {
    use workflow_core::testing::{PathRunner, paths};

    let paths = paths(&expense::DEFINITION);
    let described: Vec<String> = paths.iter().map(ToString::to_string).collect();
    let waiting = "Created -submit-> Waiting";
    assert_eq!(
        described,
        [
            format!("{waiting} -reject-> Rejected: completed in Rejected"),
            "Created -submit fails-> failed in Created (submit failed)".into(),
            format!("{waiting} -approve-> Approved -pay-> Completed: completed in Completed"),
            format!("{waiting} -approve fails-> failed in Waiting (approve failed)"),
            format!("{waiting} -reject fails-> failed in Waiting (reject failed)"),
            format!("{waiting} -time_out-> TimedOut: completed in TimedOut"),
            format!("{waiting} -time_out fails-> failed in Waiting (time_out failed)"),
            format!("{waiting} -cancel-> cancelled in Waiting"),
            format!("{waiting} -approve-> Approved -pay fails-> failed in Approved (pay failed)"),
            format!("{waiting} -approve-> Approved -cancel-> cancelled in Approved"),
        ]
    );
    let runner = PathRunner::<expense::Flow>::new(|_| created("eve", 12_000)).events(
        |_, event| -> expense::Event {
            match event {
                "Approve" => Approve { by: "dana".into() }.into(),
                _ => Reject {
                    by: "dana".into(),
                    reason: "no receipt".into(),
                }
                .into(),
            }
        },
    );
    let checked = runner
        .run_all(&paths, |log| Expenses { log })
        .await
        .unwrap();
    assert_eq!((checked.paths, checked.moves), (10, 22));
}
