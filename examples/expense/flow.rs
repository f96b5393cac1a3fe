//! Scenario S5, expense approval with a timeout: the flow and fake activities, shared by the
//! `expense` example and the S5 tests.
//!
//! Create the expense, wait at most 10s for an approve or reject event; approved: pay, and the
//! claim is Completed. Rejected, or no answer in time: no payment, it ends Rejected or `TimedOut`.

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::testing::{CallLog, Fault};

/// An expense claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub employee: String,
    /// In cents.
    pub amount: u64,
}

/// The approver says yes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approve {
    pub by: String,
}

/// The approver says no.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub by: String,
    pub reason: String,
}

workflow! {
    /// Scenario S5: an approver has 10 seconds to answer.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Expense {
        initial Created   { claim: Claim }
        state   Waiting   { claim: Claim }
        state   Approved  { claim: Claim, by: String }
        final   Completed { claim: Claim, payment: String }
        final   Rejected  { claim: Claim, by: String, reason: String }
        final   TimedOut  { claim: Claim }

        submit:   Created -> Waiting;
        approve:  Waiting -> Approved, on Approve;
        reject:   Waiting -> Rejected, on Reject;
        time_out: Waiting -> TimedOut, after(10s);
        pay:      Approved -> Completed, retry(3, 1s..10s), timeout(30s);
    }
}

use expense::{Approved, Completed, Created, Rejected, TimedOut, Waiting};

/// The expense activities.
#[derive(Debug, Default)]
pub struct Expenses {
    pub log: CallLog,
}

impl expense::Activities for Expenses {
    type Error = Fault;

    async fn submit(&self, from: &Created, ctx: &StepCtx) -> Result<Waiting, Fault> {
        self.log.call(ctx)?;
        tracing::info!(employee = %from.claim.employee, "expense submitted; waiting for an answer");
        Ok(Waiting {
            claim: from.claim.clone(),
        })
    }
    async fn approve(
        &self,
        from: &Waiting,
        event: &Approve,
        ctx: &StepCtx,
    ) -> Result<Approved, Fault> {
        self.log.call(ctx)?;
        Ok(Approved {
            claim: from.claim.clone(),
            by: event.by.clone(),
        })
    }
    async fn reject(
        &self,
        from: &Waiting,
        event: &Reject,
        ctx: &StepCtx,
    ) -> Result<Rejected, Fault> {
        self.log.call(ctx)?;
        Ok(Rejected {
            claim: from.claim.clone(),
            by: event.by.clone(),
            reason: event.reason.clone(),
        })
    }
    async fn time_out(&self, from: &Waiting, ctx: &StepCtx) -> Result<TimedOut, Fault> {
        self.log.call(ctx)?;
        tracing::warn!(employee = %from.claim.employee, "no answer in time");
        Ok(TimedOut {
            claim: from.claim.clone(),
        })
    }
    async fn pay(&self, from: &Approved, ctx: &StepCtx) -> Result<Completed, Fault> {
        self.log.call(ctx)?;
        Ok(Completed {
            claim: from.claim.clone(),
            payment: format!("payout-{}", from.claim.employee),
        })
    }
}

/// A claim by `employee` for `amount` cents.
pub fn created(employee: &str, amount: u64) -> Created {
    Created {
        claim: Claim {
            employee: employee.to_string(),
            amount,
        },
    }
}
