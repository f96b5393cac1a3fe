//! Scenario S6, loan decision with parallel checks: credit check, income check and asset
//! appraisal run at the same time (the product of three steps); the decision needs all three.
//! If one fails, the others' completed work is undone and the loan ends Failed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use workflow_core::combinators::adapt;
use workflow_core::prelude::*;
use workflow_core::{Aborted, Entry};

/// A loan application.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub applicant: String,
    pub amount: u64,
}

workflow! {
    /// A credit bureau inquiry, withdrawn if the loan does not go ahead.
    #[derive(Debug, Clone, PartialEq)]
    pub Credit {
        initial Requested { application: Application }
        final   Scored    { score: u32 }
        check_credit: Requested -> Scored undo withdraw_inquiry;
    }
}

workflow! {
    /// Income verified with the employer.
    #[derive(Debug, Clone, PartialEq)]
    pub Income {
        initial Requested { application: Application }
        final   Verified  { monthly: u64 }
        check_income: Requested -> Verified undo forget_income;
    }
}

workflow! {
    /// An appraiser booked to value the collateral.
    #[derive(Debug, Clone, PartialEq)]
    pub Assets {
        initial Requested { application: Application }
        final   Appraised { value: u64 }
        appraise: Requested -> Appraised undo cancel_appraisal;
    }
}

workflow! {
    /// The decision, once every check is in.
    #[derive(Debug, Clone, PartialEq)]
    pub Decision {
        initial Gathered { application: Application, score: u32, monthly: u64, value: u64 }
        final   Granted  { amount: u64 }
        final   Declined { reason: String }
        decide: Gathered -> Granted | Declined;
    }
}

/// Fake bureau, employer, appraiser and underwriter; records calls, fails the ones named.
#[derive(Default)]
struct Lender {
    calls: Mutex<Vec<&'static str>>,
    failing: BTreeSet<&'static str>,
}

impl Lender {
    fn failing(step: &'static str) -> Self {
        Self {
            failing: BTreeSet::from([step]),
            ..Self::default()
        }
    }

    fn call(&self, step: &'static str) -> Result<(), String> {
        self.calls.lock().unwrap().push(step);
        if self.failing.contains(step) {
            Err(format!("{step} failed"))
        } else {
            Ok(())
        }
    }

    /// The calls, sorted: the checks run at the same time.
    fn calls(&self) -> Vec<&'static str> {
        let mut calls = self.calls.lock().unwrap().clone();
        calls.sort_unstable();
        calls
    }
}

impl credit::Activities for Lender {
    type Error = String;
    async fn check_credit(
        &self,
        _: &credit::Requested,
        _: &StepCtx,
    ) -> Result<credit::Scored, String> {
        self.call("check_credit")
            .map(|()| credit::Scored { score: 720 })
    }
    async fn withdraw_inquiry(&self, _: &credit::Scored, _: &StepCtx) -> Result<(), String> {
        self.call("withdraw_inquiry")
    }
}

impl income::Activities for Lender {
    type Error = String;
    async fn check_income(
        &self,
        _: &income::Requested,
        _: &StepCtx,
    ) -> Result<income::Verified, String> {
        self.call("check_income")
            .map(|()| income::Verified { monthly: 5_000 })
    }
    async fn forget_income(&self, _: &income::Verified, _: &StepCtx) -> Result<(), String> {
        self.call("forget_income")
    }
}

impl assets::Activities for Lender {
    type Error = String;
    async fn appraise(
        &self,
        _: &assets::Requested,
        _: &StepCtx,
    ) -> Result<assets::Appraised, String> {
        self.call("appraise")
            .map(|()| assets::Appraised { value: 300_000 })
    }
    async fn cancel_appraisal(&self, _: &assets::Appraised, _: &StepCtx) -> Result<(), String> {
        self.call("cancel_appraisal")
    }
}

impl decision::Activities for Lender {
    type Error = String;
    async fn decide(
        &self,
        from: &decision::Gathered,
        _: &StepCtx,
    ) -> Result<decision::DecideTo, String> {
        self.call("decide")?;
        if from.score >= 650 && from.value >= from.application.amount {
            Ok(decision::Granted {
                amount: from.application.amount,
            }
            .into())
        } else {
            Ok(decision::Declined {
                reason: "insufficient security".into(),
            }
            .into())
        }
    }
}

/// The loan as one step: split the application into three checks, run them in parallel,
/// gather their results, decide.
async fn apply(
    lender: &Lender,
    application: Application,
) -> Result<decision::DecideTo, Aborted<Application, String>> {
    let split = adapt(|app: &Application| {
        (
            (
                credit::Requested {
                    application: app.clone(),
                },
                income::Requested {
                    application: app.clone(),
                },
            ),
            assets::Requested {
                application: app.clone(),
            },
        )
    });
    let checks = credit::CheckCredit
        .par(income::CheckIncome)
        .par(assets::Appraise);
    let gather = adapt(
        |((scored, verified), appraised): &(
            (credit::Scored, income::Verified),
            assets::Appraised,
        )| {
            decision::Gathered {
                application: Application {
                    applicant: String::new(),
                    amount: 250_000,
                },
                score: scored.score,
                monthly: verified.monthly,
                value: appraised.value,
            }
        },
    );
    let loan = split.then(checks).then(gather).then(decision::Decide);
    loan.run(lender, application)
        .await
        .map(|(decided, _)| decided)
}

fn application() -> Application {
    Application {
        applicant: "Grace".into(),
        amount: 250_000,
    }
}

#[tokio::test]
async fn all_three_checks_pass_and_the_decision_uses_them() {
    let lender = Lender::default();
    let decided = apply(&lender, application()).await.unwrap();
    assert_eq!(
        decided,
        decision::DecideTo::Granted(decision::Granted { amount: 250_000 })
    );
    assert_eq!(
        lender.calls(),
        ["appraise", "check_credit", "check_income", "decide"]
    );
}

#[tokio::test]
async fn the_income_check_fails_so_the_other_two_are_undone() {
    let lender = Lender::failing("check_income");
    let aborted = apply(&lender, application()).await.unwrap_err();
    assert_eq!(
        (aborted.step, aborted.error.as_str()),
        ("check_income", "check_income failed")
    );
    assert_eq!(
        lender.calls(),
        [
            "appraise",
            "cancel_appraisal",
            "check_credit",
            "check_income",
            "withdraw_inquiry"
        ],
        "each completed check undone once; no decision"
    );
    let mut undone = aborted.report.undone_steps();
    undone.sort_unstable();
    assert_eq!(undone, ["cancel_appraisal", "withdraw_inquiry"]);
    assert_eq!(
        aborted.input,
        Some(application()),
        "everything undone: the application comes back"
    );
}

#[tokio::test]
async fn the_appraisal_fails_so_both_checks_are_undone() {
    let lender = Lender::failing("appraise");
    let aborted = apply(&lender, application()).await.unwrap_err();
    assert_eq!(aborted.step, "appraise");
    assert_eq!(
        lender.calls(),
        [
            "appraise",
            "check_credit",
            "check_income",
            "forget_income",
            "withdraw_inquiry"
        ]
    );
}

#[tokio::test]
async fn a_failed_undo_leaves_the_loan_failed_without_its_input() {
    let lender = Lender {
        failing: BTreeSet::from(["check_income", "withdraw_inquiry"]),
        ..Lender::default()
    };
    let aborted = apply(&lender, application()).await.unwrap_err();
    assert_eq!(
        aborted.error, "check_income failed",
        "the original error is kept"
    );
    assert!(aborted.report.entries().iter().any(|e| *e
        == Entry::UndoFailed {
            undo: "withdraw_inquiry",
            error: "withdraw_inquiry failed".to_string()
        }));
    assert_eq!(aborted.input, None);
}

#[tokio::test]
async fn when_the_decision_fails_every_check_is_undone() {
    let lender = Lender::failing("decide");
    let aborted = apply(&lender, application()).await.unwrap_err();
    assert_eq!(aborted.step, "decide");
    assert_eq!(
        lender.calls(),
        [
            "appraise",
            "cancel_appraisal",
            "check_credit",
            "check_income",
            "decide",
            "forget_income",
            "withdraw_inquiry"
        ]
    );
}
