//! The flow the benchmarks run: ten automatic transitions, each with an undo.

use workflow_core::prelude::*;

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Ten {
        initial S0 { n: u64 }
        state S1 { n: u64 }
        state S2 { n: u64 }
        state S3 { n: u64 }
        state S4 { n: u64 }
        state S5 { n: u64 }
        state S6 { n: u64 }
        state S7 { n: u64 }
        state S8 { n: u64 }
        state S9 { n: u64 }
        final S10 { n: u64 }
        t1: S0 -> S1 undo u1;
        t2: S1 -> S2 undo u2;
        t3: S2 -> S3 undo u3;
        t4: S3 -> S4 undo u4;
        t5: S4 -> S5 undo u5;
        t6: S5 -> S6 undo u6;
        t7: S6 -> S7 undo u7;
        t8: S7 -> S8 undo u8;
        t9: S8 -> S9 undo u9;
        t10: S9 -> S10 undo u10;
    }
}
