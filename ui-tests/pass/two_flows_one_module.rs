//! Two flows in one module may use the same state names: each lives in its own module.

use workflow_core::workflow;

workflow! {
    pub Shipping {
        initial Pending {}
        final Done {}
        ship: Pending -> Done;
    }
}

workflow! {
    pub Billing {
        initial Pending { amount: u64 }
        final Done { amount: u64 }
        bill: Pending -> Done;
    }
}

fn main() {
    let _: shipping::Pending = shipping::Pending {};
    let _: billing::Pending = billing::Pending { amount: 3 };
    assert_ne!(shipping::DEFINITION.fingerprint(), billing::DEFINITION.fingerprint());
}
