//! Generated code uses absolute paths only: it compiles in a module that shadows the names
//! of the prelude, and runs.
#![allow(dead_code, non_camel_case_types, non_snake_case)]

mod shadowing {
    use workflow_core::prelude::*;

    pub struct Result;
    pub struct Option;
    pub struct Box;
    pub struct String;
    pub struct Vec;
    pub struct Send;
    pub struct Sync;
    pub struct Future;
    pub struct Clone;
    pub struct Debug;
    pub struct Default;
    pub struct From;
    pub struct usize;
    pub fn Ok() {}
    pub fn Some() {}
    pub fn Err() {}
    pub fn None() {}

    pub struct Go;

    workflow! {
        pub Shadowed {
            initial Start { count: u32 }
            state Middle { count: u32 }
            final Done { count: u32 }
            final Stopped {}
            step: Start -> Middle undo unstep | Stopped, retry(2, 1ms..2ms);
            finish: Middle -> Done;
            stop: Start | Middle -> Stopped, on Go, compensate;
        }
    }

    pub struct Acts;

    impl shadowed::Activities for Acts {
        type Error = &'static str;

        async fn step(&self, from: &shadowed::Start, _: &StepCtx) -> core::result::Result<shadowed::StepTo, &'static str> {
            core::result::Result::Ok(shadowed::Middle { count: from.count + 1 }.into())
        }

        async fn finish(&self, from: &shadowed::Middle, _: &StepCtx) -> core::result::Result<shadowed::Done, &'static str> {
            core::result::Result::Ok(shadowed::Done { count: from.count + 1 })
        }

        async fn stop(&self, _: shadowed::StopFrom<'_>, _: &Go, _: &StepCtx) -> core::result::Result<shadowed::Stopped, &'static str> {
            core::result::Result::Ok(shadowed::Stopped {})
        }

        async fn unstep(&self, _: &shadowed::Middle, _: &StepCtx) -> core::result::Result<(), &'static str> {
            core::result::Result::Ok(())
        }
    }

    pub fn run() -> u32 {
        futures::executor::block_on(async {
            let shadowed::StepTo::Middle(middle) = shadowed::Start { count: 0 }.step(&Acts).await.ok().unwrap() else {
                panic!("expected Middle");
            };
            middle.finish(&Acts).await.ok().unwrap().count
        })
    }
}

fn main() {
    assert_eq!(shadowing::run(), 2);
}
