//! The in-memory store: the default, for tests and demos. Nothing survives the process.

use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use super::held::Held;
use super::{
    Answer, Claim, Claimed, Commit, Committed, CreatedOrPosted, Due, FlowVersion, InboxItem, Lease,
    Message, MessageId, Record, Snapshot, Status, Store, StoreError, Summary, Wake, Watch,
};
use crate::InstanceId;

/// Instances kept in memory, with their full history and inbox.
///
/// ```
/// use workflow_core::store::{MemoryStore, Store};
///
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// assert!(store.list("Order").await.unwrap().is_empty());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    watch: Watch,
}

#[derive(Debug, Default)]
struct Inner {
    /// By flow, then by instance: a write looks its instance up without building a key.
    flows: crate::FastMap<super::Name, crate::FastMap<InstanceId, Entry>>,
    next_message: u64,
}

#[derive(Debug)]
struct Entry {
    snapshot: Box<Snapshot>,
    history: Vec<Record>,
    inbox: Vec<Row>,
    wake: Wake,
    held: Option<Held>,
}

#[derive(Debug)]
struct Row {
    item: InboxItem,
    answer: Option<Answer>,
}

impl Entry {
    fn unanswered(&self) -> Vec<InboxItem> {
        self.inbox
            .iter()
            .filter(|row| row.answer.is_none())
            .map(|row| row.item.clone())
            .collect()
    }

    fn is_due(&self, now_ms: u64) -> bool {
        self.wake.due_ms().is_some_and(|at| at <= now_ms)
            || self.inbox.iter().any(|row| row.answer.is_none())
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written: every write
        // below checks first and changes after.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn entry(&mut self, flow: &str, id: &InstanceId) -> Result<&mut Entry, StoreError> {
        self.flows
            .get_mut(flow)
            .and_then(|instances| instances.get_mut(id))
            .ok_or_else(|| StoreError::NotFound {
                flow: flow.to_string().into(),
                id: id.clone(),
            })
    }

    fn read<T>(&self, flow: &str, id: &InstanceId, read: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.flows.get(flow)?.get(id).map(read)
    }

    fn create(
        &mut self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError> {
        let (flow, id) = (snapshot.flow.clone(), snapshot.id.clone());
        let instances = match self.flows.get_mut(&*flow) {
            Some(instances) => instances,
            None => self.flows.entry(flow.clone()).or_default(),
        };
        if instances.contains_key(&id) {
            return Err(StoreError::Duplicate { flow, id });
        }
        let (held, claim) = match lease {
            Some(lease) => {
                let (held, claim) = Held::take(&flow, &id, lease);
                (Some(held), Some(claim))
            }
            None => (None, None),
        };
        let entry = Entry {
            snapshot: Box::new(snapshot),
            history: vec![record],
            inbox: Vec::new(),
            wake,
            held,
        };
        instances.insert(id, entry);
        Ok(claim)
    }

    fn post(
        &mut self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError> {
        let message_id = MessageId(self.next_message + 1);
        let entry = self.entry(flow, id)?;
        let snapshot = &entry.snapshot;
        if snapshot.status.is_finished() {
            return Err(StoreError::Ended {
                flow: snapshot.flow.clone(),
                id: id.clone(),
                status: snapshot.status,
            });
        }
        if message.is_cancel() && entry.inbox.iter().any(|row| row.item.message.is_cancel()) {
            return Err(StoreError::CancelPosted {
                flow: snapshot.flow.clone(),
                id: id.clone(),
            });
        }
        entry.inbox.push(Row {
            item: InboxItem::new(message_id, message, at_ms),
            answer: None,
        });
        self.next_message = message_id.0;
        Ok(message_id)
    }
}

/// Checks `commit` against the stored instance before anything changes.
fn check_commit(entry: &Entry, claim: &Claim, commit: &Commit) -> Result<(), StoreError> {
    if !Held::is(entry.held.as_ref(), claim) {
        return Err(StoreError::ClaimLost {
            flow: claim.flow.clone(),
            id: claim.id.clone(),
        });
    }
    let stored = entry.snapshot.seq;
    let expected = commit.records.first().map_or(stored, |r| r.seq - 1);
    let last = commit.records.last().map_or(stored, |r| r.seq);
    if expected != stored || last != commit.snapshot.seq {
        return Err(StoreError::Conflict {
            id: claim.id.clone(),
            expected,
            found: stored,
        });
    }
    Ok(())
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
    ) -> Result<Option<Claim>, StoreError> {
        let (flow, id) = (snapshot.flow.clone(), snapshot.id.clone());
        let claim = self.lock().create(snapshot, record, wake, lease)?;
        self.watch.created(&flow, &id, claim.is_some());
        Ok(claim)
    }

    async fn create_or_post(
        &self,
        snapshot: Snapshot,
        record: Record,
        wake: Wake,
        lease: Option<&Lease>,
        message: Message,
        at_ms: u64,
    ) -> Result<CreatedOrPosted, StoreError> {
        let (flow, id) = (snapshot.flow.clone(), snapshot.id.clone());
        let done = {
            let mut inner = self.lock();
            match inner.create(snapshot, record, wake, lease) {
                Ok(claim) => {
                    let message = inner.post(&flow, &id, message, at_ms)?;
                    CreatedOrPosted::Created { claim, message }
                }
                Err(StoreError::Duplicate { .. }) => {
                    CreatedOrPosted::Posted(inner.post(&flow, &id, message, at_ms)?)
                }
                Err(error) => return Err(error),
            }
        };
        if let CreatedOrPosted::Created { claim, .. } = &done {
            self.watch.created(&flow, &id, claim.is_some());
        }
        self.watch.posted(&flow, &id);
        Ok(done)
    }

    async fn claim(
        &self,
        flow: &str,
        id: &InstanceId,
        lease: &Lease,
    ) -> Result<Option<Claimed>, StoreError> {
        let mut inner = self.lock();
        let entry = inner.entry(flow, id)?;
        if entry.snapshot.status.is_finished() || !Held::may_take(entry.held.as_ref(), lease) {
            return Ok(None);
        }
        let (held, claim) = Held::take(&entry.snapshot.flow, id, lease);
        entry.held = Some(held);
        Ok(Some(Claimed::new(
            claim,
            (*entry.snapshot).clone(),
            entry.unanswered(),
        )))
    }

    async fn claim_due(
        &self,
        flows: &[FlowVersion],
        lease: &Lease,
        limit: usize,
    ) -> Result<Due, StoreError> {
        let mut inner = self.lock();
        let mut due = Due::default();
        let mut next: Option<u64> = None;
        for version in flows {
            let Some(instances) = inner.flows.get_mut(&*version.name) else {
                continue;
            };
            for entry in instances.values_mut() {
                let snapshot = &entry.snapshot;
                if snapshot.status.is_finished() || snapshot.fingerprint != version.fingerprint {
                    continue;
                }
                if !Held::may_take(entry.held.as_ref(), lease) {
                    // Due again when its holder's lease ends, if it has work then.
                    if let (Some(held), Some(_)) = (&entry.held, entry.wake.due_ms()) {
                        next = Some(next.map_or(held.frees_at(), |n| n.min(held.frees_at())));
                    }
                    continue;
                }
                if due.claimed.len() < limit && entry.is_due(lease.now_ms) {
                    let (held, claim) = Held::take(&snapshot.flow, &snapshot.id, lease);
                    entry.held = Some(held);
                    due.claimed.push(Claimed::new(
                        claim,
                        (*entry.snapshot).clone(),
                        entry.unanswered(),
                    ));
                } else if let Some(at) = entry.wake.due_ms() {
                    let at = at.max(lease.now_ms);
                    next = Some(next.map_or(at, |n| n.min(at)));
                }
            }
        }
        due.next_ms = next;
        Ok(due)
    }

    async fn commit(&self, claim: &Claim, commit: Commit) -> Result<(), StoreError> {
        let told = Committed::of(&commit);
        {
            let mut inner = self.lock();
            let entry = inner.entry(&claim.flow, &claim.id)?;
            check_commit(entry, claim, &commit)?;
            let Commit {
                snapshot,
                records,
                answers,
                wake,
                release,
                posts,
                // The fingerprint is the snapshot's: nothing else to change.
                migrated: _,
            } = commit;
            for (message, answer) in answers {
                if let Some(row) = entry
                    .inbox
                    .iter_mut()
                    .find(|row| row.item.id == message && row.answer.is_none())
                {
                    row.answer = Some(answer);
                }
            }
            if snapshot.status.is_finished() {
                let ended = Answer::Ended {
                    status: snapshot.status,
                    state: snapshot.state_name.clone(),
                };
                for row in entry.inbox.iter_mut().filter(|row| row.answer.is_none()) {
                    row.answer = Some(ended.clone());
                }
            }
            entry.history.extend(records);
            entry.snapshot = snapshot;
            entry.wake = if entry.snapshot.status.is_finished() {
                Wake::OnMessage
            } else {
                wake
            };
            if release || entry.snapshot.status.is_finished() {
                entry.held = None;
            }
            let at_ms = entry.snapshot.at_ms;
            for post in posts {
                // Only to an instance that runs; a second cancel is dropped (see `Post`).
                let _ = inner.post(&post.flow, &post.id, post.message, at_ms);
            }
        }
        self.watch.committed(claim, &told);
        Ok(())
    }

    async fn renew(&self, claims: &[Claim], lease: &Lease) -> Result<Vec<Claim>, StoreError> {
        let mut inner = self.lock();
        let mut lost = Vec::new();
        for claim in claims {
            match inner.entry(&claim.flow, &claim.id) {
                Ok(entry) if Held::is(entry.held.as_ref(), claim) => {
                    if let Some(held) = entry.held.as_mut() {
                        held.until_ms = lease.until_ms;
                    }
                }
                _ => lost.push(claim.clone()),
            }
        }
        Ok(lost)
    }

    async fn release(&self, claim: &Claim) -> Result<(), StoreError> {
        let due_now = {
            let mut inner = self.lock();
            let entry = inner.entry(&claim.flow, &claim.id)?;
            if !Held::is(entry.held.as_ref(), claim) {
                return Ok(());
            }
            entry.held = None;
            !entry.snapshot.status.is_finished() && entry.wake == Wake::Now
        };
        if due_now {
            self.watch.released(claim);
        }
        Ok(())
    }

    async fn post(
        &self,
        flow: &str,
        id: &InstanceId,
        message: Message,
        at_ms: u64,
    ) -> Result<MessageId, StoreError> {
        let message_id = self.lock().post(flow, id, message, at_ms)?;
        self.watch.posted(flow, id);
        Ok(message_id)
    }

    async fn answer(
        &self,
        flow: &str,
        id: &InstanceId,
        message: MessageId,
    ) -> Result<Option<Answer>, StoreError> {
        let inner = self.lock();
        let answer = inner.read(flow, id, |entry| {
            entry
                .inbox
                .iter()
                .find(|row| row.item.id == message)
                .map(|row| row.answer.clone())
        });
        match answer {
            Some(Some(answer)) => Ok(answer),
            _ => Err(StoreError::NotFound {
                flow: flow.to_string().into(),
                id: id.clone(),
            }),
        }
    }

    async fn inbox(&self, flow: &str, id: &InstanceId) -> Result<Vec<InboxItem>, StoreError> {
        Ok(self
            .lock()
            .read(flow, id, Entry::unanswered)
            .unwrap_or_default())
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self
            .lock()
            .read(flow, id, |entry| (*entry.snapshot).clone()))
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let inner = self.lock();
        let mut summaries: Vec<Summary> = inner
            .flows
            .get(flow)
            .map(|instances| {
                instances
                    .values()
                    .map(|entry| Summary::of(&entry.snapshot))
                    .collect()
            })
            .unwrap_or_default();
        summaries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(summaries)
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let mut summaries = self.list(flow).await?;
        summaries.retain(|summary| summary.status == Status::Running);
        Ok(summaries)
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .lock()
            .read(flow, id, |entry| entry.history.clone())
            .unwrap_or_default())
    }

    fn watch(&self) -> &Watch {
        &self.watch
    }
}
