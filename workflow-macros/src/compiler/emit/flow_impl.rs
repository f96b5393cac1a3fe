//! The `Flow` marker and its `Workflow` and `Dispatch` impls: what lets a generic driver run
//! any flow by looking up a transition's index and calling the right activity.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt};
use crate::compiler::model::{Flow, Trigger};

/// The where clause under which the flow's impls exist: states and events can cross threads.
///
/// When a field is not `Send + Sync`, the per-field check in `states.rs` reports it on the
/// field's type; these clauses, written with a higher-ranked lifetime so that rustc checks
/// them where the impls are used rather than where they are declared, keep the impls from
/// repeating that error half a dozen times.
pub(crate) fn thread_safe() -> TokenStream {
    quote! {
        for<'__x> State: ::core::marker::Send + ::core::marker::Sync,
        for<'__x> Event: ::core::marker::Send + ::core::marker::Sync,
    }
}

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let marker_doc = doc(&format!(
        "The `{}` flow as a type, for code generic over flows: drivers, stores and tests.",
        flow.name
    ));
    let thread_safe = thread_safe();
    let run_transition = run_transition(flow);
    let run_undo = run_undo(flow);
    quote! {
        #marker_doc
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct Flow;

        impl #rt::Workflow for Flow
        where
            #thread_safe
        {
            type State = State;
            type Event = Event;
            const DEFINITION: &'static #rt::Definition = &DEFINITION;
        }

        impl<__A: Activities> #rt::Dispatch<__A> for Flow
        where
            #thread_safe
        {
            type Error = <__A as Activities>::Error;

            #run_transition
            #run_undo
        }
    }
}

/// `Dispatch::run_transition`: one match arm per (transition, source state).
fn run_transition(flow: &Flow) -> TokenStream {
    let rt = rt();
    let arms = flow
        .transitions
        .iter()
        .enumerate()
        .flat_map(|(index, transition)| {
            let method = &transition.name;
            let rt = &rt;
            transition.sources.iter().map(move |source| {
                let state = &flow.states[source.state].name;
                let from = if transition.sources.len() == 1 {
                    quote!(from)
                } else {
                    let input = transition.input_type();
                    quote!(#input::#state(from))
                };
                let (event_pattern, event_arg) = match transition.trigger {
                    Trigger::On { event } => {
                        let variant = &flow.events[event].variant;
                        (
                            quote!(::core::option::Option::Some(Event::#variant(event))),
                            quote!(event,),
                        )
                    }
                    _ => (quote!(_), quote!()),
                };
                quote! {
                    (#index, State::#state(from), #event_pattern) =>
                        <__A as Activities>::#method(acts, #from, #event_arg ctx)
                            .await
                            .map(State::from)
                            .map_err(#rt::DispatchError::Activity),
                }
            })
        });
    quote! {
        fn run_transition<'__a>(
            acts: &'__a __A,
            transition: ::core::primitive::usize,
            state: &'__a State,
            event: ::core::option::Option<&'__a Event>,
            ctx: &'__a #rt::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<State, #rt::DispatchError<Self::Error>>,
        > + ::core::marker::Send + '__a {
            async move {
                match (transition, state, event) {
                    #(#arms)*
                    (_, state, event) => {
                        let _ = (acts, ctx);
                        ::core::result::Result::Err(#rt::DispatchError::Mismatch(#rt::Mismatch {
                            step: match DEFINITION.transitions().get(transition) {
                                ::core::option::Option::Some(t) => t.name(),
                                ::core::option::Option::None => "?",
                            },
                            state: state.name(),
                            event: event.map(Event::name),
                        }))
                    }
                }
            }
        }
    }
}

/// `Dispatch::run_undo`: one match arm per undo.
fn run_undo(flow: &Flow) -> TokenStream {
    let rt = rt();
    let arms = flow.undos.iter().enumerate().map(|(index, undo)| {
        let method = &undo.name;
        let state = &flow.states[undo.state].name;
        quote! {
            (#index, State::#state(state)) =>
                <__A as Activities>::#method(acts, state, ctx)
                    .await
                    .map_err(#rt::DispatchError::Activity),
        }
    });
    quote! {
        fn run_undo<'__a>(
            acts: &'__a __A,
            undo: ::core::primitive::usize,
            state: &'__a State,
            ctx: &'__a #rt::StepCtx,
        ) -> impl ::core::future::Future<
            Output = ::core::result::Result<(), #rt::DispatchError<Self::Error>>,
        > + ::core::marker::Send + '__a {
            async move {
                match (undo, state) {
                    #(#arms)*
                    (_, state) => {
                        let _ = (acts, ctx);
                        ::core::result::Result::Err(#rt::DispatchError::Mismatch(#rt::Mismatch {
                            step: match DEFINITION.undos().get(undo) {
                                ::core::option::Option::Some(u) => u.name(),
                                ::core::option::Option::None => "?",
                            },
                            state: state.name(),
                            event: ::core::option::Option::None,
                        }))
                    }
                }
            }
        }
    }
}
