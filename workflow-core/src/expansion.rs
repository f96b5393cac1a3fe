//! The flow-independent parts of what `workflow!` generates: generic functions and macros the expansion calls in a few tokens instead of writing them out per flow.

use core::convert::Infallible;

use crate::undo::{Chain, Landed, Link, PartsLink, Undo, UndoParts};
use crate::workflow::{DispatchError, Mismatch};
use crate::{Aborted, Report};

/// One attempt of a step, settled: its output with the input kept as the memo, or the
/// failure of `step` with the input back.
///
/// # Errors
///
/// The step's failure, when the activity failed.
pub fn ran<In, Out, E>(
    result: Result<Out, E>,
    input: In,
    step: &'static str,
) -> Result<(Out, In), Aborted<In, E>> {
    match result {
        Ok(out) => Ok((out, input)),
        Err(error) => Err(Aborted::new(step, error, Some(input))),
    }
}

/// [`ran`], for a step with several targets: the memo also keeps which `target` the output
/// landed in.
///
/// # Errors
///
/// The step's failure, when the activity failed.
pub fn ran_landed<In, Out, E>(
    result: Result<Out, E>,
    input: In,
    step: &'static str,
    target: fn(&Out) -> u8,
) -> Result<(Out, Landed<In>), Aborted<In, E>> {
    ran(result, input, step).map(|(out, input)| {
        let landed = Landed::new(input, target(&out));
        (out, landed)
    })
}

/// Records the undo of landing in `S` as skipped, if the landing has one.
pub fn skip_landing<Cx: ?Sized, S, U: Undo<Cx, S>>(report: &mut Report<U::Error>) {
    skip_named(report, U::NAME);
}

/// Records the undo `name` as skipped, if there is one.
pub fn skip_named<E>(report: &mut Report<E>, name: Option<&'static str>) {
    if let Some(name) = name {
        report.skipped(name);
    }
}

/// The outcome of a guard, which cannot fail.
pub fn chosen<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(next) => next,
        Err(never) => match never {},
    }
}

/// A transition's outcome as a driver sees it: the flow's state, or the activity's error.
///
/// # Errors
///
/// The activity's error, when it failed.
pub fn dispatched<S, T: Into<S>, E>(result: Result<T, E>) -> Result<S, DispatchError<E>> {
    result.map(Into::into).map_err(DispatchError::Activity)
}

/// What a driver gets when the undo it asked for does not apply: `undo` is not one of the
/// flow's `undos`, or not of `state`.
///
/// # Errors
///
/// Always: the mismatch, naming the undo and the state.
pub fn undo_mismatch<E>(
    undos: &[crate::UndoDef],
    undo: usize,
    state: &'static str,
) -> Result<(), DispatchError<E>> {
    Err(DispatchError::Mismatch(Mismatch {
        step: undos.get(undo).map_or("?", crate::UndoDef::name),
        state,
        event: None,
    }))
}

/// One step of a typed saga once its activity ran: on success, the output and the chain
/// grown by `step`'s link; on failure, the chain unwound.
///
/// # Errors
///
/// The failure of `name`, with the report of the unwinding.
pub async fn saga_advance<Cx, S, C, U, N, E>(
    cx: &Cx,
    step: U,
    name: &'static str,
    state: S,
    chain: C,
    result: Result<N, E>,
) -> Result<(N, Link<U, S, C>), Aborted<C::Start, E>>
where
    Cx: ?Sized,
    C: Chain<Cx, S, E>,
{
    match result {
        Ok(next) => Ok((next, Link::new(step, state, chain))),
        Err(error) => Err(saga_unwind(cx, name, error, state, chain).await),
    }
}

/// A step of a typed saga made of parts, once its parts ran: on success the saga lands, its
/// chain grown by the step's parts link (with what it kept of their outputs); on failure the
/// step's own completed parts are undone (`done`), then, if every one of them was, the chain.
///
/// # Errors
///
/// The failure of `name`, with the report of every undo that ran.
pub async fn saga_advance_parts<Cx, S, C, U, K, N, E>(
    cx: &Cx,
    step: U,
    name: &'static str,
    state: S,
    chain: C,
    result: Result<(N, K), (E, K)>,
) -> Result<(N, PartsLink<U, K, S, C>), Aborted<C::Start, E>>
where
    Cx: ?Sized + Sync,
    C: Chain<Cx, S, E>,
    U: UndoParts<Cx, K, Error = E>,
{
    match result {
        Ok((next, kept)) => Ok((next, PartsLink::new(step, kept, state, chain))),
        Err((error, done)) => {
            let mut report = Report::new();
            let input = if step.undo(cx, done, &mut report).await {
                Box::pin(chain.unwind(cx, state, &mut report)).await
            } else {
                chain.skip(&mut report);
                None
            };
            Err(Aborted {
                step: name,
                error,
                input,
                report,
            })
        }
    }
}

/// One part's undo, in a typed saga's unwinding: run and recorded, unless an undo before it
/// failed (`failed`: then it is recorded as skipped). Whether one has failed, this or one
/// before.
pub async fn undo_kept_part<E, F, Fut>(
    name: &'static str,
    failed: bool,
    undo: F,
    report: &mut Report<E>,
) -> bool
where
    F: FnOnce() -> Fut,
    Fut: core::future::Future<Output = Result<(), E>>,
{
    if failed {
        report.skipped(name);
        return true;
    }
    match undo().await {
        Ok(()) => {
            report.undone(name);
            false
        }
        Err(error) => {
            report.undo_failed(name, error);
            true
        }
    }
}

/// A compensating step of a typed saga once its activity ran: on success, every undo of the
/// chain runs, newest first, and the output comes with their report; on failure, the chain
/// is unwound.
///
/// # Errors
///
/// The failure of `name`, or of the first undo that failed after it succeeded.
pub async fn saga_compensate<Cx, S, C, N, E>(
    cx: &Cx,
    name: &'static str,
    state: S,
    chain: C,
    result: Result<N, E>,
) -> Result<(N, Report<E>), Aborted<C::Start, E>>
where
    Cx: ?Sized,
    C: Chain<Cx, S, E>,
{
    let next = match result {
        Ok(next) => next,
        Err(error) => return Err(saga_unwind(cx, name, error, state, chain).await),
    };
    let mut report = Report::new();
    // Boxed: the saga's future need not carry the whole chain's unwinding.
    let unwound = Box::pin(chain.unwind(cx, state, &mut report)).await;
    match (unwound, report.take_undo_failure()) {
        (None, Some((step, error))) => Err(Aborted {
            step,
            error,
            input: None,
            report,
        }),
        _ => Ok((next, report)),
    }
}

/// The failure of saga step `name` with `error`: the chain unwound from `state`.
async fn saga_unwind<Cx, S, C, E>(
    cx: &Cx,
    name: &'static str,
    error: E,
    state: S,
    chain: C,
) -> Aborted<C::Start, E>
where
    Cx: ?Sized,
    C: Chain<Cx, S, E>,
{
    let mut report = Report::new();
    // The cold path is boxed, so the forward future does not carry it.
    let input = Box::pin(chain.unwind(cx, state, &mut report)).await;
    Aborted {
        step: name,
        error,
        input,
        report,
    }
}

/// The items of a `Continue` impl whose output always continues (`Exit` is `Infallible`):
/// everything but `split` and `rejoin`.
#[doc(hidden)]
#[macro_export]
macro_rules! __continue_always {
    () => {
        type Exit = $crate::__private::Infallible;
        type Then<__T: $crate::__private::Send> = __T;

        fn rejoin_exit(exit: $crate::__private::Infallible) -> Self {
            match exit {}
        }
        fn proceed<__T: $crate::__private::Send>(out: __T) -> __T {
            out
        }
        fn exit<__T: $crate::__private::Send>(exit: $crate::__private::Infallible) -> __T {
            match exit {}
        }
        fn unjoin<__T: $crate::__private::Send>(
            then: __T,
        ) -> $crate::__private::Result<__T, $crate::__private::Infallible> {
            $crate::__private::Ok(then)
        }
    };
}

/// The items of a `Continue` impl whose other branches exit as `$exit`, composing into an
/// `Either`: everything but `split`, `rejoin` and `rejoin_exit`.
#[doc(hidden)]
#[macro_export]
macro_rules! __continue_or_exit {
    ($exit:ty) => {
        type Exit = $exit;
        type Then<__T: $crate::__private::Send> = $crate::__private::Either<__T, $exit>;

        fn proceed<__T: $crate::__private::Send>(
            out: __T,
        ) -> $crate::__private::Either<__T, $exit> {
            $crate::__private::Either::Left(out)
        }
        fn exit<__T: $crate::__private::Send>(
            exit: $exit,
        ) -> $crate::__private::Either<__T, $exit> {
            $crate::__private::Either::Right(exit)
        }
        fn unjoin<__T: $crate::__private::Send>(
            then: $crate::__private::Either<__T, $exit>,
        ) -> $crate::__private::Result<__T, $exit> {
            match then {
                $crate::__private::Either::Left(out) => $crate::__private::Ok(out),
                $crate::__private::Either::Right(exit) => $crate::__private::Err(exit),
            }
        }
    };
}

/// The context of an activity called outside any driver, named `$name`: a `&'static StepCtx`.
#[doc(hidden)]
#[macro_export]
macro_rules! __local_ctx {
    ($name:literal) => {{
        static __CTX: $crate::StepCtx = $crate::StepCtx::local($name);
        &__CTX
    }};
}

/// `From` a variant's payload into an enum of the flow: `State::Placed(Placed)`, or, for an
/// enum of borrowed sources, `CancelFrom<'a>::Placed(&Placed)`.
#[doc(hidden)]
#[macro_export]
macro_rules! __from_variant {
    ($enum:ident :: $variant:ident ($ty:ty)) => {
        #[automatically_derived]
        impl $crate::__private::From<$ty> for $enum {
            fn from(value: $ty) -> Self {
                Self::$variant(value)
            }
        }
    };
    ($enum:ident <$a:lifetime> :: $variant:ident (& $ty:ty)) => {
        #[automatically_derived]
        impl<$a> $crate::__private::From<&$a $ty> for $enum<$a> {
            fn from(value: &$a $ty) -> Self {
                Self::$variant(value)
            }
        }
    };
}

/// A state into the flow's `State` enum with `From`, and back with `TryFrom`, which gives
/// the other states back inside `WrongState`.
#[doc(hidden)]
#[macro_export]
macro_rules! __state_conversions {
    ($state:ident) => {
        $crate::__from_variant!(State::$state($state));

        #[automatically_derived]
        impl $crate::__private::TryFrom<State> for $state {
            type Error = $crate::__private::WrongState<State>;

            #[allow(unreachable_patterns)]
            fn try_from(state: State) -> $crate::__private::Result<Self, Self::Error> {
                match state {
                    State::$state(state) => $crate::__private::Ok(state),
                    other => $crate::__private::Err($crate::__private::WrongState::new(
                        ::core::stringify!($state),
                        other.name(),
                        other,
                    )),
                }
            }
        }
    };
}

/// `Undo` of landing in `$state` for a transition with no undo there: nothing to do.
#[doc(hidden)]
#[macro_export]
macro_rules! __no_undo {
    ($activities:ident, $step:ty, $state:ty) => {
        #[automatically_derived]
        impl<__A: $activities> $crate::__private::Undo<__A, $state> for $step
        where
            for<'__x> $state: $crate::__private::Send + $crate::__private::Sync,
        {
            type Error = <__A as $activities>::Error;
            const NAME: $crate::__private::Option<&'static $crate::__private::str> =
                $crate::__private::None;

            async fn undo(
                &self,
                _: &__A,
                _: &$state,
            ) -> $crate::__private::Result<(), Self::Error> {
                $crate::__private::Ok(())
            }
        }
    };
}

/// `Arrow` and `Step` for the unit type `$unit` of a transition with one target, `$in =>
/// $out`, named `$name`: `$call` (with `$acts` and `$input` in scope) runs its activity once.
#[doc(hidden)]
#[macro_export]
macro_rules! __step {
    ($activities:ident, $unit:ty, $in:ty => $out:ty, $name:literal, |$acts:ident, $input:ident| $call:expr) => {
        #[automatically_derived]
        impl $crate::__private::Arrow for $unit
        where
            for<'__x> $in: $crate::__private::Send + $crate::__private::Sync,
            for<'__x> $out: $crate::__private::Send + $crate::__private::Sync,
        {
            type In = $in;
            type Out = $out;
        }

        #[automatically_derived]
        impl<__A: $activities> $crate::__private::Step<__A> for $unit
        where
            for<'__x> $in: $crate::__private::Send + $crate::__private::Sync,
            for<'__x> $out: $crate::__private::Send + $crate::__private::Sync,
        {
            type Error = <__A as $activities>::Error;
            type Memo = $in;

            async fn run(
                &self,
                $acts: &__A,
                $input: $in,
            ) -> $crate::__private::Result<($out, Self::Memo), $crate::Aborted<$in, Self::Error>>
            {
                let _ = $acts;
                let result: $crate::__private::Result<$out, Self::Error> = $call;
                $crate::__private::ran(result, $input, $name)
            }

            async fn undo(
                &self,
                acts: &__A,
                output: $out,
                memo: Self::Memo,
                report: &mut $crate::Report<Self::Error>,
            ) -> $crate::__private::Option<$in> {
                $crate::__private::undo_landing::<__A, $out, Self>(self, acts, &output, report)
                    .await
                    .then(|| memo)
            }

            fn skip(&self, _: Self::Memo, report: &mut $crate::Report<Self::Error>) {
                $crate::__private::skip_landing::<__A, $out, Self>(report)
            }
        }
    };
}

/// `Undo` of landing in `$state` for the unit type `$step` of a transition: the activity
/// `$method`, named `$name`.
#[doc(hidden)]
#[macro_export]
macro_rules! __undo {
    ($activities:ident, $step:ty, $state:ty, $method:ident, $name:literal) => {
        #[automatically_derived]
        impl<__A: $activities> $crate::__private::Undo<__A, $state> for $step
        where
            for<'__x> $state: $crate::__private::Send + $crate::__private::Sync,
        {
            type Error = <__A as $activities>::Error;
            const NAME: $crate::__private::Option<&'static $crate::__private::str> =
                $crate::__private::Some($name);

            async fn undo(
                &self,
                acts: &__A,
                landed: &$state,
            ) -> $crate::__private::Result<(), Self::Error> {
                <__A as $activities>::$method(acts, landed, $crate::__local_ctx!($name)).await
            }
        }
    };
}

/// Transition `$name` (`$arrow`) as a method on its source state `$source`: one attempt of
/// its activity, `$call` (with `$acts`, `$self` and the event in scope), outside any driver.
#[doc(hidden)]
#[macro_export]
macro_rules! __typestate_step {
    (@doc $name:literal, $arrow:literal, $source:ident, $with:literal) => {
        ::core::concat!(
            "Takes transition `", $name, "` (`", $arrow, "`) from `", ::core::stringify!($source),
            "`", $with, ": one attempt of the `", $name, "` activity, outside any driver (retry and \
             timeout policies are the driver's).\n# Errors\nIf the activity fails, the `",
            ::core::stringify!($source), "` state comes back inside `Failed` with the error."
        )
    };
    (
        $activities:ident, $vis:vis $method:ident($self:ident, $acts:ident $(, $event:ident: $ev:ty)?)
        $source:ident -> $out:ty, $name:literal, $arrow:literal, $with:literal, $call:expr
    ) => {
        impl $source {
            #[doc = $crate::__typestate_step!(@doc $name, $arrow, $source, $with)]
            $vis async fn $method<__A: $activities>(
                $self,
                $acts: &__A,
                $($event: $ev,)?
            ) -> $crate::__private::Result<$out, $crate::Failed<$source, <__A as $activities>::Error>> {
                let result = $call;
                result.map_err(|error| $crate::Failed::new($self, error))
            }
        }
    };
}

/// Transition `$name` (`$arrow`) of unit type `$unit` as a method on the saga in `$source`:
/// `$call` runs the activity, and on success the saga lands as `$land` (with `$next` and
/// `$chain` in scope), of type `$landed`, its chain grown by the step's link.
#[doc(hidden)]
#[macro_export]
macro_rules! __saga_step {
    (
        $activities:ident, $vis:vis $method:ident($self:ident, $acts:ident $(, $event:ident: $ev:ty)?)
        $source:ident -> $landed:ty, $unit:expr, $name:literal, $arrow:literal, $call:expr,
        |$next:ident, $chain:ident| $land:expr
    ) => {
        impl<__C> Saga<$source, __C> {
            #[doc = ::core::concat!(
                "Takes transition `", $name, "` (`", $arrow, "`) from `", ::core::stringify!($source),
                "`, in the saga.\n# Errors\nIf the activity fails, the chain is unwound and the \
                 failure names `", $name, "`, carries the error and the report, and gives back the \
                 state the saga started from if every undo succeeded."
            )]
            $vis async fn $method<__A: $activities>(
                $self,
                $acts: &__A,
                $($event: $ev,)?
            ) -> $crate::__private::Result<$landed, $crate::Aborted<__C::Start, <__A as $activities>::Error>>
            where
                __C: $crate::__private::Chain<__A, $source, <__A as $activities>::Error>,
            {
                let result: $crate::__private::Result<_, <__A as $activities>::Error> = $call;
                let ($next, $chain) = $crate::__private::saga_advance(
                    $acts, $unit, $name, $self.state, $self.chain, result,
                )
                .await?;
                $crate::__private::Ok($land)
            }
        }
    };
}

/// The `Activities` trait of flow `$flow`, with one method per transition activity and per
/// undo, and its impl for `Arc<T>`, which forwards each method.
#[doc(hidden)]
#[macro_export]
macro_rules! __activities {
    (
        $vis:vis trait Activities of $flow:literal;
        $($(#[$doc:meta])* fn $name:ident(from: $from:ty $(, $event:ident: $ev:ty)*) -> $out:ty;)*
        undos: $($(#[$undo_doc:meta])* fn $undo:ident($param:ident: $state:ty);)*
    ) => {
        #[doc = ::core::concat!(
            "The work behind each step of the `", $flow, "` flow. Implement it with `async fn`s; \
             fakes for tests are plain structs.\n\nA transition's method receives its source \
             state by reference, so a retry can call it again, and returns the state it lands \
             in. An undo's method receives the state its step produced."
        )]
        $vis trait Activities: $crate::__private::Send + $crate::__private::Sync {
            /// The error any activity may fail with.
            type Error: $crate::__private::Display
                + $crate::__private::Debug
                + $crate::__private::Send
                + $crate::__private::Sync
                + 'static;

            /// Whether an attempt that failed with `error` is worth retrying. `false` skips
            /// the step's remaining attempts: it fails for good at once (and lands where its
            /// `catch` goes, if it has one). Every error is worth retrying unless this says
            /// otherwise.
            fn retryable(error: &Self::Error) -> $crate::__private::bool {
                let _ = error;
                true
            }

            $(
                $(#[$doc])*
                fn $name(
                    &self,
                    from: $from,
                    $($event: $ev,)*
                    ctx: &$crate::StepCtx,
                ) -> impl $crate::__private::Future<
                    Output = $crate::__private::Result<$out, Self::Error>,
                > + $crate::__private::Send;
            )*
            $(
                $(#[$undo_doc])*
                fn $undo(
                    &self,
                    $param: $state,
                    ctx: &$crate::StepCtx,
                ) -> impl $crate::__private::Future<
                    Output = $crate::__private::Result<(), Self::Error>,
                > + $crate::__private::Send;
            )*
        }

        /// Activities shared behind an `Arc` are activities too: one set can serve several
        /// flows and hosts.
        #[automatically_derived]
        impl<__T: Activities> Activities for $crate::__private::Arc<__T> {
            type Error = __T::Error;

            fn retryable(error: &Self::Error) -> $crate::__private::bool {
                __T::retryable(error)
            }

            $(
                fn $name(
                    &self,
                    from: $from,
                    $($event: $ev,)*
                    ctx: &$crate::StepCtx,
                ) -> impl $crate::__private::Future<
                    Output = $crate::__private::Result<$out, Self::Error>,
                > + $crate::__private::Send {
                    __T::$name(self, from, $($event,)* ctx)
                }
            )*
            $(
                fn $undo(
                    &self,
                    $param: $state,
                    ctx: &$crate::StepCtx,
                ) -> impl $crate::__private::Future<
                    Output = $crate::__private::Result<(), Self::Error>,
                > + $crate::__private::Send {
                    __T::$undo(self, $param, ctx)
                }
            )*
        }
    };
}

/// A flow's `Definition`, from short tables: each state as `name kind [field: "type", ..]
/// automatic after [on ..]`, each transition as `name [sources] [target undo, ..] trigger
/// retry timeout compensate` with its optional builder calls, each undo as `name transition
/// state`, each event as `variant "type"`.
#[doc(hidden)]
#[macro_export]
macro_rules! __definition {
    (
        $name:literal;
        states: $([$state:literal $kind:ident [$($field:literal: $ty:literal),*] $automatic:expr, $after:expr, [$($on:expr),*]])*;
        transitions: $([
            $step:literal [$($source:expr),*] [$($target:literal $undo:expr),*]
            $trigger:expr, $retry:expr, $timeout:expr, $compensate:literal $(. $builder:ident($($arg:expr),*))*
        ])*;
        undos: $([$undo_name:literal $undo_step:literal $undo_state:literal $(. $undo_builder:ident($($undo_arg:expr),*))*])*;
        events: $([$event:literal $event_ty:literal])*;
        $fingerprint:literal
    ) => {
        $crate::Definition::__new(
            $name,
            &[$($crate::StateDef::__new(
                $state,
                $crate::StateKind::$kind,
                &[$($crate::FieldDef::__new($field, $ty)),*],
                $automatic,
                $after,
                &[$($on),*],
            )),*],
            &[$($crate::TransitionDef::__new(
                $step,
                &[$($source),*],
                &[$($crate::TargetDef::__new($target, $undo)),*],
                $trigger,
                $retry,
                $timeout,
                $compensate,
            ) $(. $builder($($arg),*))*),*],
            &[$($crate::UndoDef::__new($undo_name, $undo_step, $undo_state) $(. $undo_builder($($undo_arg),*))*),*],
            &[$($crate::EventDef::__new($event, $event_ty)),*],
            $crate::Fingerprint::from_u64($fingerprint),
        )
    };
}

/// `Dispatch` for the flow's `Flow` marker: each arm runs the activity `$call` (with `$acts`,
/// `$ctx` and the pattern's bindings in scope) of transition `$index` from a state, or of
/// undo `$undo` in a state.
#[doc(hidden)]
#[macro_export]
macro_rules! __dispatch {
    (
        $activities:ident, |$acts:ident, $ctx:ident|
        transitions: $($index:literal, $state:pat, $event:pat => $call:expr;)*
        undos: $($undo:literal, $undo_state:pat => $undo_call:expr;)*
        parts: $($parts:tt)*
    ) => {
        #[automatically_derived]
        impl<__A: $activities> $crate::__private::Dispatch<__A> for Flow
        where
            for<'__x> State: $crate::__private::Send + $crate::__private::Sync,
            for<'__x> Event: $crate::__private::Send + $crate::__private::Sync,
        {
            type Error = <__A as $activities>::Error;

            fn retryable(error: &Self::Error) -> $crate::__private::bool {
                <__A as $activities>::retryable(error)
            }

            fn run_transition<'__a>(
                $acts: &'__a __A,
                transition: $crate::__private::usize,
                state: &'__a State,
                event: $crate::__private::Option<&'__a Event>,
                $ctx: &'__a $crate::StepCtx,
            ) -> impl $crate::__private::Future<
                Output = $crate::__private::Result<
                    State,
                    $crate::__private::DispatchError<Self::Error>,
                >,
            > + $crate::__private::Send
            + '__a {
                async move {
                    match (transition, state, event) {
                        $(($index, $state, $event) => $crate::__private::dispatched($call),)*
                        (_, state, event) => {
                            let _ = ($acts, $ctx);
                            $crate::__private::Err($crate::__private::DispatchError::Mismatch(
                                $crate::__private::mismatch::<Self>(transition, state, event),
                            ))
                        }
                    }
                }
            }

            fn run_undo<'__a>(
                $acts: &'__a __A,
                undo: $crate::__private::usize,
                state: &'__a State,
                $ctx: &'__a $crate::StepCtx,
            ) -> impl $crate::__private::Future<
                Output = $crate::__private::Result<(), $crate::__private::DispatchError<Self::Error>>,
            > + $crate::__private::Send
            + '__a {
                async move {
                    match (undo, state) {
                        $(($undo, $undo_state) => $crate::__private::dispatched($undo_call),)*
                        (_, state) => {
                            let _ = ($acts, $ctx);
                            $crate::__private::undo_mismatch(DEFINITION.undos(), undo, state.name())
                        }
                    }
                }
            }

            $($parts)*
        }
    };
}

/// `name`, `is_final` and `index` on the flow's `State` enum, from each variant with its
/// index and whether it is final, and `FlowState` through them.
#[doc(hidden)]
#[macro_export]
macro_rules! __state_impls {
    ($vis:vis State { $($name:ident = $index:literal $final:literal),* }) => {
        impl State {
            /// The state's name, as declared in the flow.
            #[must_use]
            $vis const fn name(&self) -> &'static $crate::__private::str {
                match self {
                    $(Self::$name(_) => ::core::stringify!($name),)*
                }
            }

            /// Whether the state is final: the flow has ended.
            #[must_use]
            $vis const fn is_final(&self) -> $crate::__private::bool {
                match self {
                    $(Self::$name(_) => $final,)*
                }
            }

            /// The state's position in the flow's `DEFINITION.states()`.
            #[must_use]
            $vis const fn index(&self) -> $crate::__private::usize {
                match self {
                    $(Self::$name(_) => $index,)*
                }
            }
        }

        #[automatically_derived]
        impl $crate::__private::FlowState for State
        where
            for<'__x> State: $crate::__private::Send + $crate::__private::Sync,
        {
            fn name(&self) -> &'static $crate::__private::str {
                State::name(self)
            }

            fn index(&self) -> $crate::__private::usize {
                State::index(self)
            }

            fn is_final(&self) -> $crate::__private::bool {
                State::is_final(self)
            }
        }
    };
}

/// `name` and `index` on the flow's `Event` enum, from each variant with its index, and
/// `FlowEvent` through them.
#[doc(hidden)]
#[macro_export]
macro_rules! __event_impls {
    ($vis:vis Event { $($name:ident = $index:literal),* }) => {
        impl Event {
            /// The event's name: its type's name.
            #[must_use]
            $vis const fn name(&self) -> &'static $crate::__private::str {
                match *self {
                    $(Self::$name(_) => ::core::stringify!($name),)*
                }
            }

            /// The event's position in the flow's `DEFINITION.events()`.
            #[must_use]
            $vis const fn index(&self) -> $crate::__private::usize {
                match *self {
                    $(Self::$name(_) => $index,)*
                }
            }
        }

        #[automatically_derived]
        impl $crate::__private::FlowEvent for Event
        where
            for<'__x> Event: $crate::__private::Send + $crate::__private::Sync,
        {
            fn name(&self) -> &'static $crate::__private::str {
                Event::name(self)
            }

            fn index(&self) -> $crate::__private::usize {
                Event::index(self)
            }
        }
    };
}

/// The typed saga of flow `$flow`, `Saga<S, C>`, with what it does in any state: start,
/// read the state, end, and abort, which unwinds the chain.
#[doc(hidden)]
#[macro_export]
macro_rules! __saga {
    ($vis:vis Saga of $flow:literal, $activities:ident) => {
        #[doc = ::core::concat!(
            "A typed saga over the `", $flow, "` flow: the current state `S` and, in the type \
             `C`, the chain of undos that compensate every step taken so far, newest on top.\n\n\
             Start one with `Saga::start(state)` and call the flow's transitions on it. A step \
             that fails unwinds the chain, newest first, each undo once, and returns an \
             `Aborted` naming the step, its error, every undo that ran, failed or was skipped, \
             and (if all succeeded) the state the saga started from. `abort()` unwinds on \
             demand; `into_state()` keeps what was done."
        )]
        #[must_use = "a saga holds the undos of the steps it took: keep its state with `into_state` or `abort` it"]
        $vis struct Saga<__S, __C = $crate::__private::Empty> {
            state: __S,
            chain: __C,
        }

        #[automatically_derived]
        impl<__S: $crate::__private::Debug, __C> $crate::__private::Debug for Saga<__S, __C> {
            fn fmt(
                &self,
                f: &mut $crate::__private::Formatter<'_>,
            ) -> $crate::__private::FmtResult {
                f.debug_struct("Saga").field("state", &self.state).finish_non_exhaustive()
            }
        }

        impl<__S> Saga<__S> {
            /// Starts a saga in `state`, with nothing to undo.
            $vis const fn start(state: __S) -> Self {
                Self { state, chain: $crate::__private::Empty }
            }
        }

        impl<__S, __C> Saga<__S, __C> {
            /// The current state.
            $vis const fn state(&self) -> &__S {
                &self.state
            }

            /// Ends the saga, keeping its state and everything it did.
            $vis fn into_state(self) -> __S {
                self.state
            }

            /// Undoes every step taken, newest first, each once. Gives back the state the saga
            /// started from if every undo succeeded, and reports each undo.
            $vis async fn abort<__A: $activities>(
                self,
                acts: &__A,
            ) -> $crate::Unwound<__C::Start, <__A as $activities>::Error>
            where
                __C: $crate::__private::Chain<__A, __S, <__A as $activities>::Error>,
            {
                let mut report = $crate::Report::new();
                let state = self.chain.unwind(acts, self.state, &mut report).await;
                $crate::Unwound { state, report }
            }
        }
    };
}

/// A part's result as a driver keeps it: its output as JSON (or why it cannot be stored),
/// or the activity's error.
///
/// # Errors
///
/// The activity's error, when it failed.
pub fn part_ran<O, E>(result: Result<O, E>) -> Result<crate::workflow::Encoded, DispatchError<E>>
where
    O: serde::Serialize + serde::de::DeserializeOwned,
{
    match result {
        Ok(output) => Ok(crate::runtime::codec::encode(&output).map_err(|why| why.to_string())),
        Err(error) => Err(DispatchError::Activity(error)),
    }
}

/// A part undo's result as a driver takes it.
///
/// # Errors
///
/// The activity's error, when it failed.
pub fn part_undone<E>(result: Result<(), E>) -> Result<Result<(), String>, DispatchError<E>> {
    result.map(Ok).map_err(DispatchError::Activity)
}

/// A part's output read back from its JSON.
///
/// # Errors
///
/// Why it cannot be decoded.
pub fn decode_part<O: serde::de::DeserializeOwned>(json: &str) -> Result<O, String> {
    crate::runtime::codec::decode(json).map_err(|e| e.to_string())
}

/// The outputs of `outputs`, read back, for a join: exactly `N` of them.
///
/// # Errors
///
/// Why not: a count that differs, or an output that cannot be decoded.
pub fn outputs<const N: usize>(
    outputs: &[std::sync::Arc<str>],
) -> Result<&[std::sync::Arc<str>; N], String> {
    outputs
        .try_into()
        .map_err(|_| format!("{N} outputs expected, {} stored", outputs.len()))
}

/// `call` run once per item of `items`, at most `at_most` at a time, in process (the typed
/// API's `each`): the outputs in the items' order; or, at the first failure, the items not
/// started are never called, those running are awaited (as the driver does), and the outputs
/// of the completed ones come back, in the order they completed, with the error, for their
/// undos.
///
/// # Errors
///
/// The first failure, with the completed outputs.
pub async fn each_local<'a, T, O, E, F, Fut>(
    items: &'a [T],
    at_most: usize,
    mut call: F,
) -> Result<Vec<O>, (Vec<O>, E)>
where
    F: FnMut(&'a T) -> Fut,
    Fut: core::future::Future<Output = Result<O, E>>,
{
    use futures_util::StreamExt as _;
    // A plain queue rather than stream combinators over borrowed items: the future stays
    // `Send` without higher-ranked closure bounds.
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut outputs: Vec<Option<O>> = items.iter().map(|_| None).collect();
    let mut completed = Vec::with_capacity(items.len());
    let mut next = 0;
    let mut failure = None;
    loop {
        while failure.is_none() && next < items.len() && running.len() < at_most.max(1) {
            let index = next;
            next += 1;
            let call = call(&items[index]);
            running.push(async move { (index, call.await) });
        }
        match running.next().await {
            None => break,
            Some((index, Ok(output))) => {
                outputs[index] = Some(output);
                completed.push(index);
            }
            Some((_, Err(error))) => {
                failure.get_or_insert(error);
            }
        }
    }
    match failure {
        None => Ok(outputs.into_iter().flatten().collect()),
        Some(error) => {
            let done = completed
                .into_iter()
                .filter_map(|index| outputs[index].take())
                .collect();
            Err((done, error))
        }
    }
}

/// The first of the branches' errors, in branch order, for the typed API's `parallel`:
/// called when at least one failed.
///
/// # Panics
///
/// If none failed, which the generated code never asks.
pub fn first_error<E, const N: usize>(errors: [Option<E>; N]) -> E {
    errors
        .into_iter()
        .flatten()
        .next()
        .expect("called when a branch failed")
}

/// What a driver gets when the undo of a part it asked for is not one.
///
/// # Errors
///
/// Never: the reason is in the `Ok`, as for an output that cannot be decoded.
pub fn not_a_part_undo<E>(undo: usize) -> Result<Result<(), String>, DispatchError<E>> {
    Ok(Err(format!("undo {undo} is not the undo of a part")))
}

/// [`crate::workflow::mismatch`], as text.
pub fn mismatch_text<W: crate::Workflow + ?Sized>(
    transition: usize,
    state: &W::State,
    event: Option<&W::Event>,
) -> String {
    crate::workflow::mismatch::<W>(transition, state, event).to_string()
}
