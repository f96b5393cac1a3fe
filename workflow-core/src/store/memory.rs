//! The in-memory store: the default, for tests and demos. Nothing survives the process.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Record, Snapshot, Store, StoreError, Summary};
use crate::InstanceId;

/// Instances kept in memory, with their full history.
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
    /// By flow, then by instance: a write looks its instance up without building a key.
    flows: Mutex<HashMap<String, HashMap<InstanceId, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    snapshot: Snapshot,
    history: Vec<Record>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<InstanceId, Entry>>> {
        // A panic while holding the lock cannot leave an entry half-written: every write
        // below is a single insert or assignment.
        self.flows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Reads the instances of `flow` (none if it has none).
    fn read<T>(&self, flow: &str, read: impl FnOnce(&HashMap<InstanceId, Entry>) -> T) -> T {
        let flows = self.lock();
        match flows.get(flow) {
            Some(instances) => read(instances),
            None => read(&HashMap::new()),
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, snapshot: Snapshot, record: Record) -> Result<(), StoreError> {
        let mut flows = self.lock();
        let instances = match flows.get_mut(&snapshot.flow) {
            Some(instances) => instances,
            None => flows.entry(snapshot.flow.clone()).or_default(),
        };
        if instances.contains_key(&snapshot.id) {
            return Err(StoreError::Duplicate {
                flow: snapshot.flow,
                id: snapshot.id,
            });
        }
        instances.insert(
            snapshot.id.clone(),
            Entry {
                snapshot,
                history: vec![record],
            },
        );
        Ok(())
    }

    async fn save(&self, snapshot: Snapshot, record: Record) -> Result<(), StoreError> {
        let mut flows = self.lock();
        let Some(entry) = flows
            .get_mut(&snapshot.flow)
            .and_then(|instances| instances.get_mut(&snapshot.id))
        else {
            return Err(StoreError::NotFound {
                flow: snapshot.flow,
                id: snapshot.id,
            });
        };
        let expected = snapshot.seq.saturating_sub(1);
        if entry.snapshot.seq != expected {
            return Err(StoreError::Conflict {
                id: snapshot.id,
                expected,
                found: entry.snapshot.seq,
            });
        }
        entry.snapshot = snapshot;
        entry.history.push(record);
        Ok(())
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.read(flow, |instances| {
            instances.get(id).map(|entry| entry.snapshot.clone())
        }))
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let mut summaries: Vec<Summary> = self.read(flow, |instances| {
            instances
                .values()
                .map(|entry| Summary {
                    id: entry.snapshot.id.clone(),
                    state_name: entry.snapshot.state_name.clone(),
                    status: entry.snapshot.status,
                    seq: entry.snapshot.seq,
                })
                .collect()
        });
        summaries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(summaries)
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Snapshot>, StoreError> {
        let mut snapshots: Vec<Snapshot> = self.read(flow, |instances| {
            instances
                .values()
                .filter(|entry| !entry.snapshot.status.is_finished())
                .map(|entry| entry.snapshot.clone())
                .collect()
        });
        snapshots.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(snapshots)
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        Ok(self.read(flow, |instances| {
            instances
                .get(id)
                .map(|entry| entry.history.clone())
                .unwrap_or_default()
        }))
    }
}
