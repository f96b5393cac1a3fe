//! Flows named like Rust keywords (`Type`, `Match`, `Async`, `Gen`): their modules are raw
//! identifiers, and work like any other.
use workflow_core::workflow;

workflow! {
    pub Type {
        initial Draft {}
        final Done {}
        finish: Draft -> Done;
    }
}

workflow! {
    pub Match {
        initial Draft {}
        final Done {}
        finish: Draft -> Done;
    }
}

workflow! {
    pub Async {
        initial Draft {}
        final Done {}
        finish: Draft -> Done;
    }
}

workflow! {
    pub Gen {
        initial Draft {}
        final Done {}
        finish: Draft -> Done;
    }
}

fn main() {
    let _: r#type::State = r#type::Draft {}.into();
    let _: r#match::State = r#match::Done {}.into();
    let _: r#async::State = r#async::Draft {}.into();
    assert_eq!(r#gen::DEFINITION.name(), "Gen");
}
