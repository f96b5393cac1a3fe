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
