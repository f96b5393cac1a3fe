// A new state built from an old one that lacks its data does not compile.
use std::sync::Arc;
use workflow_core::runtime::{Mapped, Migration};
use workflow_core::store::MemoryStore;

mod v1 {
    use workflow_core::prelude::*;
    workflow! {
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub Door { initial Closed {} final Open {} open: Closed -> Open; }
    }
}

mod v2 {
    use workflow_core::prelude::*;
    workflow! {
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        pub Door { initial Closed {} state Unlocked { by: String } final Open {} unlock: Closed -> Unlocked; open: Unlocked -> Open; }
    }
}

fn main() {
    let _ = Migration::<v1::door::Flow, v2::door::Flow, _>::new(Arc::new(MemoryStore::new()), |state| {
        match state {
            v1::door::State::Closed(_) => Mapped::To(v2::door::Unlocked {}.into()),
            v1::door::State::Open(_) => Mapped::Keep,
        }
    });
}
