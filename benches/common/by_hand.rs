//! The two hand-written sides the driver is measured against, on the flow of `ten.rs`: ten
//! activity calls that record nothing (`by_hand`), and the same calls recording what the
//! driver records, the way a careful engineer would by hand: after each step, the state as
//! JSON, the undo chain and one history record, written to the same store
//! (`by_hand_recorded`). Shared by `benches/driver.rs` and `examples/instructions.rs`; the
//! activities are `acts.rs`.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use workflow_core::InstanceId;
use workflow_core::Workflow;
use workflow_core::prelude::*;
use workflow_core::store::{
    ChainEntry, Claim, Commit, Lease, MemoryStore, Record, RecordKind, Snapshot, Status, Store,
    StoreError, Wake, WorkerId,
};

use super::acts::Acts;
use super::flow::ten;
use ten::{S0, S10};

/// The same ten calls, by hand.
pub async fn by_hand(acts: &Acts, s0: S0) -> Result<S10, Infallible> {
    use ten::Activities as _;
    static CTX: StepCtx = StepCtx::local("t");
    let s1 = acts.t1(&s0, &CTX).await?;
    let s2 = acts.t2(&s1, &CTX).await?;
    let s3 = acts.t3(&s2, &CTX).await?;
    let s4 = acts.t4(&s3, &CTX).await?;
    let s5 = acts.t5(&s4, &CTX).await?;
    let s6 = acts.t6(&s5, &CTX).await?;
    let s7 = acts.t7(&s6, &CTX).await?;
    let s8 = acts.t8(&s7, &CTX).await?;
    let s9 = acts.t9(&s8, &CTX).await?;
    acts.t10(&s9, &CTX).await
}

/// A hand-written instance that records each step, as the driver does.
struct Recorded<'a> {
    store: &'a MemoryStore,
    claim: Claim,
    snapshot: Snapshot,
}

impl<'a> Recorded<'a> {
    async fn start(
        store: &'a MemoryStore,
        id: &str,
        state: &ten::State,
    ) -> Result<Self, StoreError> {
        let json = serde_json::to_string(state).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut snapshot = Snapshot::new(
            "Ten",
            InstanceId::from(id.to_string()),
            ten::Flow::DEFINITION.fingerprint(),
            state.name(),
            json,
        );
        snapshot.at_ms = now_ms();
        let record = Record::new(1, now_ms(), RecordKind::Started, state.name());
        let lease = Lease::new(WorkerId::new("by-hand"), now_ms(), now_ms() + 30_000);
        let claim = store
            .create(snapshot.clone(), record, Wake::Now, Some(&lease))
            .await?
            .ok_or_else(|| StoreError::Corrupt("not claimed".into()))?;
        Ok(Self {
            store,
            claim,
            snapshot,
        })
    }

    async fn step(
        &mut self,
        transition: &'static str,
        undo: &'static str,
        state: &ten::State,
    ) -> Result<(), StoreError> {
        let json: std::sync::Arc<str> = serde_json::to_string(state)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .into();
        let seq = self.snapshot.seq + 1;
        let snapshot = &mut self.snapshot;
        snapshot.seq = seq;
        snapshot.at_ms = now_ms();
        snapshot.state_name = state.name().into();
        snapshot.state = std::sync::Arc::clone(&json);
        if state.is_final() {
            snapshot.status = Status::Completed;
            snapshot.chain.clear();
        } else {
            snapshot.chain.push(ChainEntry::new(undo, seq, json));
        }
        let record = Record::new(
            seq,
            now_ms(),
            RecordKind::Transition {
                transition: transition.into(),
                attempt: 1,
            },
            state.name(),
        );
        let wake = if state.is_final() {
            Wake::OnMessage
        } else {
            Wake::Now
        };
        let commit = Commit::new(snapshot.clone(), vec![record], wake);
        self.store.commit(&self.claim, commit).await
    }
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

macro_rules! recorded_steps {
    ($acts:ident, $run:ident, $state:ident; $($step:ident $undo:ident;)*) => {{
        use ten::Activities as _;
        static CTX: StepCtx = StepCtx::local("t");
        $(
            let next = $acts.$step(&$state, &CTX).await.map_err(|e| match e {})?;
            $run.step(stringify!($step), stringify!($undo), &ten::State::from(next.clone())).await?;
            let $state = next;
        )*
        $state
    }};
}

/// The same ten calls by hand, recording each step in `store`.
pub async fn by_hand_recorded(
    acts: &Acts,
    store: &MemoryStore,
    id: &str,
    s0: S0,
) -> Result<S10, StoreError> {
    let mut run = Recorded::start(store, id, &ten::State::from(s0.clone())).await?;
    let state = s0;
    Ok(recorded_steps!(acts, run, state;
        t1 u1; t2 u2; t3 u3; t4 u4; t5 u5; t6 u6; t7 u7; t8 u8; t9 u9; t10 u10;
    ))
}
