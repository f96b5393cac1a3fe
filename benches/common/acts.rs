//! The activities of the flow of `ten.rs` the benchmarks run, and one run of the flow by the
//! driver: shared by `benches/driver.rs`, `benches/durable.rs` and `examples/instructions.rs`.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use workflow_core::prelude::*;
use workflow_core::runtime::{Outcome, Runtime};

use super::flow::ten;
use ten::{S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10};

/// Activities that each spin for `work` (zero: no-op).
pub struct Acts {
    pub work: Duration,
}

fn spin(work: Duration) {
    if work.is_zero() {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < work {
        black_box(());
    }
}

macro_rules! activities {
    ($($step:ident $undo:ident: $from:ident -> $to:ident;)*) => {
        impl ten::Activities for Acts {
            type Error = Infallible;
            $(
                async fn $step(&self, from: &$from, _: &StepCtx) -> Result<$to, Infallible> {
                    spin(self.work);
                    Ok($to { n: from.n + 1 })
                }
                async fn $undo(&self, _: &$to, _: &StepCtx) -> Result<(), Infallible> {
                    Ok(())
                }
            )*
        }
    };
}

activities! {
    t1 u1: S0 -> S1; t2 u2: S1 -> S2; t3 u3: S2 -> S3; t4 u4: S3 -> S4; t5 u5: S4 -> S5;
    t6 u6: S5 -> S6; t7 u7: S6 -> S7; t8 u8: S7 -> S8; t9 u9: S8 -> S9; t10 u10: S9 -> S10;
}

/// One instance run by the driver: started, and awaited to its end.
pub async fn run_one(runtime: &Runtime<ten::Flow, Acts>) {
    let id = runtime.start(S0 { n: 0 }).await.unwrap();
    let Ok(Outcome::Completed(state)) = runtime.outcome(&id).await else {
        unreachable!("the flow cannot fail")
    };
    black_box(state);
}
