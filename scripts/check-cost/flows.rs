//! Ten realistic flows and their domain types, with a guard, a catch, a timer read from the
//! state and an internal transition among them: the crate `scripts/check-cost.sh` checks,
//! once as written and once with every `workflow!` replaced by its expansion.
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use workflow_core::workflow;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Money {
    pub cents: u64,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub sku: String,
    pub quantity: u32,
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub street: String,
    pub city: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub by: String,
    pub approved: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cancel {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approve {
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    pub by: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivered {
    pub at: u64,
}

workflow! {
    /// Order fulfilment (scenario S1).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Order {
        initial Placed    { customer: Customer, lines: Vec<Line>, total: Money }
        state   InStock   { customer: Customer, lines: Vec<Line>, total: Money, hold: String }
        state   Paid      { customer: Customer, lines: Vec<Line>, hold: String, charge: String }
        state   Reserved  { customer: Customer, lines: Vec<Line>, charge: String, reservation: String }
        final   Shipped   { customer: Customer, tracking: String }
        final   Cancelled { customer: Customer, reason: String }
        check_inventory: Placed -> InStock undo release_hold | Cancelled;
        pay: InStock -> Paid undo refund, retry(3, 200ms..5s, jitter), timeout(30s);
        reserve_stock: Paid -> Reserved undo unreserve;
        ship: Reserved -> Shipped, retry(5, 1s..1min);
        cancel: Placed | InStock | Paid | Reserved -> Cancelled, on Cancel, compensate;
    }
}

workflow! {
    /// Account opening (scenario S2).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub AccountOpening {
        initial Requested     { customer: Customer }
        state   Created       { customer: Customer, account: String }
        state   AddressAdded  { customer: Customer, account: String, address: Address }
        state   ClientAdded   { customer: Customer, account: String, client: String }
        final   Opened        { account: String, iban: String }
        create_account: Requested -> Created;
        add_address: Created -> AddressAdded undo clear_postal_addresses;
        add_client: AddressAdded -> ClientAdded undo remove_client;
        add_bank_account: ClientAdded -> Opened undo disconnect_bank_accounts;
    }
}

workflow! {
    /// Money transfer with retries (scenario S3).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Transfer {
        initial Requested { from: String, to: String, amount: Money }
        state   Withdrawn { from: String, to: String, amount: Money, debit: String }
        state   Deposited { from: String, to: String, amount: Money, debit: String, credit: String }
        final   Settled   { reference: String }
        withdraw: Requested -> Withdrawn undo deposit_back, retry(3, 1s..1min);
        deposit: Withdrawn -> Deposited undo withdraw_back, retry(3, 1s..1min);
        settle: Deposited -> Settled, retry(3, 1s..1min), timeout(10s);
    }
}

workflow! {
    /// Multi-level approval with a threshold (scenario S4).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Approval {
        initial Submitted  { request: String, amount: Money, history: Vec<Decision> }
        state   Supervisor { request: String, amount: Money, history: Vec<Decision> }
        state   Department { request: String, amount: Money, history: Vec<Decision> }
        state   Finance    { request: String, amount: Money, history: Vec<Decision> }
        final   Approved   { request: String, history: Vec<Decision> }
        final   Rejected   { request: String, history: Vec<Decision> }
        route: Submitted -> Supervisor;
        supervisor_approves: Supervisor -> Department | Finance, on Approve;
        department_approves: Department -> Finance, on Approve;
        finance_approves: Finance -> Approved, on Approve;
        reject: Supervisor | Department | Finance -> Rejected, on Reject;
    }
}

workflow! {
    /// Expense approval with a timeout (scenario S5).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Expense {
        initial Created   { employee: String, amount: Money, receipt: Option<String> }
        state   Waiting   { employee: String, amount: Money }
        state   Approved  { employee: String, amount: Money, by: String }
        final   Completed { employee: String, payment: String }
        final   Rejected  { employee: String, by: String, reason: String }
        final   TimedOut  { employee: String }
        submit: Created -> Waiting;
        approve: Waiting -> Approved, on Approve;
        reject: Waiting -> Rejected, on Reject;
        expire: Waiting -> TimedOut, after(10s);
        pay: Approved -> Completed, retry(3, 1s..30s), timeout(1min);
    }
}

workflow! {
    /// Loan decision with parallel checks (scenario S6).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Loan {
        initial Applied  { applicant: Customer, amount: Money, term_months: u32 }
        state   Checked  { applicant: Customer, amount: Money, credit: u32, income: Money, assets: Money }
        final   Granted  { applicant: Customer, amount: Money, rate_bp: u32 }
        final   Declined { applicant: Customer, reasons: Vec<String> }
        run_checks: Applied -> Checked undo void_checks, timeout(5min);
        decide: Checked -> Granted | Declined, guard(by_score);
    }
}

workflow! {
    /// Subscription renewal.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Subscription {
        initial Active    { customer: Customer, plan: String, period: std::time::Duration, price: Money }
        state   Renewing  { customer: Customer, plan: String, attempt: u32 }
        state   PastDue   { customer: Customer, plan: String, since: u64 }
        final   Renewed   { customer: Customer, plan: String, invoice: String }
        final   Lapsed    { customer: Customer }
        final   Cancelled { customer: Customer, reason: String }
        renew: Active -> Renewing, after(period);
        reprice: Active -> Active, on Money, internal;
        charge: Renewing -> Renewed | PastDue, retry(4, 1h..24h, jitter), timeout(1min);
        lapse: PastDue -> Lapsed, after(72h);
        pay_late: PastDue -> Renewed, on Approve;
        cancel: Active | Renewing | PastDue -> Cancelled, on Cancel;
    }
}

workflow! {
    /// Refund of a returned item.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Refund {
        initial Requested { order: String, lines: Vec<Line>, reason: String }
        state   Awaiting  { order: String, lines: Vec<Line>, label: String }
        state   Received  { order: String, lines: Vec<Line>, condition: String }
        final   Refunded  { order: String, amount: Money, reference: String }
        final   Refused   { order: String, reason: String }
        issue_label: Requested -> Awaiting undo void_label;
        receive: Awaiting -> Received, on Delivered;
        give_up: Awaiting -> Refused, after(720h);
        inspect: Received -> Refunded | Refused, retry(3, 1s..10s), catch(Refused, refuse_on_failure);
    }
}

workflow! {
    /// Shipment with carrier handover and delivery confirmation.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Shipment {
        initial Packed     { order: String, parcels: Vec<String>, to: Address }
        state   Labelled   { order: String, parcels: Vec<String>, to: Address, label: String }
        state   InTransit  { order: String, tracking: String }
        final   Delivered  { order: String, tracking: String, at: u64 }
        final   Lost       { order: String, tracking: String }
        buy_label: Packed -> Labelled undo cancel_label, retry(3, 500ms..5s);
        hand_over: Labelled -> InTransit, timeout(2min);
        confirm: InTransit -> Delivered, on Delivered;
        declare_lost: InTransit -> Lost, after(336h);
    }
}

workflow! {
    /// User onboarding with email verification.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub Onboarding {
        initial SignedUp  { customer: Customer }
        state   Verifying { customer: Customer, token: String }
        state   Verified  { customer: Customer }
        final   Onboarded { customer: Customer, workspace: String }
        final   Abandoned { customer: Customer }
        send_verification: SignedUp -> Verifying, retry(3, 1s..1min);
        verify: Verifying -> Verified, on Approve;
        abandon: Verifying -> Abandoned, after(168h);
        create_workspace: Verified -> Onboarded undo delete_workspace, retry(3, 1s..10s);
    }
}

/// Granted for a good enough credit score: a guard, no activity.
fn by_score(checked: &loan::Checked) -> loan::DecideTo {
    if checked.credit >= 600 {
        loan::Granted {
            applicant: checked.applicant.clone(),
            amount: checked.amount.clone(),
            rate_bp: 450,
        }
        .into()
    } else {
        loan::Declined {
            applicant: checked.applicant.clone(),
            reasons: vec!["credit".into()],
        }
        .into()
    }
}

/// An inspection that failed for good refuses the refund, saying why.
fn refuse_on_failure(from: &refund::Received, failure: workflow_core::Failure) -> refund::Refused {
    refund::Refused {
        order: from.order.clone(),
        reason: failure.message,
    }
}
