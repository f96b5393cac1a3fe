//! Scenario S2, account opening: create account -> add address (undo: clear postal addresses)
//! -> add client (undo: remove client) -> add bank account (undo: disconnect bank accounts),
//! with the typed saga and with composed steps.

use std::collections::BTreeSet;
use std::sync::Mutex;

use workflow_core::prelude::*;
use workflow_core::{Report, Step};

workflow! {
    /// Opening an account: every step after the first can be compensated.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub AccountOpening {
        initial Requested    { customer: String }
        state   Created      { customer: String, account: u32 }
        state   AddressAdded { customer: String, account: u32 }
        state   ClientAdded  { customer: String, account: u32, client: u32 }
        final   Opened       { account: u32, client: u32, iban: String }

        create_account:   Requested    -> Created;
        add_address:      Created      -> AddressAdded undo clear_postal_addresses;
        add_client:       AddressAdded -> ClientAdded undo remove_client;
        add_bank_account: ClientAdded  -> Opened undo disconnect_bank_accounts;
    }
}

use account_opening::{AddressAdded, ClientAdded, Created, Opened, Requested};

/// Fake back office: records every call, fails the ones named.
#[derive(Default)]
struct BackOffice {
    calls: Mutex<Vec<&'static str>>,
    failing: BTreeSet<&'static str>,
}

impl BackOffice {
    fn failing(step: &'static str) -> Self {
        Self {
            failing: BTreeSet::from([step]),
            ..Self::default()
        }
    }

    fn call(&self, step: &'static str) -> Result<(), String> {
        self.calls.lock().unwrap().push(step);
        if self.failing.contains(step) {
            Err(format!("{step}: service unavailable"))
        } else {
            Ok(())
        }
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().unwrap().clone()
    }
}

impl account_opening::Activities for BackOffice {
    type Error = String;

    async fn create_account(&self, from: &Requested, _: &StepCtx) -> Result<Created, String> {
        self.call("create_account")?;
        Ok(Created {
            customer: from.customer.clone(),
            account: 1001,
        })
    }
    async fn add_address(&self, from: &Created, _: &StepCtx) -> Result<AddressAdded, String> {
        self.call("add_address")?;
        Ok(AddressAdded {
            customer: from.customer.clone(),
            account: from.account,
        })
    }
    async fn add_client(&self, from: &AddressAdded, _: &StepCtx) -> Result<ClientAdded, String> {
        self.call("add_client")?;
        Ok(ClientAdded {
            customer: from.customer.clone(),
            account: from.account,
            client: 77,
        })
    }
    async fn add_bank_account(&self, from: &ClientAdded, _: &StepCtx) -> Result<Opened, String> {
        self.call("add_bank_account")?;
        Ok(Opened {
            account: from.account,
            client: from.client,
            iban: "DE00 1234".into(),
        })
    }
    async fn clear_postal_addresses(&self, _: &AddressAdded, _: &StepCtx) -> Result<(), String> {
        self.call("clear_postal_addresses")
    }
    async fn remove_client(&self, _: &ClientAdded, _: &StepCtx) -> Result<(), String> {
        self.call("remove_client")
    }
    async fn disconnect_bank_accounts(&self, _: &Opened, _: &StepCtx) -> Result<(), String> {
        self.call("disconnect_bank_accounts")
    }
}

fn requested() -> Requested {
    Requested {
        customer: "Ada".into(),
    }
}

/// Runs the saga through every step; the error is whichever step failed, after unwinding.
async fn open_with_saga(
    office: &BackOffice,
) -> Result<Opened, workflow_core::Aborted<Requested, String>> {
    let saga = account_opening::Saga::start(requested());
    let saga = saga.create_account(office).await?;
    let saga = saga.add_address(office).await?;
    let saga = saga.add_client(office).await?;
    let saga = saga.add_bank_account(office).await?;
    Ok(saga.into_state())
}

#[tokio::test]
async fn all_steps_succeed_and_nothing_is_undone() {
    let office = BackOffice::default();
    let opened = open_with_saga(&office).await.unwrap();
    assert_eq!(opened.iban, "DE00 1234");
    assert_eq!(
        office.calls(),
        [
            "create_account",
            "add_address",
            "add_client",
            "add_bank_account"
        ]
    );
}

#[tokio::test]
async fn add_bank_account_fails_so_client_then_address_are_undone() {
    let office = BackOffice::failing("add_bank_account");
    let aborted = open_with_saga(&office).await.unwrap_err();
    assert_eq!(
        office.calls(),
        [
            "create_account",
            "add_address",
            "add_client",
            "add_bank_account",
            "remove_client",
            "clear_postal_addresses"
        ]
    );
    assert!(!office.calls().contains(&"disconnect_bank_accounts"));
    assert_eq!(aborted.step, "add_bank_account");
    assert_eq!(
        aborted.error, "add_bank_account: service unavailable",
        "the original error"
    );
    assert_eq!(
        aborted.report.undone_steps(),
        ["remove_client", "clear_postal_addresses"]
    );
    assert_eq!(aborted.input, Some(requested()));
}

#[tokio::test]
async fn create_account_fails_and_no_undo_runs() {
    let office = BackOffice::failing("create_account");
    let aborted = open_with_saga(&office).await.unwrap_err();
    assert_eq!(office.calls(), ["create_account"]);
    assert_eq!(aborted.step, "create_account");
    assert_eq!(aborted.report, Report::new());
    assert_eq!(aborted.input, Some(requested()));
}

#[tokio::test]
async fn the_same_flow_as_one_composed_step() {
    use account_opening::{AddAddress, AddBankAccount, AddClient, CreateAccount};
    use workflow_core::StepExt;

    let office = BackOffice::failing("add_bank_account");
    let opening = CreateAccount
        .then(AddAddress)
        .then(AddClient)
        .then(AddBankAccount);
    let aborted = opening.run(&office, requested()).await.unwrap_err();
    assert_eq!(aborted.error, "add_bank_account: service unavailable");
    assert_eq!(
        aborted.report.undone_steps(),
        ["remove_client", "clear_postal_addresses"]
    );
    assert_eq!(
        office.calls(),
        [
            "create_account",
            "add_address",
            "add_client",
            "add_bank_account",
            "remove_client",
            "clear_postal_addresses"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_driver_add_bank_account_fails_and_the_undos_run_in_order() {
    use workflow_core::FailureKind;
    use workflow_core::runtime::{Outcome, Runtime};

    let runtime = Runtime::<account_opening::Flow, _>::new(BackOffice::failing("add_bank_account"));
    let id = runtime.start(requested()).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (failure.step(), failure.kind()),
        ("add_bank_account", FailureKind::Activity)
    );
    assert_eq!(
        report.undone_steps(),
        ["remove_client", "clear_postal_addresses"]
    );
    assert_eq!(
        runtime.activities().calls(),
        [
            "create_account",
            "add_address",
            "add_client",
            "add_bank_account",
            "remove_client",
            "clear_postal_addresses"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn with_the_driver_create_account_fails_and_no_undo_runs() {
    use workflow_core::runtime::{Outcome, Runtime};

    let runtime = Runtime::<account_opening::Flow, _>::new(BackOffice::failing("create_account"));
    let id = runtime.start(requested()).await.unwrap();
    let Outcome::Failed {
        failure, report, ..
    } = runtime.outcome(&id).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(failure.step(), "create_account");
    assert!(report.entries().is_empty());
    assert_eq!(runtime.activities().calls(), ["create_account"]);
}
