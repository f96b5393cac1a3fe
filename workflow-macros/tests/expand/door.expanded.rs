/// A door that opens once.
#[allow(dead_code)]
pub mod door {
    #[allow(unused_imports)]
    use super::*;
    #[allow(unused_imports)]
    use ::workflow_core::__private as __wf;
    #[derive(Debug, Clone, PartialEq)]
    /// `Closed`: the initial state of the `Door` flow.
    pub struct Closed {
        pub key: u32,
    }
    const _: () = {
        __wf::assert_send_sync::<u32>();
    };
    #[derive(Debug, Clone, PartialEq)]
    /// `Opened`: a final state of the `Door` flow.
    pub struct Opened {
        pub by: String,
    }
    const _: () = {
        __wf::assert_send_sync::<String>();
    };
    #[derive(Debug, Clone, PartialEq)]
    /// `Jammed`: a final state of the `Door` flow.
    pub struct Jammed {}
    #[derive(Debug, Clone, PartialEq)]
    /// Any state of the `Door` flow: how an instance is stored, inspected and rehydrated.
    #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
    pub enum State {
        /// The flow is in state `Closed`.
        Closed(Closed),
        /// The flow is in state `Opened`.
        Opened(Opened),
        /// The flow is in state `Jammed`.
        Jammed(Jammed),
    }
    __wf::state_impls!(pub State { Closed = 0 false, Opened = 1 true, Jammed = 2 true });
    __wf::state_conversions!(Closed);
    __wf::state_conversions!(Opened);
    __wf::state_conversions!(Jammed);
    const _: () = {
        __wf::assert_send_sync::<Kick>();
    };
    #[automatically_derived]
    impl __wf::Debug for Event
    where
        for<'__x> Kick: __wf::Debug,
    {
        fn fmt(&self, f: &mut __wf::Formatter<'_>) -> __wf::FmtResult {
            match *self {
                Self::Kick(ref e) => f.debug_tuple("Kick").field(e).finish(),
            }
        }
    }
    #[automatically_derived]
    impl __wf::Clone for Event
    where
        for<'__x> Kick: __wf::Clone,
    {
        fn clone(&self) -> Self {
            match *self {
                Self::Kick(ref e) => Self::Kick(__wf::Clone::clone(e)),
            }
        }
    }
    #[automatically_derived]
    impl __wf::PartialEq for Event
    where
        for<'__x> Kick: __wf::PartialEq,
    {
        fn eq(&self, other: &Self) -> __wf::bool {
            #[allow(unreachable_patterns)]
            match (self, other) {
                (Self::Kick(a), Self::Kick(b)) => a == b,
                _ => false,
            }
        }
    }
    /// Any event the `Door` flow accepts, as sent to a running instance. Each event type converts into it with `From`.
    #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
    pub enum Event {
        /// A `Kick` event.
        Kick(Kick),
    }
    __wf::event_impls!(pub Event { Kick = 0 });
    __wf::from_variant!(Event::Kick(Kick));
    /// One unit type per transition of the `Door` flow. The flow's module holds a constant of each, named the same: `Open: steps::Open`.
    pub mod steps {
        use ::workflow_core::__private as __wf;
        /// The type of the `open` transition (`Closed -> Opened | Jammed`).
        #[derive(__wf::Debug, __wf::Clone, __wf::Copy, __wf::Default)]
        #[derive(__wf::PartialEq, __wf::Eq, __wf::Hash)]
        pub struct Open;
        /// The type of the `kick` transition (`Closed -> Jammed`).
        #[derive(__wf::Debug, __wf::Clone, __wf::Copy, __wf::Default)]
        #[derive(__wf::PartialEq, __wf::Eq, __wf::Hash)]
        pub struct Kick;
    }
    /// The `open` transition (`Closed -> Opened | Jammed`) as a value.
    #[allow(non_upper_case_globals)]
    pub const Open: steps::Open = steps::Open;
    /// The `kick` transition (`Closed -> Jammed`) as a value.
    #[allow(non_upper_case_globals)]
    pub const Kick: steps::Kick = steps::Kick;
    #[derive(Debug, Clone, PartialEq)]
    /// Where the `open` transition lands: `Closed -> Opened | Jammed`.
    #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
    pub enum OpenTo {
        /// Landed in `Opened`.
        Opened(Opened),
        /// Landed in `Jammed`.
        Jammed(Jammed),
    }
    impl OpenTo {
        /// The name of the state it landed in.
        #[must_use]
        pub const fn name(&self) -> &'static __wf::str {
            match self {
                Self::Opened(_) => "Opened",
                Self::Jammed(_) => "Jammed",
            }
        }
    }
    #[automatically_derived]
    impl __wf::From<OpenTo> for State {
        fn from(outcome: OpenTo) -> Self {
            match outcome {
                OpenTo::Opened(state) => Self::Opened(state),
                OpenTo::Jammed(state) => Self::Jammed(state),
            }
        }
    }
    __wf::from_variant!(OpenTo::Opened(Opened));
    __wf::from_variant!(OpenTo::Jammed(Jammed));
    __wf::activities! {
        pub trait Activities of "Door"; #[doc =
        " Transition `open`: `Closed -> Opened | Jammed`. Taken automatically."] fn
        open(from : & Closed) -> OpenTo; #[doc =
        " Transition `kick`: `Closed -> Jammed`. Taken when a `Kick` event arrives."] fn
        kick(from : & Closed, event : & Kick) -> Jammed; undos : #[doc =
        " Undo `close`: compensates transition `open` landing in `Opened`, which it receives."]
        fn close(state : & Opened);
    }
    __wf::typestate_step!(
        Activities, pub open(self, acts) Closed -> OpenTo, "open",
        "Closed -> Opened | Jammed", "", < __A as Activities > ::open(acts, & self,
        __wf::local_ctx!("open")). await
    );
    __wf::typestate_step!(
        Activities, pub kick(self, acts, event : & Kick) Closed -> Jammed, "kick",
        "Closed -> Jammed", " with the event that triggers it", < __A as Activities >
        ::kick(acts, & self, event, __wf::local_ctx!("kick")). await
    );
    /// The `Door` flow as a type, for code generic over flows: drivers, stores and tests.
    #[derive(__wf::Debug, __wf::Clone, __wf::Copy, __wf::Default)]
    #[derive(__wf::PartialEq, __wf::Eq, __wf::Hash)]
    pub struct Flow;
    #[automatically_derived]
    impl __wf::Workflow for Flow
    where
        for<'__x> State: __wf::Send + __wf::Sync,
        for<'__x> Event: __wf::Send + __wf::Sync,
    {
        type State = State;
        type Event = Event;
        const DEFINITION: &'static __wf::Definition = &DEFINITION;
    }
    __wf::dispatch! {
        Activities, | acts, ctx | transitions : 0, State::Closed(from), _ => < __A as
        Activities > ::open(acts, from, ctx). await; 1, State::Closed(from),
        __wf::Some(Event::Kick(event)) => < __A as Activities > ::kick(acts, from, event,
        ctx). await; undos : 0, State::Opened(state) => < __A as Activities >
        ::close(acts, state, ctx). await; parts :
    }
    #[automatically_derived]
    impl __wf::Arrow for steps::Open
    where
        for<'__x> Closed: __wf::Send + __wf::Sync,
        for<'__x> OpenTo: __wf::Send + __wf::Sync,
    {
        type In = Closed;
        type Out = OpenTo;
    }
    #[automatically_derived]
    impl<__A: Activities> __wf::Step<__A> for steps::Open
    where
        for<'__x> Closed: __wf::Send + __wf::Sync,
        for<'__x> OpenTo: __wf::Send + __wf::Sync,
    {
        type Error = <__A as Activities>::Error;
        type Memo = __wf::Landed<Closed>;
        async fn run(
            &self,
            acts: &__A,
            input: Closed,
        ) -> __wf::Result<(OpenTo, Self::Memo), __wf::Aborted<Closed, Self::Error>> {
            let _ = acts;
            let result: __wf::Result<OpenTo, Self::Error> = <__A as Activities>::open(
                    acts,
                    &input,
                    __wf::local_ctx!("open"),
                )
                .await;
            __wf::ran_landed(
                result,
                input,
                "open",
                |out| match out {
                    OpenTo::Opened(_) => 0u8,
                    OpenTo::Jammed(_) => 1u8,
                },
            )
        }
        async fn undo(
            &self,
            acts: &__A,
            output: OpenTo,
            memo: Self::Memo,
            report: &mut __wf::Report<Self::Error>,
        ) -> __wf::Option<Closed> {
            (match &output {
                OpenTo::Opened(state) => {
                    __wf::undo_landing::<__A, Opened, Self>(self, acts, state, report)
                        .await
                }
                OpenTo::Jammed(state) => {
                    __wf::undo_landing::<__A, Jammed, Self>(self, acts, state, report)
                        .await
                }
            })
                .then(|| memo.into_input())
        }
        fn skip(&self, memo: Self::Memo, report: &mut __wf::Report<Self::Error>) {
            __wf::skip_named(
                report,
                match memo.target() {
                    0u8 => <Self as __wf::Undo<__A, Opened>>::NAME,
                    1u8 => <Self as __wf::Undo<__A, Jammed>>::NAME,
                    _ => __wf::None,
                },
            )
        }
    }
    __wf::undo!(Activities, steps::Open, Opened, close, "close");
    __wf::no_undo!(Activities, steps::Open, Jammed);
    #[automatically_derived]
    impl __wf::Continue<Opened> for OpenTo
    where
        for<'__x> Opened: __wf::Send + __wf::Sync,
        for<'__x> Jammed: __wf::Send + __wf::Sync,
        for<'__x> OpenTo: __wf::Send + __wf::Sync,
    {
        __wf::continue_or_exit!(Jammed);
        fn split(self) -> __wf::Result<Opened, Jammed> {
            match self {
                OpenTo::Opened(state) => __wf::Ok(state),
                OpenTo::Jammed(state) => __wf::Err(state),
            }
        }
        fn rejoin(next: Opened) -> __wf::Result<Self, Opened> {
            __wf::Ok(OpenTo::Opened(next))
        }
        fn rejoin_exit(exit: Jammed) -> Self {
            OpenTo::Jammed(exit)
        }
    }
    #[automatically_derived]
    impl __wf::Continue<Jammed> for OpenTo
    where
        for<'__x> Opened: __wf::Send + __wf::Sync,
        for<'__x> Jammed: __wf::Send + __wf::Sync,
        for<'__x> OpenTo: __wf::Send + __wf::Sync,
    {
        __wf::continue_or_exit!(Opened);
        fn split(self) -> __wf::Result<Jammed, Opened> {
            match self {
                OpenTo::Jammed(state) => __wf::Ok(state),
                OpenTo::Opened(state) => __wf::Err(state),
            }
        }
        fn rejoin(next: Jammed) -> __wf::Result<Self, Jammed> {
            __wf::Ok(OpenTo::Jammed(next))
        }
        fn rejoin_exit(exit: Opened) -> Self {
            OpenTo::Opened(exit)
        }
    }
    #[automatically_derived]
    impl __wf::From<OpenTo> for __wf::Either<Opened, Jammed> {
        fn from(outcome: OpenTo) -> Self {
            match outcome {
                OpenTo::Opened(state) => __wf::Either::Left(state),
                OpenTo::Jammed(state) => __wf::Either::Right(state),
            }
        }
    }
    #[automatically_derived]
    impl __wf::Continue<__wf::Either<Opened, Jammed>> for OpenTo
    where
        for<'__x> Opened: __wf::Send + __wf::Sync,
        for<'__x> Jammed: __wf::Send + __wf::Sync,
        for<'__x> OpenTo: __wf::Send + __wf::Sync,
    {
        __wf::continue_always!();
        fn split(self) -> __wf::Result<__wf::Either<Opened, Jammed>, __wf::Infallible> {
            __wf::Ok(self.into())
        }
        fn rejoin(
            next: __wf::Either<Opened, Jammed>,
        ) -> __wf::Result<Self, __wf::Either<Opened, Jammed>> {
            __wf::Ok(
                match next {
                    __wf::Either::Left(state) => OpenTo::Opened(state),
                    __wf::Either::Right(state) => OpenTo::Jammed(state),
                },
            )
        }
    }
    __wf::step!(
        Activities, steps::Kick, (Closed, Kick) => Jammed, "kick", | acts, input | < __A
        as Activities > ::kick(acts, & input.0, & input.1, __wf::local_ctx!("kick")).
        await
    );
    __wf::no_undo!(Activities, steps::Kick, Jammed);
    __wf::saga!(pub Saga of "Door", Activities);
    /// Where a saga lands after `open`: `Closed -> Opened | Jammed`.
    #[must_use = "a saga holds the undos of the steps it took: keep its state with `into_state` or `abort` it"]
    #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
    pub enum OpenSaga<__C> {
        /// The saga landed in `Opened`.
        Opened(Saga<Opened, __C>),
        /// The saga landed in `Jammed`.
        Jammed(Saga<Jammed, __C>),
    }
    #[automatically_derived]
    impl<__C> __wf::Debug for OpenSaga<__C>
    where
        for<'__x> Opened: __wf::Debug,
        for<'__x> Jammed: __wf::Debug,
    {
        fn fmt(&self, f: &mut __wf::Formatter<'_>) -> __wf::FmtResult {
            match self {
                Self::Opened(saga) => f.debug_tuple("Opened").field(saga).finish(),
                Self::Jammed(saga) => f.debug_tuple("Jammed").field(saga).finish(),
            }
        }
    }
    __wf::saga_step!(
        Activities, pub open(self, acts) Closed -> OpenSaga < __wf::Link < steps::Open,
        Closed, __C > >, steps::Open, "open", "Closed -> Opened | Jammed", < __A as
        Activities > ::open(acts, & self.state, __wf::local_ctx!("open")). await, | next,
        chain | match next { OpenTo::Opened(state) => OpenSaga::Opened(Saga { state,
        chain }), OpenTo::Jammed(state) => OpenSaga::Jammed(Saga { state, chain }), }
    );
    __wf::saga_step!(
        Activities, pub kick(self, acts, event : & Kick) Closed -> Saga < Jammed,
        __wf::Link < steps::Kick, Closed, __C > >, steps::Kick, "kick",
        "Closed -> Jammed", < __A as Activities > ::kick(acts, & self.state, event,
        __wf::local_ctx!("kick")). await, | next, chain | Saga { state : next, chain }
    );
    /// The static definition of the `Door` flow: states, transitions, triggers, policies, undos and fingerprint.
    pub static DEFINITION: __wf::Definition = __wf::definition!(
        "Door"; states : ["Closed" Initial["key" : "u32"] __wf::Some(0), __wf::None, [1]]
        ["Opened" Final["by" : "String"] __wf::None, __wf::None, []] ["Jammed" Final[]
        __wf::None, __wf::None, []]; transitions : ["open"[0] [1 __wf::Some(0), 2
        __wf::None] __wf::Trigger::Automatic, __wf::Some(__wf::RetryPolicy::new(2u32,
        __wf::Duration::from_millis(10), __wf::Duration::from_millis(20), false)),
        __wf::Some(__wf::Wait::Fixed(__wf::Duration::from_millis(1000))), false]
        ["kick"[0] [2 __wf::None] __wf::Trigger::On { event : 0 }, __wf::None,
        __wf::None, false]; undos : ["close" 0 1]; events : ["Kick" "Kick"];
        11427692306580695113u64
    );
    /// The `Door` flow as a Mermaid `stateDiagram-v2`: paste it into any Mermaid renderer.
    pub const MERMAID: &__wf::str = "stateDiagram-v2\n    [*] --> Closed\n    Closed --> Opened: open, undo close\n    Closed --> Jammed: open\n    Closed --> Jammed: kick on Kick\n    Opened --> [*]\n    Jammed --> [*]\n";
}
