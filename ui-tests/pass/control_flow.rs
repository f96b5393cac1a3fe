//! Every control-flow form in one flow, used through the typestate API only: the flow's
//! derives (serde included) put no bound on its event types, which here implement nothing.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::{Failure, Trigger, Wait, workflow};

/// An event type with no derives at all.
pub struct NewPrice {
    pub cents: u64,
}

/// Another, to cancel.
pub struct Stop;

workflow! {
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Member {
        initial Trial   { trial: Duration, cents: u64 }
        state   Active  { cents: u64, grace: Duration }
        state   Review  { reason: String, grace: Duration }
        final   Charged { cents: u64 }
        final   Waived  {}

        begin:   Trial -> Active, after(trial), catch(Review, to_review);
        reprice: Active -> Active, on NewPrice, internal;
        charge:  Active -> Charged | Waived, guard(free_or_paid);
        decide:  Review -> Waived, timeout(grace), retry(2, 1s..2s);
        stop:    Trial | Active -> Waived, on Stop;
    }
}

fn to_review(_: &member::Trial, failure: Failure) -> member::Review {
    member::Review { reason: failure.message, grace: Duration::from_secs(60) }
}

fn free_or_paid(active: &member::Active) -> member::ChargeTo {
    if active.cents == 0 {
        member::ChargeTo::Waived(member::Waived {})
    } else {
        member::ChargeTo::Charged(member::Charged { cents: active.cents })
    }
}

fn main() {
    let active = member::Active { cents: 900, grace: Duration::from_secs(1) };
    let member::ChargeTo::Charged(charged) = active.charge() else { panic!("charged") };
    assert_eq!(charged.cents, 900);
    let t = member::DEFINITION.transitions();
    assert_eq!(t[0].trigger(), Trigger::After(Wait::Field("trial")));
    assert_eq!(t[0].catch().map(|c| c.state()), Some(2));
    assert!(t[1].is_internal());
    assert!(t[2].is_guarded());
}
