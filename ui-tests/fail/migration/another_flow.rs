// A migration moves instances between two definitions of one flow: the names must match.
use std::sync::Arc;
use workflow_core::prelude::*;
use workflow_core::runtime::{Mapped, Migration};
use workflow_core::store::MemoryStore;

workflow! {
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub Door { initial Closed {} final Open {} open: Closed -> Open; }
}

workflow! {
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub Gate { initial Shut {} final Wide {} swing: Shut -> Wide; }
}

fn main() {
    let _ = Migration::<door::Flow, gate::Flow, _>::new(Arc::new(MemoryStore::new()), |_| Mapped::Keep);
}
