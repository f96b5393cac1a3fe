/// A door that opens once.
#[allow(dead_code)]
pub mod door {
    #[allow(unused_imports)]
    use super::*;
    #[derive(Debug, Clone, PartialEq)]
    /// `Closed`: the initial state of the `Door` flow.
    pub struct Closed {
        pub key: u32,
    }
    const _: () = {
        ::workflow_core::__private::assert_send_sync::<u32>();
    };
    #[derive(Debug, Clone, PartialEq)]
    /// `Opened`: a final state of the `Door` flow.
    pub struct Opened {
        pub by: String,
    }
    const _: () = {
        ::workflow_core::__private::assert_send_sync::<String>();
    };
    #[derive(Debug, Clone, PartialEq)]
    /// `Jammed`: a final state of the `Door` flow.
    pub struct Jammed {}
    #[derive(Debug, Clone, PartialEq)]
    /// Any state of the `Door` flow: how an instance is stored, inspected and rehydrated.
    pub enum State {
        /// The flow is in state `Closed`.
        Closed(Closed),
        /// The flow is in state `Opened`.
        Opened(Opened),
        /// The flow is in state `Jammed`.
        Jammed(Jammed),
    }
    impl State {
        /// The state's name, as declared in the flow.
        #[must_use]
        pub const fn name(&self) -> &'static ::core::primitive::str {
            match self {
                Self::Closed(_) => "Closed",
                Self::Opened(_) => "Opened",
                Self::Jammed(_) => "Jammed",
            }
        }
        /// Whether the state is final: the flow has ended.
        #[must_use]
        pub const fn is_final(&self) -> ::core::primitive::bool {
            match self {
                Self::Closed(_) => false,
                Self::Opened(_) => true,
                Self::Jammed(_) => true,
            }
        }
        /// The state's position in the flow's `DEFINITION.states()`.
        #[must_use]
        pub const fn index(&self) -> ::core::primitive::usize {
            match self {
                Self::Closed(_) => 0usize,
                Self::Opened(_) => 1usize,
                Self::Jammed(_) => 2usize,
            }
        }
    }
    impl ::workflow_core::__private::FlowState for State
    where
        for<'__x> State: ::core::marker::Send + ::core::marker::Sync,
    {
        fn name(&self) -> &'static ::core::primitive::str {
            State::name(self)
        }
        fn index(&self) -> ::core::primitive::usize {
            State::index(self)
        }
        fn is_final(&self) -> ::core::primitive::bool {
            State::is_final(self)
        }
    }
    impl ::core::convert::From<Closed> for State {
        fn from(state: Closed) -> Self {
            Self::Closed(state)
        }
    }
    impl ::core::convert::TryFrom<State> for Closed {
        type Error = ::workflow_core::__private::WrongState<State>;
        #[allow(unreachable_patterns)]
        fn try_from(state: State) -> ::core::result::Result<Self, Self::Error> {
            match state {
                State::Closed(state) => ::core::result::Result::Ok(state),
                other => {
                    ::core::result::Result::Err(
                        ::workflow_core::__private::WrongState::new(
                            "Closed",
                            other.name(),
                            other,
                        ),
                    )
                }
            }
        }
    }
    impl ::core::convert::From<Opened> for State {
        fn from(state: Opened) -> Self {
            Self::Opened(state)
        }
    }
    impl ::core::convert::TryFrom<State> for Opened {
        type Error = ::workflow_core::__private::WrongState<State>;
        #[allow(unreachable_patterns)]
        fn try_from(state: State) -> ::core::result::Result<Self, Self::Error> {
            match state {
                State::Opened(state) => ::core::result::Result::Ok(state),
                other => {
                    ::core::result::Result::Err(
                        ::workflow_core::__private::WrongState::new(
                            "Opened",
                            other.name(),
                            other,
                        ),
                    )
                }
            }
        }
    }
    impl ::core::convert::From<Jammed> for State {
        fn from(state: Jammed) -> Self {
            Self::Jammed(state)
        }
    }
    impl ::core::convert::TryFrom<State> for Jammed {
        type Error = ::workflow_core::__private::WrongState<State>;
        #[allow(unreachable_patterns)]
        fn try_from(state: State) -> ::core::result::Result<Self, Self::Error> {
            match state {
                State::Jammed(state) => ::core::result::Result::Ok(state),
                other => {
                    ::core::result::Result::Err(
                        ::workflow_core::__private::WrongState::new(
                            "Jammed",
                            other.name(),
                            other,
                        ),
                    )
                }
            }
        }
    }
    const _: () = {
        ::workflow_core::__private::assert_send_sync::<Kick>();
    };
    #[derive(Debug, Clone, PartialEq)]
    /// Any event the `Door` flow accepts, as sent to a running instance. Each event type converts into it with `From`.
    pub enum Event {
        /// A `Kick` event.
        Kick(Kick),
    }
    impl Event {
        /// The event's name: its type's name.
        #[must_use]
        pub const fn name(&self) -> &'static ::core::primitive::str {
            match *self {
                Self::Kick(_) => "Kick",
            }
        }
        /// The event's position in the flow's `DEFINITION.events()`.
        #[must_use]
        pub const fn index(&self) -> ::core::primitive::usize {
            match *self {
                Self::Kick(_) => 0usize,
            }
        }
    }
    impl ::workflow_core::__private::FlowEvent for Event
    where
        for<'__x> Event: ::core::marker::Send + ::core::marker::Sync,
    {
        fn name(&self) -> &'static ::core::primitive::str {
            Event::name(self)
        }
        fn index(&self) -> ::core::primitive::usize {
            Event::index(self)
        }
    }
    impl ::core::convert::From<Kick> for Event {
        fn from(event: Kick) -> Self {
            Self::Kick(event)
        }
    }
    /// One unit type per transition of the `Door` flow. The flow's module holds a constant of each, named the same: `Open: steps::Open`.
    pub mod steps {
        /// The type of the `open` transition (`Closed -> Opened | Jammed`).
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::default::Default,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash
        )]
        pub struct Open;
        /// The type of the `kick` transition (`Closed -> Jammed`).
        #[derive(
            ::core::fmt::Debug,
            ::core::clone::Clone,
            ::core::marker::Copy,
            ::core::default::Default,
            ::core::cmp::PartialEq,
            ::core::cmp::Eq,
            ::core::hash::Hash
        )]
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
    pub enum OpenTo {
        /// Landed in `Opened`.
        Opened(Opened),
        /// Landed in `Jammed`.
        Jammed(Jammed),
    }
    impl OpenTo {
        /// The name of the state it landed in.
        #[must_use]
        pub const fn name(&self) -> &'static ::core::primitive::str {
            match self {
                Self::Opened(_) => "Opened",
                Self::Jammed(_) => "Jammed",
            }
        }
    }
    impl ::core::convert::From<OpenTo> for State {
        fn from(outcome: OpenTo) -> Self {
            match outcome {
                OpenTo::Opened(state) => Self::Opened(state),
                OpenTo::Jammed(state) => Self::Jammed(state),
            }
        }
    }
    impl ::core::convert::From<Opened> for OpenTo {
        fn from(state: Opened) -> Self {
            Self::Opened(state)
        }
    }
    impl ::core::convert::From<Jammed> for OpenTo {
        fn from(state: Jammed) -> Self {
            Self::Jammed(state)
        }
    }
    /** The work behind each step of the `Door` flow. Implement it with `async fn`s; fakes for tests are plain structs.

A transition's method receives its source state by reference, so a retry can call it again, and returns the state it lands in. An undo's method receives the state its step produced.*/
    pub trait Activities: ::core::marker::Send + ::core::marker::Sync {
        /// The error any activity may fail with.
        type Error: ::core::fmt::Display
            + ::core::fmt::Debug
            + ::core::marker::Send
            + ::core::marker::Sync
            + 'static;
        /// Transition `open`: `Closed -> Opened | Jammed`. Taken automatically.
        fn open(
            &self,
            from: &Closed,
            ctx: &::workflow_core::__private::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<OpenTo, Self::Error>,
        > + ::core::marker::Send;
        /// Transition `kick`: `Closed -> Jammed`. Taken when a `Kick` event arrives.
        fn kick(
            &self,
            from: &Closed,
            event: &Kick,
            ctx: &::workflow_core::__private::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<Jammed, Self::Error>,
        > + ::core::marker::Send;
        /// Undo `close`: compensates transition `open` landing in `Opened`, which it receives.
        fn close(
            &self,
            state: &Opened,
            ctx: &::workflow_core::__private::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<(), Self::Error>,
        > + ::core::marker::Send;
    }
    impl Closed {
        /** Takes transition `open` (`Closed -> Opened | Jammed`) from `Closed`: one attempt of the `open` activity, outside any driver (retry and timeout policies are the driver's).

# Errors

If the activity fails, the `Closed` state comes back inside `Failed` with the error.*/
        pub async fn open<__A: Activities>(
            self,
            acts: &__A,
        ) -> ::core::result::Result<
            OpenTo,
            ::workflow_core::__private::Failed<Closed, <__A as Activities>::Error>,
        > {
            let ctx = ::workflow_core::__private::StepCtx::local("open");
            let result = <__A as Activities>::open(acts, &self, &ctx).await;
            match result {
                ::core::result::Result::Ok(next) => ::core::result::Result::Ok(next),
                ::core::result::Result::Err(error) => {
                    ::core::result::Result::Err(
                        ::workflow_core::__private::Failed::new(self, error),
                    )
                }
            }
        }
        /** Takes transition `kick` (`Closed -> Jammed`) from `Closed` with the event that triggers it: one attempt of the `kick` activity, outside any driver (retry and timeout policies are the driver's).

# Errors

If the activity fails, the `Closed` state comes back inside `Failed` with the error.*/
        pub async fn kick<__A: Activities>(
            self,
            acts: &__A,
            event: &Kick,
        ) -> ::core::result::Result<
            Jammed,
            ::workflow_core::__private::Failed<Closed, <__A as Activities>::Error>,
        > {
            let ctx = ::workflow_core::__private::StepCtx::local("kick");
            let result = <__A as Activities>::kick(acts, &self, event, &ctx).await;
            match result {
                ::core::result::Result::Ok(next) => ::core::result::Result::Ok(next),
                ::core::result::Result::Err(error) => {
                    ::core::result::Result::Err(
                        ::workflow_core::__private::Failed::new(self, error),
                    )
                }
            }
        }
    }
    /// The `Door` flow as a type, for code generic over flows: drivers, stores and tests.
    #[derive(
        ::core::fmt::Debug,
        ::core::clone::Clone,
        ::core::marker::Copy,
        ::core::default::Default,
        ::core::cmp::PartialEq,
        ::core::cmp::Eq,
        ::core::hash::Hash
    )]
    pub struct Flow;
    impl ::workflow_core::__private::Workflow for Flow
    where
        for<'__x> State: ::core::marker::Send + ::core::marker::Sync,
        for<'__x> Event: ::core::marker::Send + ::core::marker::Sync,
    {
        type State = State;
        type Event = Event;
        const DEFINITION: &'static ::workflow_core::__private::Definition = &DEFINITION;
    }
    impl<__A: Activities> ::workflow_core::__private::Dispatch<__A> for Flow
    where
        for<'__x> State: ::core::marker::Send + ::core::marker::Sync,
        for<'__x> Event: ::core::marker::Send + ::core::marker::Sync,
    {
        type Error = <__A as Activities>::Error;
        fn run_transition<'__a>(
            acts: &'__a __A,
            transition: ::core::primitive::usize,
            state: &'__a State,
            event: ::core::option::Option<&'__a Event>,
            ctx: &'__a ::workflow_core::__private::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<
                State,
                ::workflow_core::__private::DispatchError<Self::Error>,
            >,
        > + ::core::marker::Send + '__a {
            async move {
                match (transition, state, event) {
                    (0usize, State::Closed(from), _) => {
                        <__A as Activities>::open(acts, from, ctx)
                            .await
                            .map(State::from)
                            .map_err(::workflow_core::__private::DispatchError::Activity)
                    }
                    (
                        1usize,
                        State::Closed(from),
                        ::core::option::Option::Some(Event::Kick(event)),
                    ) => {
                        <__A as Activities>::kick(acts, from, event, ctx)
                            .await
                            .map(State::from)
                            .map_err(::workflow_core::__private::DispatchError::Activity)
                    }
                    (_, state, event) => {
                        let _ = (acts, ctx);
                        ::core::result::Result::Err(
                            ::workflow_core::__private::DispatchError::Mismatch(::workflow_core::__private::Mismatch {
                                step: match DEFINITION.transitions().get(transition) {
                                    ::core::option::Option::Some(t) => t.name(),
                                    ::core::option::Option::None => "?",
                                },
                                state: state.name(),
                                event: event.map(Event::name),
                            }),
                        )
                    }
                }
            }
        }
        fn run_undo<'__a>(
            acts: &'__a __A,
            undo: ::core::primitive::usize,
            state: &'__a State,
            ctx: &'__a ::workflow_core::__private::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<
                (),
                ::workflow_core::__private::DispatchError<Self::Error>,
            >,
        > + ::core::marker::Send + '__a {
            async move {
                match (undo, state) {
                    (0usize, State::Opened(state)) => {
                        <__A as Activities>::close(acts, state, ctx)
                            .await
                            .map_err(::workflow_core::__private::DispatchError::Activity)
                    }
                    (_, state) => {
                        let _ = (acts, ctx);
                        ::core::result::Result::Err(
                            ::workflow_core::__private::DispatchError::Mismatch(::workflow_core::__private::Mismatch {
                                step: match DEFINITION.undos().get(undo) {
                                    ::core::option::Option::Some(u) => u.name(),
                                    ::core::option::Option::None => "?",
                                },
                                state: state.name(),
                                event: ::core::option::Option::None,
                            }),
                        )
                    }
                }
            }
        }
    }
    /// The static definition of the `Door` flow: states, transitions, triggers, policies, undos and fingerprint.
    pub static DEFINITION: ::workflow_core::__private::Definition = ::workflow_core::__private::Definition::__new(
        "Door",
        &[
            ::workflow_core::__private::StateDef::__new(
                "Closed",
                ::workflow_core::__private::StateKind::Initial,
                &[::workflow_core::__private::FieldDef::__new("key", "u32")],
                ::core::option::Option::Some(0usize),
                ::core::option::Option::None,
                &[1usize],
            ),
            ::workflow_core::__private::StateDef::__new(
                "Opened",
                ::workflow_core::__private::StateKind::Final,
                &[::workflow_core::__private::FieldDef::__new("by", "String")],
                ::core::option::Option::None,
                ::core::option::Option::None,
                &[],
            ),
            ::workflow_core::__private::StateDef::__new(
                "Jammed",
                ::workflow_core::__private::StateKind::Final,
                &[],
                ::core::option::Option::None,
                ::core::option::Option::None,
                &[],
            ),
        ],
        &[
            ::workflow_core::__private::TransitionDef::__new(
                "open",
                &[0usize],
                &[
                    ::workflow_core::__private::TargetDef::__new(
                        1usize,
                        ::core::option::Option::Some(0usize),
                    ),
                    ::workflow_core::__private::TargetDef::__new(
                        2usize,
                        ::core::option::Option::None,
                    ),
                ],
                ::workflow_core::__private::Trigger::Automatic,
                ::core::option::Option::Some(
                    ::workflow_core::__private::RetryPolicy::new(
                        2u32,
                        ::workflow_core::__private::Duration::from_millis(10u64),
                        ::workflow_core::__private::Duration::from_millis(20u64),
                        false,
                    ),
                ),
                ::core::option::Option::Some(
                    ::workflow_core::__private::Duration::from_millis(1000u64),
                ),
                false,
            ),
            ::workflow_core::__private::TransitionDef::__new(
                "kick",
                &[0usize],
                &[
                    ::workflow_core::__private::TargetDef::__new(
                        2usize,
                        ::core::option::Option::None,
                    ),
                ],
                ::workflow_core::__private::Trigger::On {
                    event: 0usize,
                },
                ::core::option::Option::None,
                ::core::option::Option::None,
                false,
            ),
        ],
        &[::workflow_core::__private::UndoDef::__new("close", 0usize, 1usize)],
        &[::workflow_core::__private::EventDef::__new("Kick", "Kick")],
        ::workflow_core::__private::Fingerprint::from_u64(11427692306580695113u64),
    );
    /// The `Door` flow as a Mermaid `stateDiagram-v2`: paste it into any Mermaid renderer.
    pub const MERMAID: &::core::primitive::str = "stateDiagram-v2\n    [*] --> Closed\n    Closed --> Opened: open, undo close\n    Closed --> Jammed: open\n    Closed --> Jammed: kick on Kick\n    Opened --> [*]\n    Jammed --> [*]\n";
}
