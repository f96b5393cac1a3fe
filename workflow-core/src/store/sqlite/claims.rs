//! The SQLite store's claims, held in memory: one process per file makes this process the
//! only place a claim can be taken. With each claim, what the writer knows of the instance's
//! row (its number, last sequence number, wake time and status), so that a write under the
//! claim needs no read first.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::rows::Head;
use crate::InstanceId;
use crate::store::held::Held;
use crate::store::{Claim, Lease, Name, StoreError};

/// One claim, and the row it is on.
#[derive(Debug, Clone)]
pub(super) struct ClaimRow {
    pub(super) held: Held,
    pub(super) head: Head,
}

/// Every claim held on the file.
#[derive(Debug, Default)]
pub(super) struct Claims {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: crate::FastMap<Name, crate::FastMap<InstanceId, ClaimRow>>,
}

impl Claims {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Each critical section is a lookup and an insert or removal: a consistent map.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `lease` may claim instance `id` of `flow` now.
    pub(super) fn may_take(&self, flow: &str, id: &InstanceId, lease: &Lease) -> bool {
        let inner = self.lock();
        Held::may_take(
            inner
                .rows
                .get(flow)
                .and_then(|rows| rows.get(id))
                .map(|row| &row.held),
            lease,
        )
    }

    /// Takes a claim on `id` for `lease`, on the row `head`, if nobody holds a live one.
    pub(super) fn take(
        &self,
        flow: &Name,
        id: &InstanceId,
        lease: &Lease,
        head: Head,
    ) -> Option<Claim> {
        let mut inner = self.lock();
        let rows = match inner.rows.get_mut(&**flow) {
            Some(rows) => rows,
            None => inner.rows.entry(flow.clone()).or_default(),
        };
        if !Held::may_take(rows.get(id).map(|row| &row.held), lease) {
            return None;
        }
        let (hold, claim) = Held::take(flow, id, lease);
        rows.insert(id.clone(), ClaimRow { held: hold, head });
        Some(claim)
    }

    /// The row under `claim`, if `claim` is still held.
    pub(super) fn head(&self, claim: &Claim) -> Result<Head, StoreError> {
        let inner = self.lock();
        inner
            .rows
            .get(&*claim.flow)
            .and_then(|rows| rows.get(&claim.id))
            .filter(|row| Held::is(Some(&row.held), claim))
            .map(|row| row.head)
            .ok_or_else(|| StoreError::ClaimLost {
                flow: claim.flow.clone(),
                id: claim.id.clone(),
            })
    }

    /// After a write under `claim`: the row is now `head`, and the claim ends if `ended`.
    pub(super) fn written(&self, claim: &Claim, head: Head, ended: bool) {
        let mut inner = self.lock();
        let Some(rows) = inner.rows.get_mut(&*claim.flow) else {
            return;
        };
        if let Some(row) = rows.get_mut(&claim.id)
            && Held::is(Some(&row.held), claim)
        {
            if ended {
                rows.remove(&claim.id);
            } else {
                row.head = head;
            }
        }
    }

    /// Extends `claims`; returns those not held any more.
    pub(super) fn renew(&self, claims: &[Claim], lease: &Lease) -> Vec<Claim> {
        let mut inner = self.lock();
        let mut lost = Vec::new();
        for claim in claims {
            match inner
                .rows
                .get_mut(&*claim.flow)
                .and_then(|rows| rows.get_mut(&claim.id))
            {
                Some(row) if Held::is(Some(&row.held), claim) => row.held.until_ms = lease.until_ms,
                _ => lost.push(claim.clone()),
            }
        }
        lost
    }

    /// Ends `claim`, if it is held; returns the row it was on.
    pub(super) fn release(&self, claim: &Claim) -> Option<Head> {
        let mut inner = self.lock();
        let rows = inner.rows.get_mut(&*claim.flow)?;
        let row = rows.get(&claim.id)?;
        if !Held::is(Some(&row.held), claim) {
            return None;
        }
        rows.remove(&claim.id).map(|row| row.head)
    }

    /// When the earliest live claim on an instance of `flows` held by another worker than
    /// `lease`'s ends, if any: its instance may be due then.
    pub(super) fn earliest_other(
        &self,
        flows: &[crate::store::FlowVersion],
        lease: &Lease,
    ) -> Option<u64> {
        let inner = self.lock();
        inner
            .rows
            .iter()
            .filter(|(flow, _)| flows.iter().any(|v| v.name == **flow))
            .flat_map(|(_, rows)| rows.values())
            .filter(|row| {
                row.held.worker != lease.worker
                    && row.head.wake.is_some()
                    && !Held::may_take(Some(&row.held), lease)
            })
            .map(|row| row.held.frees_at())
            .min()
    }
}
