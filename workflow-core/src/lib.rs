#![doc = include_str!("../../README.md")]

// Lets the crate's own unit tests use `workflow!`, whose expansion names `::workflow_core`.
extern crate self as workflow_core;

pub mod combinators;
mod context;
mod definition;
mod failed;
mod failure;
mod report;
pub mod runtime;
mod step;
pub mod store;
pub mod testing;
mod undo;
mod workflow;

/// A `HashMap` with a fast hasher, for the maps looked up at every step (none of their keys
/// are chosen by an attacker to collide: they are ids the store already holds).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub use combinators::StepExt;
pub use context::{InstanceId, StepCtx};
pub use definition::{
    Definition, EventDef, FieldDef, Fingerprint, RetryPolicy, StateDef, StateKind, TargetDef,
    TransitionDef, Trigger, UndoDef,
};
pub use either::Either;
pub use failed::{Failed, WrongState};
pub use failure::{Failure, FailureKind};
pub use report::{Entry, Report};
pub use step::{Aborted, Arrow, Continue, Step, StepResult};
pub use undo::{Chain, Empty, Landed, Link, Undo, Unwound};
pub use workflow::{Dispatch, DispatchError, FlowEvent, FlowState, Mismatch, Workflow};
pub use workflow_macros::workflow;

/// The names a flow's author needs: `use workflow_core::prelude::*;`.
pub mod prelude {
    pub use crate::{Failed, InstanceId, Step, StepCtx, StepExt, Workflow, workflow};
}

/// Paths used by code that `workflow!` generates. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::undo::undo_landing;
    pub use crate::{
        Aborted, Arrow, Chain, Continue, Definition, Dispatch, DispatchError, Either, Empty,
        EventDef, Failed, FieldDef, Fingerprint, FlowEvent, FlowState, Landed, Link, Mismatch,
        Report, RetryPolicy, StateDef, StateKind, Step, StepCtx, TargetDef, TransitionDef, Trigger,
        Undo, UndoDef, Unwound, Workflow, WrongState,
    };
    pub use core::convert::Infallible;
    pub use core::time::Duration;
    pub use std::boxed::Box;
    pub use std::sync::Arc;

    // The `core` names generated code needs, under one short path: the flow module imports
    // this module as `__wf`, which keeps the expansion small and immune to shadowing.
    pub use core::clone::Clone;
    pub use core::cmp::{Eq, PartialEq};
    pub use core::convert::{From, TryFrom};
    pub use core::default::Default;
    pub use core::fmt::{Debug, Display, Formatter, Result as FmtResult};
    pub use core::future::Future;
    pub use core::hash::Hash;
    pub use core::marker::{Copy, Send, Sync};
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{bool, str, usize};
    pub use core::result::Result::{self, Err, Ok};

    /// Fails to compile, at the span of the type it is instantiated with, unless the type can
    /// cross threads: a driver moves states between tasks.
    pub const fn assert_send_sync<T: Send + Sync + 'static>() {}
}
