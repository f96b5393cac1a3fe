//! Generated paths, generated and run per second: the edge-cover path set of scenario S1
//! (the order example's flow and shop) and of a 50-state chain with branches, each path run
//! on a fresh in-memory runtime in virtual time by the `PathRunner`, side by side with
//! generating the set alone.
//!
//! `cargo bench --bench paths`

#[path = "../examples/order/shop.rs"]
#[allow(dead_code, reason = "the demo's crash switch is not used here")]
mod shop;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shop::{Shop, order, request};
use workflow_core::prelude::*;
use workflow_core::testing::{CallLog, Fault, Path, PathRunner, PathsChecked, paths};

workflow! {
    /// A chain of 50 states: `S0` to `S47`, then `Done`; every fifth transition can
    /// also end the flow in `Rejected`.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub FiftyStates {
        initial S0 { reject_at: u32 }
        state   S1 { reject_at: u32 }
        state   S2 { reject_at: u32 }
        state   S3 { reject_at: u32 }
        state   S4 { reject_at: u32 }
        state   S5 { reject_at: u32 }
        state   S6 { reject_at: u32 }
        state   S7 { reject_at: u32 }
        state   S8 { reject_at: u32 }
        state   S9 { reject_at: u32 }
        state   S10 { reject_at: u32 }
        state   S11 { reject_at: u32 }
        state   S12 { reject_at: u32 }
        state   S13 { reject_at: u32 }
        state   S14 { reject_at: u32 }
        state   S15 { reject_at: u32 }
        state   S16 { reject_at: u32 }
        state   S17 { reject_at: u32 }
        state   S18 { reject_at: u32 }
        state   S19 { reject_at: u32 }
        state   S20 { reject_at: u32 }
        state   S21 { reject_at: u32 }
        state   S22 { reject_at: u32 }
        state   S23 { reject_at: u32 }
        state   S24 { reject_at: u32 }
        state   S25 { reject_at: u32 }
        state   S26 { reject_at: u32 }
        state   S27 { reject_at: u32 }
        state   S28 { reject_at: u32 }
        state   S29 { reject_at: u32 }
        state   S30 { reject_at: u32 }
        state   S31 { reject_at: u32 }
        state   S32 { reject_at: u32 }
        state   S33 { reject_at: u32 }
        state   S34 { reject_at: u32 }
        state   S35 { reject_at: u32 }
        state   S36 { reject_at: u32 }
        state   S37 { reject_at: u32 }
        state   S38 { reject_at: u32 }
        state   S39 { reject_at: u32 }
        state   S40 { reject_at: u32 }
        state   S41 { reject_at: u32 }
        state   S42 { reject_at: u32 }
        state   S43 { reject_at: u32 }
        state   S44 { reject_at: u32 }
        state   S45 { reject_at: u32 }
        state   S46 { reject_at: u32 }
        state   S47 { reject_at: u32 }
        final   Done {}
        final   Rejected {}

        t0: S0 -> S1 undo u0;
        t1: S1 -> S2 undo u1;
        t2: S2 -> S3 undo u2;
        t3: S3 -> S4 undo u3;
        t4: S4 -> S5 undo u4;
        t5: S5 -> S6 undo u5 | Rejected;
        t6: S6 -> S7 undo u6;
        t7: S7 -> S8 undo u7;
        t8: S8 -> S9 undo u8;
        t9: S9 -> S10 undo u9;
        t10: S10 -> S11 undo u10 | Rejected;
        t11: S11 -> S12 undo u11;
        t12: S12 -> S13 undo u12;
        t13: S13 -> S14 undo u13;
        t14: S14 -> S15 undo u14;
        t15: S15 -> S16 undo u15 | Rejected;
        t16: S16 -> S17 undo u16;
        t17: S17 -> S18 undo u17;
        t18: S18 -> S19 undo u18;
        t19: S19 -> S20 undo u19;
        t20: S20 -> S21 undo u20 | Rejected;
        t21: S21 -> S22 undo u21;
        t22: S22 -> S23 undo u22;
        t23: S23 -> S24 undo u23;
        t24: S24 -> S25 undo u24;
        t25: S25 -> S26 undo u25 | Rejected;
        t26: S26 -> S27 undo u26;
        t27: S27 -> S28 undo u27;
        t28: S28 -> S29 undo u28;
        t29: S29 -> S30 undo u29;
        t30: S30 -> S31 undo u30 | Rejected;
        t31: S31 -> S32 undo u31;
        t32: S32 -> S33 undo u32;
        t33: S33 -> S34 undo u33;
        t34: S34 -> S35 undo u34;
        t35: S35 -> S36 undo u35 | Rejected;
        t36: S36 -> S37 undo u36;
        t37: S37 -> S38 undo u37;
        t38: S38 -> S39 undo u38;
        t39: S39 -> S40 undo u39;
        t40: S40 -> S41 undo u40 | Rejected;
        t41: S41 -> S42 undo u41;
        t42: S42 -> S43 undo u42;
        t43: S43 -> S44 undo u43;
        t44: S44 -> S45 undo u44;
        t45: S45 -> S46 undo u45 | Rejected;
        t46: S46 -> S47 undo u46;
        t47: S47 -> Done;
    }
}

/// Fakes for the 50-state flow: every call recorded in the log; branch `tK` lands in
/// `Rejected` when the start data says `reject_at: K`.
struct FiftyFakes(CallLog);

impl fifty_states::Activities for FiftyFakes {
    type Error = Fault;

    async fn t0(&self, from: &fifty_states::S0, ctx: &StepCtx) -> Result<fifty_states::S1, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S1 {
            reject_at: from.reject_at,
        })
    }

    async fn u0(&self, _: &fifty_states::S1, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t1(&self, from: &fifty_states::S1, ctx: &StepCtx) -> Result<fifty_states::S2, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S2 {
            reject_at: from.reject_at,
        })
    }

    async fn u1(&self, _: &fifty_states::S2, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t2(&self, from: &fifty_states::S2, ctx: &StepCtx) -> Result<fifty_states::S3, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S3 {
            reject_at: from.reject_at,
        })
    }

    async fn u2(&self, _: &fifty_states::S3, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t3(&self, from: &fifty_states::S3, ctx: &StepCtx) -> Result<fifty_states::S4, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S4 {
            reject_at: from.reject_at,
        })
    }

    async fn u3(&self, _: &fifty_states::S4, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t4(&self, from: &fifty_states::S4, ctx: &StepCtx) -> Result<fifty_states::S5, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S5 {
            reject_at: from.reject_at,
        })
    }

    async fn u4(&self, _: &fifty_states::S5, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t5(
        &self,
        from: &fifty_states::S5,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T5To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 5 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S6 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u5(&self, _: &fifty_states::S6, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t6(&self, from: &fifty_states::S6, ctx: &StepCtx) -> Result<fifty_states::S7, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S7 {
            reject_at: from.reject_at,
        })
    }

    async fn u6(&self, _: &fifty_states::S7, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t7(&self, from: &fifty_states::S7, ctx: &StepCtx) -> Result<fifty_states::S8, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S8 {
            reject_at: from.reject_at,
        })
    }

    async fn u7(&self, _: &fifty_states::S8, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t8(&self, from: &fifty_states::S8, ctx: &StepCtx) -> Result<fifty_states::S9, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S9 {
            reject_at: from.reject_at,
        })
    }

    async fn u8(&self, _: &fifty_states::S9, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t9(&self, from: &fifty_states::S9, ctx: &StepCtx) -> Result<fifty_states::S10, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S10 {
            reject_at: from.reject_at,
        })
    }

    async fn u9(&self, _: &fifty_states::S10, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t10(
        &self,
        from: &fifty_states::S10,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T10To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 10 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S11 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u10(&self, _: &fifty_states::S11, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t11(
        &self,
        from: &fifty_states::S11,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S12, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S12 {
            reject_at: from.reject_at,
        })
    }

    async fn u11(&self, _: &fifty_states::S12, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t12(
        &self,
        from: &fifty_states::S12,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S13, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S13 {
            reject_at: from.reject_at,
        })
    }

    async fn u12(&self, _: &fifty_states::S13, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t13(
        &self,
        from: &fifty_states::S13,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S14, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S14 {
            reject_at: from.reject_at,
        })
    }

    async fn u13(&self, _: &fifty_states::S14, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t14(
        &self,
        from: &fifty_states::S14,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S15, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S15 {
            reject_at: from.reject_at,
        })
    }

    async fn u14(&self, _: &fifty_states::S15, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t15(
        &self,
        from: &fifty_states::S15,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T15To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 15 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S16 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u15(&self, _: &fifty_states::S16, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t16(
        &self,
        from: &fifty_states::S16,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S17, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S17 {
            reject_at: from.reject_at,
        })
    }

    async fn u16(&self, _: &fifty_states::S17, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t17(
        &self,
        from: &fifty_states::S17,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S18, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S18 {
            reject_at: from.reject_at,
        })
    }

    async fn u17(&self, _: &fifty_states::S18, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t18(
        &self,
        from: &fifty_states::S18,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S19, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S19 {
            reject_at: from.reject_at,
        })
    }

    async fn u18(&self, _: &fifty_states::S19, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t19(
        &self,
        from: &fifty_states::S19,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S20, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S20 {
            reject_at: from.reject_at,
        })
    }

    async fn u19(&self, _: &fifty_states::S20, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t20(
        &self,
        from: &fifty_states::S20,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T20To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 20 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S21 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u20(&self, _: &fifty_states::S21, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t21(
        &self,
        from: &fifty_states::S21,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S22, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S22 {
            reject_at: from.reject_at,
        })
    }

    async fn u21(&self, _: &fifty_states::S22, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t22(
        &self,
        from: &fifty_states::S22,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S23, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S23 {
            reject_at: from.reject_at,
        })
    }

    async fn u22(&self, _: &fifty_states::S23, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t23(
        &self,
        from: &fifty_states::S23,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S24, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S24 {
            reject_at: from.reject_at,
        })
    }

    async fn u23(&self, _: &fifty_states::S24, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t24(
        &self,
        from: &fifty_states::S24,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S25, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S25 {
            reject_at: from.reject_at,
        })
    }

    async fn u24(&self, _: &fifty_states::S25, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t25(
        &self,
        from: &fifty_states::S25,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T25To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 25 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S26 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u25(&self, _: &fifty_states::S26, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t26(
        &self,
        from: &fifty_states::S26,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S27, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S27 {
            reject_at: from.reject_at,
        })
    }

    async fn u26(&self, _: &fifty_states::S27, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t27(
        &self,
        from: &fifty_states::S27,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S28, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S28 {
            reject_at: from.reject_at,
        })
    }

    async fn u27(&self, _: &fifty_states::S28, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t28(
        &self,
        from: &fifty_states::S28,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S29, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S29 {
            reject_at: from.reject_at,
        })
    }

    async fn u28(&self, _: &fifty_states::S29, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t29(
        &self,
        from: &fifty_states::S29,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S30, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S30 {
            reject_at: from.reject_at,
        })
    }

    async fn u29(&self, _: &fifty_states::S30, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t30(
        &self,
        from: &fifty_states::S30,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T30To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 30 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S31 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u30(&self, _: &fifty_states::S31, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t31(
        &self,
        from: &fifty_states::S31,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S32, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S32 {
            reject_at: from.reject_at,
        })
    }

    async fn u31(&self, _: &fifty_states::S32, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t32(
        &self,
        from: &fifty_states::S32,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S33, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S33 {
            reject_at: from.reject_at,
        })
    }

    async fn u32(&self, _: &fifty_states::S33, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t33(
        &self,
        from: &fifty_states::S33,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S34, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S34 {
            reject_at: from.reject_at,
        })
    }

    async fn u33(&self, _: &fifty_states::S34, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t34(
        &self,
        from: &fifty_states::S34,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S35, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S35 {
            reject_at: from.reject_at,
        })
    }

    async fn u34(&self, _: &fifty_states::S35, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t35(
        &self,
        from: &fifty_states::S35,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T35To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 35 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S36 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u35(&self, _: &fifty_states::S36, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t36(
        &self,
        from: &fifty_states::S36,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S37, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S37 {
            reject_at: from.reject_at,
        })
    }

    async fn u36(&self, _: &fifty_states::S37, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t37(
        &self,
        from: &fifty_states::S37,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S38, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S38 {
            reject_at: from.reject_at,
        })
    }

    async fn u37(&self, _: &fifty_states::S38, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t38(
        &self,
        from: &fifty_states::S38,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S39, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S39 {
            reject_at: from.reject_at,
        })
    }

    async fn u38(&self, _: &fifty_states::S39, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t39(
        &self,
        from: &fifty_states::S39,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S40, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S40 {
            reject_at: from.reject_at,
        })
    }

    async fn u39(&self, _: &fifty_states::S40, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t40(
        &self,
        from: &fifty_states::S40,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T40To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 40 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S41 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u40(&self, _: &fifty_states::S41, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t41(
        &self,
        from: &fifty_states::S41,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S42, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S42 {
            reject_at: from.reject_at,
        })
    }

    async fn u41(&self, _: &fifty_states::S42, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t42(
        &self,
        from: &fifty_states::S42,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S43, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S43 {
            reject_at: from.reject_at,
        })
    }

    async fn u42(&self, _: &fifty_states::S43, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t43(
        &self,
        from: &fifty_states::S43,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S44, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S44 {
            reject_at: from.reject_at,
        })
    }

    async fn u43(&self, _: &fifty_states::S44, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t44(
        &self,
        from: &fifty_states::S44,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S45, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S45 {
            reject_at: from.reject_at,
        })
    }

    async fn u44(&self, _: &fifty_states::S45, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t45(
        &self,
        from: &fifty_states::S45,
        ctx: &StepCtx,
    ) -> Result<fifty_states::T45To, Fault> {
        self.0.call(ctx)?;
        if from.reject_at == 45 {
            return Ok(fifty_states::Rejected {}.into());
        }
        Ok(fifty_states::S46 {
            reject_at: from.reject_at,
        }
        .into())
    }

    async fn u45(&self, _: &fifty_states::S46, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t46(
        &self,
        from: &fifty_states::S46,
        ctx: &StepCtx,
    ) -> Result<fifty_states::S47, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::S47 {
            reject_at: from.reject_at,
        })
    }

    async fn u46(&self, _: &fifty_states::S47, ctx: &StepCtx) -> Result<(), Fault> {
        self.0.call(ctx)
    }

    async fn t47(&self, _: &fifty_states::S47, ctx: &StepCtx) -> Result<fifty_states::Done, Fault> {
        self.0.call(ctx)?;
        Ok(fifty_states::Done {})
    }
}

/// The branch transitions of the 50-state flow: `tK` for these `K` can land in `Rejected`.
const BRANCHES: [u32; 9] = [5, 10, 15, 20, 25, 30, 35, 40, 45];

/// S1's runner: the data steers the stock check, as in the S1 test.
fn s1_runner() -> PathRunner<order::Flow> {
    PathRunner::<order::Flow>::new(|path: &Path| {
        if path.takes("check_inventory", "Cancelled") {
            request("order-p", "out_of_stock", 2, 1_990)
        } else {
            request("order-p", "espresso-machine", 1, 49_900)
        }
    })
}

/// The 50-state runner: `reject_at` is the `K` of the path's `tK -> Rejected` landing, if any.
fn fifty_runner() -> PathRunner<fifty_states::Flow> {
    PathRunner::<fifty_states::Flow>::new(|path: &Path| {
        let reject_at = BRANCHES
            .into_iter()
            .find(|k| path.takes(&format!("t{k}"), "Rejected"))
            .unwrap_or(u32::MAX);
        fifty_states::S0 { reject_at }
    })
}

async fn run_s1(runner: &PathRunner<order::Flow>, paths: &[Path]) -> PathsChecked {
    runner.run_all(paths, Shop::new).await.unwrap()
}

async fn run_fifty(runner: &PathRunner<fifty_states::Flow>, paths: &[Path]) -> PathsChecked {
    runner.run_all(paths, FiftyFakes).await.unwrap()
}

fn generated_paths(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();

    // Checked once, outside the timed loops: every generated path runs as it says.
    let s1 = s1_runner();
    let s1_paths = paths(&order::DEFINITION);
    let checked = rt.block_on(run_s1(&s1, &s1_paths));
    assert_eq!(checked.paths, s1_paths.len());
    println!("s1: {} paths, {} moves", checked.paths, checked.moves);

    let fifty = fifty_runner();
    let fifty_paths = paths(&fifty_states::DEFINITION);
    assert!(
        fifty_paths.iter().any(|path| path.visits("Rejected")),
        "some path lands in Rejected"
    );
    let checked = rt.block_on(run_fifty(&fifty, &fifty_paths));
    assert_eq!(checked.paths, fifty_paths.len());
    println!(
        "fifty_states: {} states, {} paths, {} moves",
        fifty_states::DEFINITION.states().len(),
        checked.paths,
        checked.moves
    );
    assert_eq!(fifty_states::DEFINITION.states().len(), 50);

    let mut group = c.benchmark_group("paths");
    group.sample_size(10);

    group.throughput(Throughput::Elements(s1_paths.len() as u64));
    group.bench_function("s1/generate", |b| {
        b.iter(|| paths(black_box(&order::DEFINITION)));
    });
    group.bench_function("s1/generate_and_run", |b| {
        b.iter(|| {
            rt.block_on(async {
                let generated = paths(black_box(&order::DEFINITION));
                run_s1(&s1, &generated).await
            })
        });
    });

    group.throughput(Throughput::Elements(fifty_paths.len() as u64));
    group.bench_function("fifty_states/generate", |b| {
        b.iter(|| paths(black_box(&fifty_states::DEFINITION)));
    });
    group.bench_function("fifty_states/generate_and_run", |b| {
        b.iter(|| {
            rt.block_on(async {
                let generated = paths(black_box(&fifty_states::DEFINITION));
                run_fifty(&fifty, &generated).await
            })
        });
    });
    group.finish();
}

criterion_group!(benches, generated_paths);
criterion_main!(benches);
