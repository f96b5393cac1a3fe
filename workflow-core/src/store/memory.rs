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
    instances: Mutex<HashMap<(String, InstanceId), Entry>>,
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

    fn key(flow: &str, id: &InstanceId) -> (String, InstanceId) {
        (flow.to_string(), id.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, InstanceId), Entry>> {
        // A panic while holding the lock cannot leave an entry half-written: every write
        // below is a single insert or assignment.
        self.instances
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create(&self, snapshot: &Snapshot, record: &Record) -> Result<(), StoreError> {
        let mut instances = self.lock();
        let key = Self::key(&snapshot.flow, &snapshot.id);
        if instances.contains_key(&key) {
            return Err(StoreError::Duplicate {
                flow: snapshot.flow.clone(),
                id: snapshot.id.clone(),
            });
        }
        instances.insert(
            key,
            Entry {
                snapshot: snapshot.clone(),
                history: vec![record.clone()],
            },
        );
        Ok(())
    }

    async fn save(&self, snapshot: &Snapshot, record: &Record) -> Result<(), StoreError> {
        let mut instances = self.lock();
        let Some(entry) = instances.get_mut(&Self::key(&snapshot.flow, &snapshot.id)) else {
            return Err(StoreError::NotFound {
                flow: snapshot.flow.clone(),
                id: snapshot.id.clone(),
            });
        };
        let expected = snapshot.seq.saturating_sub(1);
        if entry.snapshot.seq != expected {
            return Err(StoreError::Conflict {
                id: snapshot.id.clone(),
                expected,
                found: entry.snapshot.seq,
            });
        }
        entry.snapshot = snapshot.clone();
        entry.history.push(record.clone());
        Ok(())
    }

    async fn load(&self, flow: &str, id: &InstanceId) -> Result<Option<Snapshot>, StoreError> {
        Ok(self
            .lock()
            .get(&Self::key(flow, id))
            .map(|entry| entry.snapshot.clone()))
    }

    async fn list(&self, flow: &str) -> Result<Vec<Summary>, StoreError> {
        let instances = self.lock();
        let mut summaries: Vec<Summary> = instances
            .iter()
            .filter(|((f, _), _)| f == flow)
            .map(|(_, entry)| Summary {
                id: entry.snapshot.id.clone(),
                state_name: entry.snapshot.state_name.clone(),
                status: entry.snapshot.status,
                seq: entry.snapshot.seq,
            })
            .collect();
        summaries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(summaries)
    }

    async fn unfinished(&self, flow: &str) -> Result<Vec<Snapshot>, StoreError> {
        let instances = self.lock();
        let mut snapshots: Vec<Snapshot> = instances
            .iter()
            .filter(|((f, _), entry)| f == flow && !entry.snapshot.status.is_finished())
            .map(|(_, entry)| entry.snapshot.clone())
            .collect();
        snapshots.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(snapshots)
    }

    async fn history(&self, flow: &str, id: &InstanceId) -> Result<Vec<Record>, StoreError> {
        Ok(self
            .lock()
            .get(&Self::key(flow, id))
            .map(|entry| entry.history.clone())
            .unwrap_or_default())
    }
}
