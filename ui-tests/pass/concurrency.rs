//! Transitions made of parts: `parallel(..)` branches, one with its own undo, retry and
//! timeout, and `each(..)` over a `Vec` field of the source state with an undo per item; also
//! a `parallel(..)` taken on an event. Used through the typestate API: every part runs in
//! process, and when one fails the parts that completed are undone.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::{Parts, Trigger, Wait};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    pub score: u32,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Income {
    pub yearly: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Appraisal {
    pub value: u64,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub n: u32,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub line: u32,
}
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdraw {
    pub why: String,
}

workflow! {
    /// A loan: three checks at once, then one hold per line of collateral.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Loan {
        initial Applied   { applicant: String, lines: Vec<Line> }
        state   Checked   { applicant: String, score: u32, lines: Vec<Line> }
        state   Reserved  { applicant: String, holds: Vec<Hold> }
        final   Granted   { applicant: String, holds: u32 }
        final   Withdrawn { why: String, notified: bool }

        /// Three checks at the same time.
        check: Applied -> Checked,
            parallel(
                credit: Credit undo void_credit retry(3, 1s..10s) timeout(5s),
                income: Income,
                appraisal: Appraisal
            ),
            join(checked);
        reserve: Checked -> Reserved, each(lines, 4, reserve_line: Hold undo release_line), join(reserved);
        grant:   Reserved -> Granted;
        withdraw: Applied | Checked -> Withdrawn, on Withdraw, parallel(notify: bool, archive: u32), join(withdrawn);
    }
}

use loan::{Applied, Checked, Granted, Reserved, Withdrawn, WithdrawFrom};

fn checked(from: &Applied, credit: Credit, income: Income, appraisal: Appraisal) -> Checked {
    assert!(income.yearly > 0 && appraisal.value > 0);
    Checked { applicant: from.applicant.clone(), score: credit.score, lines: from.lines.clone() }
}

fn reserved(from: &Checked, holds: Vec<Hold>) -> Reserved {
    Reserved { applicant: from.applicant.clone(), holds }
}

fn withdrawn(_: WithdrawFrom<'_>, event: &Withdraw, notify: bool, archive: u32) -> Withdrawn {
    assert_eq!(archive, 1);
    Withdrawn { why: event.why.clone(), notified: notify }
}

/// Fake services: a line numbered `failing_line`, or the appraisal if `failing_appraisal`,
/// fails; every call is logged.
#[derive(Default)]
struct Services {
    failing_line: Option<u32>,
    failing_appraisal: bool,
    log: Mutex<Vec<String>>,
}

impl Services {
    fn log(&self, call: String) {
        self.log.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        let mut calls = self.log.lock().unwrap().clone();
        // Parts run at the same time: their order is not part of the contract.
        calls.sort();
        calls
    }
}

impl loan::Activities for Services {
    type Error = String;

    fn retryable(_: &String) -> bool {
        false
    }

    async fn credit(&self, from: &Applied, _: &StepCtx) -> Result<Credit, String> {
        self.log(format!("credit {}", from.applicant));
        Ok(Credit { score: 700 })
    }

    async fn income(&self, _: &Applied, _: &StepCtx) -> Result<Income, String> {
        self.log("income".into());
        Ok(Income { yearly: 50_000 })
    }

    async fn appraisal(&self, _: &Applied, _: &StepCtx) -> Result<Appraisal, String> {
        self.log("appraisal".into());
        if self.failing_appraisal {
            return Err("appraiser unavailable".into());
        }
        Ok(Appraisal { value: 200_000 })
    }

    async fn void_credit(&self, output: &Credit, _: &StepCtx) -> Result<(), String> {
        self.log(format!("void_credit {}", output.score));
        Ok(())
    }

    async fn reserve_line(&self, _: &Checked, item: &Line, _: &StepCtx) -> Result<Hold, String> {
        self.log(format!("reserve_line {}", item.n));
        if self.failing_line == Some(item.n) {
            return Err(format!("line {} refused", item.n));
        }
        Ok(Hold { line: item.n })
    }

    async fn release_line(&self, output: &Hold, _: &StepCtx) -> Result<(), String> {
        self.log(format!("release_line {}", output.line));
        Ok(())
    }

    async fn grant(&self, from: &Reserved, _: &StepCtx) -> Result<Granted, String> {
        Ok(Granted { applicant: from.applicant.clone(), holds: u32::try_from(from.holds.len()).unwrap() })
    }

    async fn notify(&self, _: WithdrawFrom<'_>, event: &Withdraw, _: &StepCtx) -> Result<bool, String> {
        self.log(format!("notify {}", event.why));
        Ok(true)
    }

    async fn archive(&self, _: WithdrawFrom<'_>, _: &Withdraw, _: &StepCtx) -> Result<u32, String> {
        self.log("archive".into());
        Ok(1)
    }
}

fn applied(lines: u32) -> Applied {
    Applied { applicant: "ada".into(), lines: (1..=lines).map(|n| Line { n }).collect() }
}

fn definition() {
    let t = loan::DEFINITION.transitions();
    let Some(Parts::Branches(branches)) = t[0].parts() else { panic!("check has branches") };
    let names: Vec<_> = branches.iter().map(|b| b.name()).collect();
    assert_eq!(names, ["credit", "income", "appraisal"]);
    assert_eq!(branches[0].retry().map(|r| r.attempts()), Some(3));
    assert_eq!(branches[0].timeout(), Some(Wait::Fixed(Duration::from_secs(5))));
    assert!(branches[0].undo().is_some());
    assert!(branches[1].retry().is_none() && branches[1].undo().is_none());
    let Some(Parts::Each(each)) = t[1].parts() else { panic!("reserve has an each") };
    assert_eq!((each.field(), each.at_most(), each.activity()), ("lines", 4, "reserve_line"));
    assert!(each.undo().is_some());
    assert!(matches!(t[3].trigger(), Trigger::On { .. }));
    assert!(matches!(t[3].parts(), Some(Parts::Branches(b)) if b.len() == 2));
}

fn main() {
    definition();
    futures::executor::block_on(async {
        // Every part runs; the joins build the targets.
        let services = Services::default();
        let checked = applied(3).check(&services).await.unwrap();
        assert_eq!(checked.score, 700);
        let reserved = checked.reserve(&services).await.unwrap();
        let lines: Vec<u32> = reserved.holds.iter().map(|h| h.line).collect();
        assert_eq!(lines, [1, 2, 3], "the outputs come in the items' order");
        let granted = reserved.grant(&services).await.unwrap();
        assert_eq!(granted.holds, 3);
        assert_eq!(
            services.calls(),
            ["appraisal", "credit ada", "income", "reserve_line 1", "reserve_line 2", "reserve_line 3"]
        );

        // A branch fails: the branch that completed and has an undo is undone, the source handed back.
        let services = Services { failing_appraisal: true, ..Services::default() };
        let failed = applied(1).check(&services).await.unwrap_err();
        assert_eq!(failed.error, "appraiser unavailable");
        assert_eq!(failed.state, applied(1));
        assert_eq!(services.calls(), ["appraisal", "credit ada", "income", "void_credit 700"]);

        // An item fails: every item reserved is released.
        let services = Services { failing_line: Some(2), ..Services::default() };
        let checked = Checked { applicant: "ada".into(), score: 1, lines: vec![Line { n: 1 }, Line { n: 2 }] };
        let failed = checked.clone().reserve(&services).await.unwrap_err();
        assert_eq!(failed.error, "line 2 refused");
        assert_eq!(failed.state, checked);
        assert_eq!(services.calls(), ["release_line 1", "reserve_line 1", "reserve_line 2"]);

        // Branches taken on an event, from either source.
        let services = Services::default();
        let event = Withdraw { why: "moved".into() };
        let withdrawn = checked.withdraw(&services, &event).await.unwrap();
        assert_eq!(withdrawn, Withdrawn { why: "moved".into(), notified: true });
        let withdrawn = applied(0).withdraw(&services, &event).await.unwrap();
        assert!(withdrawn.notified);
    });
}
