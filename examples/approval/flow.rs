//! Scenario S4, multi-level approval with a threshold: the flow and fake approval activities,
//! shared by the `approval` example and the S4 tests.
//!
//! Submitted -> supervisor -> (above 10,000.00: department manager) -> finance -> approved.
//! Every approver may reject. Each approval is an event naming the approver; the decisions,
//! in order, end up in the final state.

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::testing::{CallLog, Fault};

/// What is to be approved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub title: String,
    /// In cents.
    pub amount: u64,
}

/// One approver's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub by: String,
    pub role: String,
    pub approved: bool,
}

/// The supervisor approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisorApproval {
    pub by: String,
}

/// The department manager approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerApproval {
    pub by: String,
}

/// Finance approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinanceApproval {
    pub by: String,
}

/// Whoever is asked rejects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub by: String,
}

/// Amounts above this (10,000.00) also need the department manager.
pub const MANAGER_THRESHOLD: u64 = 1_000_000;

workflow! {
    /// Scenario S4: approvers in turn, the department manager only above the threshold.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Approval {
        initial Submitted    { request: Request }
        state   AtSupervisor { request: Request, history: Vec<Decision> }
        state   AtManager    { request: Request, history: Vec<Decision> }
        state   AtFinance    { request: Request, history: Vec<Decision> }
        final   Approved     { request: Request, history: Vec<Decision> }
        final   Rejected     { request: Request, history: Vec<Decision> }

        route:               Submitted -> AtSupervisor;
        supervisor_approves: AtSupervisor -> AtManager | AtFinance, on SupervisorApproval;
        manager_approves:    AtManager -> AtFinance, on ManagerApproval;
        finance_approves:    AtFinance -> Approved, on FinanceApproval;
        reject:              AtSupervisor | AtManager | AtFinance -> Rejected, on Rejection;
    }
}

use approval::{Approved, AtFinance, AtManager, AtSupervisor, Rejected, Submitted};

/// The approval activities: they record each decision.
#[derive(Debug, Default)]
pub struct Approvals {
    pub log: CallLog,
}

fn decided(history: &[Decision], by: &str, role: &str, approved: bool) -> Vec<Decision> {
    let mut history = history.to_vec();
    history.push(Decision {
        by: by.to_string(),
        role: role.to_string(),
        approved,
    });
    tracing::info!(by, role, approved, "decision");
    history
}

impl approval::Activities for Approvals {
    type Error = Fault;

    async fn route(&self, from: &Submitted, ctx: &StepCtx) -> Result<AtSupervisor, Fault> {
        self.log.call(ctx)?;
        Ok(AtSupervisor {
            request: from.request.clone(),
            history: Vec::new(),
        })
    }

    async fn supervisor_approves(
        &self,
        from: &AtSupervisor,
        event: &SupervisorApproval,
        ctx: &StepCtx,
    ) -> Result<approval::SupervisorApprovesTo, Fault> {
        self.log.call(ctx)?;
        let history = decided(&from.history, &event.by, "supervisor", true);
        let request = from.request.clone();
        Ok(if request.amount > MANAGER_THRESHOLD {
            AtManager { request, history }.into()
        } else {
            AtFinance { request, history }.into()
        })
    }

    async fn manager_approves(
        &self,
        from: &AtManager,
        event: &ManagerApproval,
        ctx: &StepCtx,
    ) -> Result<AtFinance, Fault> {
        self.log.call(ctx)?;
        Ok(AtFinance {
            request: from.request.clone(),
            history: decided(&from.history, &event.by, "manager", true),
        })
    }

    async fn finance_approves(
        &self,
        from: &AtFinance,
        event: &FinanceApproval,
        ctx: &StepCtx,
    ) -> Result<Approved, Fault> {
        self.log.call(ctx)?;
        Ok(Approved {
            request: from.request.clone(),
            history: decided(&from.history, &event.by, "finance", true),
        })
    }

    async fn reject(
        &self,
        from: approval::RejectFrom<'_>,
        event: &Rejection,
        ctx: &StepCtx,
    ) -> Result<Rejected, Fault> {
        self.log.call(ctx)?;
        let (request, history, role) = match from {
            approval::RejectFrom::AtSupervisor(s) => (&s.request, &s.history, "supervisor"),
            approval::RejectFrom::AtManager(s) => (&s.request, &s.history, "manager"),
            approval::RejectFrom::AtFinance(s) => (&s.request, &s.history, "finance"),
        };
        Ok(Rejected {
            request: request.clone(),
            history: decided(history, &event.by, role, false),
        })
    }
}

/// A request for `amount` cents.
pub fn submitted(title: &str, amount: u64) -> Submitted {
    Submitted {
        request: Request {
            title: title.to_string(),
            amount,
        },
    }
}
