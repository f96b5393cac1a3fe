//! Scenario S9, a membership with per-member periods: the first charge comes after the
//! member's own trial, then one every `period`; a price change updates the price without
//! moving the next charge date (an internal transition), and a cancel ends it. Run by the
//! driver in virtual time, and across a restart on SQLite.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow_core::prelude::*;
use workflow_core::runtime::{Host, Outcome, Runtime};
use workflow_core::store::{MemoryStore, SqliteStore, Store};
use workflow_core::testing::{CallLog, Fault};

/// The member's new price, from the next charge on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChanged {
    pub price: u64,
}

/// The member leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel;

workflow! {
    /// Scenario S9: timers whose lengths come from the member's own data.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Membership {
        initial Joined { member: String, trial: Duration, period: Duration, price: u64 }
        state   Active { member: String, period: Duration, price: u64, charges: u32 }
        final   Ended  { member: String, charges: u32 }

        /// The first charge, when the member's trial is over.
        first_charge: Joined -> Active, after(trial);
        /// Every period: an ordinary transition back into `Active`, so the timer starts again.
        renew:        Active -> Active, after(period);
        /// A new price: the state's data changes, its timer keeps running.
        reprice:      Active -> Active, on PriceChanged, internal;
        cancel:       Joined | Active -> Ended, on Cancel;
    }
}

use membership::{Active, CancelFrom, Ended, Joined};

const DAY: Duration = Duration::from_hours(24);

/// The charges made, as (member, price, day).
#[derive(Debug, Clone, Default)]
pub struct Billing {
    pub log: CallLog,
    charges: Arc<std::sync::Mutex<Vec<(String, u64, u64)>>>,
}

impl Billing {
    fn charge(&self, member: &str, price: u64, ctx: &StepCtx) -> Result<(), Fault> {
        self.log.call(ctx)?;
        let day = self
            .log
            .calls()
            .last()
            .map_or(0, |c| c.at.as_secs() / DAY.as_secs());
        self.charges
            .lock()
            .unwrap()
            .push((member.to_string(), price, day));
        Ok(())
    }

    fn charges(&self) -> Vec<(String, u64, u64)> {
        self.charges.lock().unwrap().clone()
    }
}

impl membership::Activities for Billing {
    type Error = Fault;

    async fn first_charge(&self, from: &Joined, ctx: &StepCtx) -> Result<Active, Fault> {
        self.charge(&from.member, from.price, ctx)?;
        Ok(Active {
            member: from.member.clone(),
            period: from.period,
            price: from.price,
            charges: 1,
        })
    }

    async fn renew(&self, from: &Active, ctx: &StepCtx) -> Result<Active, Fault> {
        self.charge(&from.member, from.price, ctx)?;
        Ok(Active {
            charges: from.charges + 1,
            ..from.clone()
        })
    }

    async fn reprice(
        &self,
        from: &Active,
        event: &PriceChanged,
        ctx: &StepCtx,
    ) -> Result<Active, Fault> {
        self.log.call(ctx)?;
        Ok(Active {
            price: event.price,
            ..from.clone()
        })
    }

    async fn cancel(
        &self,
        from: CancelFrom<'_>,
        _: &Cancel,
        ctx: &StepCtx,
    ) -> Result<Ended, Fault> {
        self.log.call(ctx)?;
        Ok(match from {
            CancelFrom::Joined(joined) => Ended {
                member: joined.member.clone(),
                charges: 0,
            },
            CancelFrom::Active(active) => Ended {
                member: active.member.clone(),
                charges: active.charges,
            },
        })
    }
}

fn joined(member: &str, trial_days: u32) -> Joined {
    Joined {
        member: member.into(),
        trial: DAY * trial_days,
        period: DAY * 30,
        price: 10,
    }
}

type Members = Runtime<membership::Flow, Billing>;

/// A runtime on `store` whose lease (renewed three times per lease) is a day long: months of
/// virtual time pass in these tests, and renewing every 10 s would only slow them.
fn members(billing: Billing, store: Arc<dyn Store>) -> Members {
    Members::with_host(billing, Host::builder().store(store).lease(DAY))
}

fn memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

#[tokio::test(start_paused = true)]
async fn each_member_is_first_charged_when_their_own_trial_ends() {
    let runtime = members(Billing::default(), memory());
    let ann = runtime.start(joined("ann", 7)).await.unwrap();
    let bob = runtime.start(joined("bob", 30)).await.unwrap();
    tokio::time::sleep(DAY * 31).await;
    assert_eq!(
        runtime.activities().charges(),
        [("ann".into(), 10, 7), ("bob".into(), 10, 30)]
    );
    tokio::time::sleep(DAY * 30).await;
    assert_eq!(
        runtime.activities().charges()[2..],
        [("ann".into(), 10, 37), ("bob".into(), 10, 60)],
        "then every 30 days from the first charge: a transition back into `Active` restarts its timer"
    );
    for id in [&ann, &bob] {
        runtime.send(id, Cancel).await.unwrap();
        let Outcome::Completed(membership::State::Ended(ended)) =
            runtime.outcome(id).await.unwrap()
        else {
            panic!("cancelled")
        };
        assert_eq!(ended.charges, 2);
    }
}

#[tokio::test(start_paused = true)]
async fn a_price_change_applies_from_the_next_charge_which_stays_on_its_day() {
    let runtime = members(Billing::default(), memory());
    let id = runtime.start(joined("cat", 30)).await.unwrap();
    tokio::time::sleep(DAY * 40).await; // charged on day 30
    runtime
        .send(&id, PriceChanged { price: 12 })
        .await
        .unwrap()
        .applied()
        .await
        .unwrap();
    assert_eq!(runtime.state(&id).await.unwrap().name(), "Active");
    tokio::time::sleep(DAY * 21).await; // to day 61
    assert_eq!(
        runtime.activities().charges(),
        [("cat".into(), 10, 30), ("cat".into(), 12, 60)],
        "the internal transition kept the timer armed on day 30"
    );
}

fn open(path: &Path) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(path).unwrap())
}

#[tokio::test(start_paused = true)]
async fn stopped_and_resumed_on_sqlite_the_next_charge_is_still_on_day_60() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("members.sqlite");
    let billing = Billing::default();
    let runtime = members(billing.clone(), open(&path));
    let id = runtime.start(joined("dan", 30)).await.unwrap();
    tokio::time::sleep(DAY * 40).await;
    runtime.send(&id, PriceChanged { price: 15 }).await.unwrap();
    tokio::time::sleep(DAY * 5).await; // day 45
    runtime.shutdown().await;
    drop(runtime);
    tokio::time::sleep(DAY).await; // down for a day

    let runtime = members(billing.clone(), open(&path));
    let resumed = runtime.resume().await.unwrap();
    assert_eq!(resumed.instances, std::slice::from_ref(&id));
    tokio::time::sleep(DAY * 15).await; // day 61
    assert_eq!(
        billing.charges(),
        [("dan".into(), 10, 30), ("dan".into(), 15, 60)],
        "the due time stored when the timer was armed on day 30 survived the restart"
    );
    let Outcome::Completed(ended) = ({
        runtime.send(&id, Cancel).await.unwrap();
        runtime.outcome(&id).await.unwrap()
    }) else {
        panic!("cancelled")
    };
    assert_eq!(ended.name(), "Ended");
}

#[tokio::test(start_paused = true)]
async fn stopped_after_any_write_the_charges_stay_on_their_days_each_once() {
    use workflow_core::testing::crash_check_host;

    // Charged on day 30 and day 60 (the price changed on day 40, the timer kept), cancelled
    // on day 75. A day-long lease: months of virtual time pass.
    let events = [
        (
            DAY * 40,
            membership::Event::from(PriceChanged { price: 12 }),
        ),
        (DAY * 75, membership::Event::from(Cancel)),
    ];
    let checked = crash_check_host::<membership::Flow, _>(
        joined("cat", 30),
        |log| Billing {
            log,
            ..Billing::default()
        },
        |host, billing| host.lease(DAY).flow(membership::Flow, Arc::clone(billing)),
        &events,
    )
    .await
    .unwrap();
    // Created; each charge's timer firing, then its landing; each event posted, taken, then
    // landed.
    assert_eq!((checked.writes, checked.points), (11, 10));
}
