//! Business workflows (orders, approvals, payments) declared in one [`workflow!`] block,
//! checked by the compiler, and run durably.
//!
//! A flow is a set of states and the transitions between them. The macro turns it into
//! **typestate types**: each state is a struct and each transition a method that consumes
//! the state it starts from, so a step the flow does not allow is a compile error. Each
//! transition may name an **undo**; a failed step unwinds the completed ones, newest first.
//!
//! ```
//! use workflow_core::prelude::*;
//!
//! workflow! {
//!     #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
//!     pub Order {
//!         initial Placed { amount: u64 }
//!         state   Paid   { amount: u64, charge: String }
//!         final   Shipped { tracking: String }
//!
//!         pay:  Placed -> Paid undo refund, retry(3, 100ms..2s), timeout(30s);
//!         ship: Paid -> Shipped;
//!     }
//! }
//!
//! struct Shop;
//!
//! impl order::Activities for Shop {
//!     type Error = String;
//!     async fn pay(&self, from: &order::Placed, ctx: &StepCtx) -> Result<order::Paid, String> {
//!         // Pass `ctx.idempotency_key()` to the payment provider: it is the same for every
//!         // attempt of this step, and across restarts.
//!         Ok(order::Paid { amount: from.amount, charge: "ch_1".into() })
//!     }
//!     async fn ship(&self, _: &order::Paid, _: &StepCtx) -> Result<order::Shipped, String> {
//!         Ok(order::Shipped { tracking: "TRACK-1".into() })
//!     }
//!     async fn refund(&self, _: &order::Paid, _: &StepCtx) -> Result<(), String> {
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // By hand, step by step: `placed.ship(..)` would not compile.
//! let paid = order::Placed { amount: 4_990 }.pay(&Shop).await.unwrap();
//! let shipped = paid.ship(&Shop).await.unwrap();
//! assert_eq!(shipped.tracking, "TRACK-1");
//!
//! // Or by the durable driver, which retries, times out, waits for events and timers,
//! // compensates, and records every step before acting on it.
//! use workflow_core::runtime::{Outcome, Runtime};
//! let runtime = Runtime::<order::Flow, _>::new(Shop);
//! let id = runtime.start(order::Placed { amount: 4_990 }).await.unwrap();
//! assert!(matches!(runtime.outcome(&id).await.unwrap(), Outcome::Completed(_)));
//! # }
//! ```
//!
//! # Where things are
//!
//! - [`workflow!`]: the DSL (states, transitions, `undo`, `retry`, `timeout`, `on` events,
//!   `after` timers, `compensate`), and what it generates: a module per flow with the state
//!   types, the `Activities` trait to implement, typestate methods, a typed saga, one
//!   [`Step`] per transition, the flow's [`Definition`] and its Mermaid diagram.
//! - [`runtime`]: the durable driver. A [`Host`](runtime::Host) runs any number of flows on
//!   a [`Store`](store::Store); a [`Client`](runtime::Client) per flow starts instances,
//!   sends events, cancels, and reads outcomes, from any process; [`Runtime`](runtime::Runtime)
//!   is both, for one flow.
//! - [`store`]: where instances live, and the work queue hosts share:
//!   [`MemoryStore`](store::MemoryStore) for tests, [`SqliteStore`](store::SqliteStore) for
//!   durability in one file (feature `sqlite`, on by default).
//! - [`combinators`] and [`StepExt`]: steps compose like arrows (`then`, `par`, `or`), and so
//!   does their compensation.
//! - [`testing`]: fake activities that record their calls, in virtual time.
//! - [`Failure`], [`Report`]: what failed, and what compensation did, as data.

// On docs.rs (nightly), each store is marked with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Lets the crate's own unit tests use `workflow!`, whose expansion names `::workflow_core`.
extern crate self as workflow_core;

pub mod combinators;
mod context;
mod definition;
mod expansion;
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

/// A set with the same fast hasher as [`FastMap`].
pub(crate) type FastSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;

pub use combinators::StepExt;
pub use context::{InstanceId, StepCtx};
pub use definition::{
    BranchDef, CatchDef, Definition, EachDef, EventDef, FieldDef, Fingerprint, Parts, RetryPolicy,
    StateDef, StateKind, TargetDef, TransitionDef, Trigger, UndoDef, Wait,
};
pub use either::Either;
pub use failed::{Failed, WrongState};
pub use failure::{Failure, FailureKind};
pub use report::{Entry, Report};
pub use step::{Aborted, Arrow, Step, StepResult};
pub use undo::Unwound;
pub use workflow::{FlowEvent, FlowState, Workflow};
pub use workflow_macros::workflow;

/// The typed saga's compensation chain, as it appears in a saga's type
/// (`order::Saga<Paid, Link<Pay, Reserved, Link<Reserve, Placed, Empty>>>`).
///
/// A saga grows its chain one [`Link`](saga::Link) per step; [`Empty`](saga::Empty) is where
/// every saga starts. Name these types to write a function that takes or returns a saga in a
/// given state.
pub mod saga {
    pub use crate::undo::{Chain, Empty, Keep, Landed, Link, PartsLink, Undo, UndoParts, Unwound};
}

/// What the code `workflow!` generates implements, for drivers generic over flows: not
/// needed to write or run a flow. [`Dispatch`](plumbing::Dispatch) runs one attempt of any
/// transition or undo by its index; [`Continue`](plumbing::Continue) is how `then` decides
/// that one step may follow another.
pub mod plumbing {
    pub use crate::step::Continue;
    pub use crate::workflow::{Dispatch, DispatchError, Encoded, Mismatch};
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// The names a flow's author needs: `use workflow_core::prelude::*;`.
pub mod prelude {
    pub use crate::{Failed, InstanceId, Step, StepCtx, StepExt, Workflow, workflow};
}

/// Paths used by code that `workflow!` generates. Not public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::expansion::{
        chosen, decode_part, dispatched, each_local, first_error, mismatch_text, not_a_part_undo,
        outputs, part_ran, part_undone, ran, ran_landed, saga_advance, saga_advance_parts,
        saga_compensate, skip_landing, skip_named, undo_kept_part, undo_mismatch,
    };
    pub use crate::plumbing::{Continue, Dispatch, DispatchError, Mismatch};
    pub use crate::runtime::{ChildOf, NewChild, decode_child, start_child};
    pub use crate::saga::{Chain, Empty, Keep, Landed, Link, PartsLink, Undo, UndoParts};
    pub use crate::undo::undo_landing;
    pub use crate::workflow::Encoded;
    pub use crate::workflow::mismatch;
    pub use crate::{
        __activities as activities, __continue_always as continue_always,
        __continue_or_exit as continue_or_exit, __definition as definition, __dispatch as dispatch,
        __event_impls as event_impls, __from_variant as from_variant, __local_ctx as local_ctx,
        __no_undo as no_undo, __saga as saga, __saga_step as saga_step,
        __state_conversions as state_conversions, __state_impls as state_impls, __step as step,
        __typestate_step as typestate_step, __undo as undo,
    };
    pub use crate::{
        Aborted, Arrow, BranchDef, CatchDef, Definition, EachDef, Either, EventDef, Failed,
        Failure, FieldDef, Fingerprint, FlowEvent, FlowState, Parts, Report, RetryPolicy, StateDef,
        StateKind, Step, StepCtx, TargetDef, TransitionDef, Trigger, UndoDef, Unwound, Wait,
        Workflow, WrongState,
    };
    pub use core::convert::Infallible;
    pub use core::time::Duration;
    pub use futures_util::future::join;
    pub use std::boxed::Box;
    pub use std::string::String;
    pub use std::sync::Arc;
    pub use std::vec::Vec;

    // The `core` names generated code needs, under one short path: the flow module imports
    // this module as `__wf`, which keeps the expansion small and immune to shadowing.
    pub use core::clone::Clone;
    pub use core::cmp::{Eq, PartialEq};
    pub use core::convert::{From, Into, TryFrom};
    pub use core::default::Default;
    pub use core::fmt::{Debug, Display, Formatter, Result as FmtResult};
    pub use core::future::Future;
    pub use core::hash::{Hash, Hasher};
    pub use core::marker::{Copy, Send, Sync};
    pub use core::option::Option::{self, None, Some};
    pub use core::primitive::{bool, str, usize};
    pub use core::result::Result::{self, Err, Ok};

    /// A length of time read from a state's field (`after(trial)`): a `Duration`, or any
    /// `Clone` type that converts into one.
    #[diagnostic::on_unimplemented(
        message = "a field of type `{Self}` cannot be read as a length of time",
        label = "read as a length of time here",
        note = "a field named in `after`, `timeout` or `retry` is a `std::time::Duration`, or a `Clone` type with `impl From<{Self}> for Duration`"
    )]
    pub trait AsDuration {
        /// The length of time.
        fn as_duration(&self) -> Duration;
    }

    impl<T: Clone + Into<Duration>> AsDuration for T {
        fn as_duration(&self) -> Duration {
            self.clone().into()
        }
    }

    /// The length of time in `field`.
    pub fn duration_of<T: AsDuration>(field: &T) -> Duration {
        field.as_duration()
    }

    /// Fails to compile, at the span of the type it is instantiated with, unless the type can
    /// cross threads: a driver moves states between tasks.
    pub const fn assert_send_sync<T: Send + Sync + 'static>() {}
}
