//! The expansion is clean under strict lints: no warning, every public item documented.
#![deny(warnings, missing_docs, missing_debug_implementations, rust_2018_idioms, unused, unreachable_pub, unused_qualifications)]

//! A crate with a flow.

use workflow_core::workflow;

/// A request.
#[derive(Debug)]
pub struct Request {
    /// Its id.
    pub id: u32,
}

/// An event.
#[derive(Debug)]
pub struct Stop;

workflow! {
    /// A documented flow.
    #[derive(Debug)]
    pub Strict {
        /// Start here.
        initial Start {
            /// The request.
            request: Request,
        }
        /// In between.
        state Middle {
            /// The request.
            request: Request,
        }
        /// Done.
        final Done {}
        /// Stopped.
        final Stopped {}
        /// Moves on.
        step: Start -> Middle undo unstep | Stopped, retry(3, 1s..1min, jitter), timeout(10s);
        /// Finishes.
        finish: Middle -> Done, after(1h);
        /// Stops.
        stop: Start | Middle -> Stopped, on Stop, compensate;
    }
}

fn main() {}
