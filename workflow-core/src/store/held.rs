//! The claim rules of the one-process stores (memory, SQLite), which keep claims in memory:
//! one process per store file makes the process the only place they can be taken.

use std::sync::atomic::{AtomicU64, Ordering};

use super::claim::{Claim, Lease, WorkerId};
use super::snapshot::Name;
use crate::InstanceId;

/// A claim as a one-process store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) worker: WorkerId,
    pub(crate) token: u64,
    pub(crate) until_ms: u64,
}

impl Held {
    /// Whether `lease` may take an instance held like this: nobody holds it, or the holder's
    /// lease has ended.
    pub(crate) fn may_take(held: Option<&Self>, lease: &Lease) -> bool {
        held.is_none_or(|held| held.until_ms < lease.now_ms)
    }

    /// When another lease may take it: the first millisecond after its lease.
    pub(crate) const fn frees_at(&self) -> u64 {
        self.until_ms.saturating_add(1)
    }

    /// Whether `claim` is this one.
    pub(crate) fn is(held: Option<&Self>, claim: &Claim) -> bool {
        held.is_some_and(|held| held.token == claim.token && held.worker == claim.worker)
    }

    /// A new claim for `lease`, with a fencing token never given before in this process
    /// (for any store: a claim on a store closed and opened again never equals a new one).
    pub(crate) fn take(flow: &Name, id: &InstanceId, lease: &Lease) -> (Self, Claim) {
        static TOKENS: AtomicU64 = AtomicU64::new(0);
        let token = TOKENS.fetch_add(1, Ordering::Relaxed) + 1;
        let held = Self {
            worker: lease.worker.clone(),
            token,
            until_ms: lease.until_ms,
        };
        let claim = Claim::new(flow.clone(), id.clone(), lease.worker.clone(), token);
        (held, claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(worker: &str, now_ms: u64) -> Lease {
        Lease::new(WorkerId::new(worker), now_ms, now_ms + 30_000)
    }

    #[test]
    fn a_claim_is_taken_when_free_or_when_its_lease_has_ended() {
        let (held, claim) = Held::take(&"F".into(), &InstanceId::new("i"), &lease("a", 0));
        assert!(Held::may_take(None, &lease("b", 0)));
        assert!(!Held::may_take(Some(&held), &lease("b", 30_000)));
        assert!(Held::may_take(Some(&held), &lease("b", 30_001)));
        assert!(Held::is(Some(&held), &claim));
        let other = Claim::new(
            "F",
            InstanceId::new("i"),
            WorkerId::new("a"),
            claim.token + 1,
        );
        assert!(
            !Held::is(Some(&held), &other),
            "another token is another claim"
        );
    }
}
