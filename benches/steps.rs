//! The typed step algebra against what one would write by hand, side by side in one run:
//!
//! - a chain of ten generated transitions composed with `then`, against a hand-written async
//!   function making the same activity calls;
//! - unwinding a ten-deep typed saga chain, against a `Vec<Box<dyn FnOnce ..>>` of boxed undo
//!   closures popped in turn. Both record the same report.
//!
//! Every activity is ready at once, and futures are polled once with a no-op waker, so the
//! figures are the code under test and nothing of an executor.
//!
//! `cargo bench --bench steps`

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use workflow_core::prelude::*;
use workflow_core::saga::Chain;
use workflow_core::{Report, Step};

#[path = "common/ten.rs"]
mod flow;

use flow::ten;

use ten::{S0, S1, S2, S3, S4, S5, S6, S7, S8, S9, S10};

/// No-op activities: each step adds one; each undo does nothing.
struct Acts;

/// Activities that each do about 60 ns of work the compiler cannot remove, standing in for
/// the cheapest real activity.
struct Working;

/// A few dozen dependent multiplications, opaque to the optimizer.
fn work(n: u64) -> u64 {
    (0..64).fold(n, |x, _| {
        black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    }) % 2
        + n
        + 1
}

macro_rules! activities {
    ($acts:ident, $next:expr; $($step:ident $undo:ident: $from:ident -> $to:ident;)*) => {
        impl ten::Activities for $acts {
            type Error = Infallible;
            $(
                async fn $step(&self, from: &$from, _: &StepCtx) -> Result<$to, Infallible> {
                    Ok($to { n: $next(from.n) })
                }
                async fn $undo(&self, state: &$to, _: &StepCtx) -> Result<(), Infallible> {
                    black_box(state.n);
                    Ok(())
                }
            )*
        }
    };
}

activities! {
    Acts, |n: u64| n + 1;
    t1 u1: S0 -> S1; t2 u2: S1 -> S2; t3 u3: S2 -> S3; t4 u4: S3 -> S4; t5 u5: S4 -> S5;
    t6 u6: S5 -> S6; t7 u7: S6 -> S7; t8 u8: S7 -> S8; t9 u9: S8 -> S9; t10 u10: S9 -> S10;
}

activities! {
    Working, work;
    t1 u1: S0 -> S1; t2 u2: S1 -> S2; t3 u3: S2 -> S3; t4 u4: S3 -> S4; t5 u5: S4 -> S5;
    t6 u6: S5 -> S6; t7 u7: S6 -> S7; t8 u8: S7 -> S8; t9 u9: S8 -> S9; t10 u10: S9 -> S10;
}

/// Polls, once, a future that is ready at once. A macro, so the future is built in its
/// pinned place rather than moved into a function.
macro_rules! ready {
    ($future:expr) => {{
        let mut future = pin!($future);
        match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(output) => output,
            Poll::Pending => unreachable!("every activity here is ready at once"),
        }
    }};
}

/// Writes out activity calls by hand: `s1 = acts.t1(&s0, &CTX)?` and so on.
macro_rules! calls {
    ($acts:ident, $ctx:ident: $($from:ident -> $to:ident by $step:ident;)*) => {
        $(let $to = $acts.$step(&$from, &$ctx).await?;)*
    };
}

/// The states a hand-written chain keeps so that every step can be undone later.
type Kept = (S0, S1, S2, S3, S4, S5, S6, S7, S8, S9);

/// The ten calls by hand with the composed chain's contract: keep every state an undo needs
/// and return them with the output. (With `Infallible` errors, the compensation a failure
/// would run is dead code, as it is for the composed chain.)
async fn by_hand_keeping<A: ten::Activities<Error = Infallible>>(
    acts: &A,
    s0: S0,
) -> Result<(S10, Kept), Infallible> {
    static CTX: StepCtx = StepCtx::local("t");
    calls!(acts, CTX: s0 -> s1 by t1; s1 -> s2 by t2; s2 -> s3 by t3; s3 -> s4 by t4; s4 -> s5 by t5;
        s5 -> s6 by t6; s6 -> s7 by t7; s7 -> s8 by t8; s8 -> s9 by t9; s9 -> s10 by t10;);
    Ok((s10, (s0, s1, s2, s3, s4, s5, s6, s7, s8, s9)))
}

/// The ten steps through the generated typestate methods: no compensation kept.
async fn typestate(acts: &Acts, s0: S0) -> Result<S10, workflow_core::Failed<S9, Infallible>> {
    let s5 = s0
        .t1(acts)
        .await
        .ok()
        .unwrap()
        .t2(acts)
        .await
        .ok()
        .unwrap()
        .t3(acts)
        .await
        .ok()
        .unwrap()
        .t4(acts)
        .await
        .ok()
        .unwrap()
        .t5(acts)
        .await
        .ok()
        .unwrap();
    let s9 = s5
        .t6(acts)
        .await
        .ok()
        .unwrap()
        .t7(acts)
        .await
        .ok()
        .unwrap()
        .t8(acts)
        .await
        .ok()
        .unwrap()
        .t9(acts)
        .await
        .ok()
        .unwrap();
    s9.t10(acts).await
}

/// The ten calls written out by hand, with the same contexts the generated steps use,
/// keeping nothing.
async fn by_hand<A: ten::Activities<Error = Infallible>>(
    acts: &A,
    s0: S0,
) -> Result<S10, Infallible> {
    static CTX: StepCtx = StepCtx::local("t");
    calls!(acts, CTX: s0 -> s1 by t1; s1 -> s2 by t2; s2 -> s3 by t3; s3 -> s4 by t4; s4 -> s5 by t5;
        s5 -> s6 by t6; s6 -> s7 by t7; s7 -> s8 by t8; s8 -> s9 by t9; s9 -> s10 by t10;);
    Ok(s10)
}

/// A saga ten steps deep: its chain is `Link<T10, S9, Link<T9, S8, .. Link<T1, S0, Empty>>>`.
async fn saga_ten_deep(
    acts: &Acts,
) -> ten::Saga<S10, impl Chain<Acts, S10, Infallible, Start = S0> + use<>> {
    let saga = ten::Saga::start(S0 { n: 0 });
    let saga = saga
        .t1(acts)
        .await
        .unwrap()
        .t2(acts)
        .await
        .unwrap()
        .t3(acts)
        .await
        .unwrap();
    let saga = saga
        .t4(acts)
        .await
        .unwrap()
        .t5(acts)
        .await
        .unwrap()
        .t6(acts)
        .await
        .unwrap();
    let saga = saga
        .t7(acts)
        .await
        .unwrap()
        .t8(acts)
        .await
        .unwrap()
        .t9(acts)
        .await
        .unwrap();
    saga.t10(acts).await.unwrap()
}

type BoxedUndo = Box<
    dyn for<'a> FnOnce(
            &'a Acts,
        ) -> Pin<Box<dyn Future<Output = Result<(), Infallible>> + Send + 'a>>
        + Send,
>;

/// The same ten undos as boxed closures on a stack, each holding the state it undoes.
fn boxed_ten_deep() -> Vec<(&'static str, BoxedUndo)> {
    use ten::Activities as _;
    static CTX: StepCtx = StepCtx::local("u");
    let mut stack: Vec<(&'static str, BoxedUndo)> = Vec::new();
    macro_rules! push {
        ($($undo:ident: $state:ident $n:literal;)*) => {$(
            let state = $state { n: $n };
            stack.push((stringify!($undo), Box::new(move |acts: &Acts| Box::pin(async move { acts.$undo(&state, &CTX).await }))));
        )*};
    }
    push! {
        u1: S1 1; u2: S2 2; u3: S3 3; u4: S4 4; u5: S5 5;
        u6: S6 6; u7: S7 7; u8: S8 8; u9: S9 9; u10: S10 10;
    }
    stack
}

async fn unwind_boxed(
    acts: &Acts,
    mut stack: Vec<(&'static str, BoxedUndo)>,
) -> Report<Infallible> {
    let mut report = Report::new();
    while let Some((name, undo)) = stack.pop() {
        match undo(acts).await {
            Ok(()) => report.undone(name),
            Err(error) => report.undo_failed(name, error),
        }
    }
    report
}

fn composed_chain(c: &mut Criterion) {
    let chain = ten::T1
        .then(ten::T2)
        .then(ten::T3)
        .then(ten::T4)
        .then(ten::T5)
        .then(ten::T6)
        .then(ten::T7)
        .then(ten::T8)
        .then(ten::T9)
        .then(ten::T10);
    assert_eq!(ready!(chain.run(&Acts, S0 { n: 0 })).unwrap().0.n, 10);
    assert_eq!(ready!(by_hand(&Acts, S0 { n: 0 })).unwrap().n, 10);
    eprintln!(
        "SIZES composed {} hand {} one {} two {} memo {}",
        std::mem::size_of_val(&chain.run(&Acts, S0 { n: 0 })),
        std::mem::size_of_val(&by_hand(&Acts, S0 { n: 0 })),
        std::mem::size_of_val(&ten::T1.run(&Acts, S0 { n: 0 })),
        std::mem::size_of_val(&ten::T1.then(ten::T2).run(&Acts, S0 { n: 0 })),
        std::mem::size_of_val(&ready!(chain.run(&Acts, S0 { n: 0 })).unwrap().1)
    );
    let mut group = c.benchmark_group("ten_steps");
    group.bench_function("composed", |b| {
        b.iter(|| ready!(chain.run(&Acts, black_box(S0 { n: black_box(0) }))));
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| ready!(by_hand(&Acts, black_box(S0 { n: black_box(0) }))));
    });
    group.bench_function("by_hand_keeping", |b| {
        b.iter(|| ready!(by_hand_keeping(&Acts, black_box(S0 { n: black_box(0) }))));
    });
    group.bench_function("typestate", |b| {
        b.iter(|| ready!(typestate(&Acts, black_box(S0 { n: black_box(0) }))));
    });
    group.bench_function("saga", |b| {
        b.iter(|| ready!(saga_ten_deep(&Acts)));
    });
    group.finish();
    let mut group = c.benchmark_group("ten_working_steps");
    group.bench_function("composed", |b| {
        b.iter(|| ready!(chain.run(&Working, black_box(S0 { n: black_box(0) }))));
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| ready!(by_hand(&Working, black_box(S0 { n: black_box(0) }))));
    });
    group.finish();
}

fn unwinding(c: &mut Criterion) {
    let typed = ready!(ready!(saga_ten_deep(&Acts)).abort(&Acts));
    let boxed = ready!(unwind_boxed(&Acts, boxed_ten_deep()));
    assert_eq!(typed.report.undone_steps(), boxed.undone_steps());
    assert_eq!(typed.state.map(|s| s.n), Some(0));
    let mut group = c.benchmark_group("unwind_ten_deep");
    group.bench_function("typed_chain", |b| {
        b.iter_batched(
            || ready!(saga_ten_deep(&Acts)),
            |saga| ready!(saga.abort(&Acts)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("boxed_closures", |b| {
        b.iter_batched(
            boxed_ten_deep,
            |stack| ready!(unwind_boxed(&Acts, stack)),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, composed_chain, unwinding);
criterion_main!(benches);
