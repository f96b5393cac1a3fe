//! Scenario S4, multi-level approval with a threshold, run by the driver, with the flow of the
//! `approval` example.

#[path = "../examples/approval/flow.rs"]
mod flow;

use flow::{
    Approvals, Decision, FinanceApproval, ManagerApproval, Rejection, SupervisorApproval, approval,
    submitted,
};
use workflow_core::InstanceId;
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};

type Approvers = Runtime<approval::Flow, Approvals>;

fn decision(by: &str, role: &str, approved: bool) -> Decision {
    Decision {
        by: by.into(),
        role: role.into(),
        approved,
    }
}

async fn approved(runtime: &Approvers, id: &InstanceId) -> Vec<Decision> {
    match runtime.outcome(id).await.unwrap() {
        Outcome::Completed(approval::State::Approved(approved)) => approved.history,
        other => panic!("expected Approved, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn an_amount_of_5000_skips_the_department_manager() {
    let runtime = Approvers::new(Approvals::default());
    let id = runtime.start(submitted("laptop", 500_000)).await.unwrap();
    runtime
        .send(&id, SupervisorApproval { by: "sam".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(runtime.state(&id).await.unwrap().name(), "AtFinance");
    runtime
        .send(&id, FinanceApproval { by: "fiona".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(
        approved(&runtime, &id).await,
        [
            decision("sam", "supervisor", true),
            decision("fiona", "finance", true)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_amount_of_50000_needs_the_department_manager() {
    let runtime = Approvers::new(Approvals::default());
    let id = runtime.start(submitted("vans", 5_000_000)).await.unwrap();
    runtime
        .send(&id, SupervisorApproval { by: "sam".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(runtime.state(&id).await.unwrap().name(), "AtManager");
    runtime
        .send(&id, ManagerApproval { by: "maya".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    runtime
        .send(&id, FinanceApproval { by: "fiona".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(
        approved(&runtime, &id).await,
        [
            decision("sam", "supervisor", true),
            decision("maya", "manager", true),
            decision("fiona", "finance", true)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_approval_for_another_approver_is_refused_and_changes_nothing() {
    let runtime = Approvers::new(Approvals::default());
    let id = runtime
        .start_with_id("vans", submitted("vans", 5_000_000))
        .await
        .unwrap();
    runtime
        .send(&id, SupervisorApproval { by: "sam".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    let history_before = runtime.history(&id).await.unwrap().len();
    let refused = runtime
        .send(&id, FinanceApproval { by: "fiona".into() })
        .await
        .unwrap_err();
    let RuntimeError::NotAccepted {
        state,
        event,
        accepted,
        ..
    } = &refused.error
    else {
        panic!("{refused}")
    };
    assert_eq!(
        (*state, *event, accepted.as_str()),
        (
            "AtManager",
            "FinanceApproval",
            "`ManagerApproval`, `Rejection`"
        )
    );
    assert_eq!(
        refused.into_value(),
        approval::Event::FinanceApproval(FinanceApproval { by: "fiona".into() })
    );
    assert_eq!(
        runtime.history(&id).await.unwrap().len(),
        history_before,
        "nothing recorded"
    );
    assert_eq!(runtime.state(&id).await.unwrap().name(), "AtManager");
    assert_eq!(runtime.activities().log.count("finance_approves"), 0);
}

#[tokio::test(start_paused = true)]
async fn any_approver_may_reject_and_the_history_shows_who() {
    let runtime = Approvers::new(Approvals::default());
    let id = runtime.start(submitted("vans", 5_000_000)).await.unwrap();
    runtime
        .send(&id, SupervisorApproval { by: "sam".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    runtime
        .send(&id, Rejection { by: "maya".into() })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    let Outcome::Completed(approval::State::Rejected(rejected)) =
        runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        rejected.history,
        [
            decision("sam", "supervisor", true),
            decision("maya", "manager", false)
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_each_chain_of_approvals_ends_the_same() {
    use std::time::Duration;
    use workflow_core::testing::crash_check_with;

    let minutes = Duration::from_mins;
    let by = |name: &str| name.to_string();
    let supervisor = approval::Event::from(SupervisorApproval { by: by("sam") });
    let manager = approval::Event::from(ManagerApproval { by: by("mia") });
    let finance = approval::Event::from(FinanceApproval { by: by("fay") });
    let rejection = approval::Event::from(Rejection { by: by("fay") });
    for (amount, events, writes) in [
        // Under the threshold: supervisor, then finance. Created and routed; then each event
        // posted, taken, and its step landed.
        (
            500_000,
            vec![
                (minutes(1), supervisor.clone()),
                (minutes(2), finance.clone()),
            ],
            8,
        ),
        // Above it: the manager too.
        (
            2_000_000,
            vec![
                (minutes(1), supervisor.clone()),
                (minutes(2), manager),
                (minutes(3), finance),
            ],
            11,
        ),
        // Rejected by finance.
        (
            500_000,
            vec![(minutes(1), supervisor), (minutes(2), rejection)],
            8,
        ),
    ] {
        let checked = crash_check_with::<approval::Flow, _>(
            submitted("laptop", amount),
            |log| Approvals { log },
            &events,
        )
        .await
        .unwrap();
        assert_eq!(
            (checked.writes, checked.points),
            (writes, writes - 1),
            "{amount}"
        );
    }
}
