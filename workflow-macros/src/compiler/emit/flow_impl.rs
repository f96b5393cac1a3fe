//! The `Flow` marker and its `Workflow` and `Dispatch` impls: what lets a generic driver run
//! any flow by looking up a transition's index and calling the right activity.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt};
use crate::compiler::model::{Flow, Trigger};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let marker_doc = doc(&format!(
        "The `{}` flow as a type, for code generic over flows: drivers, stores and tests.",
        flow.name
    ));
    let run_transition = run_transition(flow);
    let run_undo = run_undo(flow);
    quote! {
        #marker_doc
        #[derive(::core::fmt::Debug, ::core::clone::Clone, ::core::marker::Copy, ::core::default::Default, ::core::cmp::PartialEq, ::core::cmp::Eq, ::core::hash::Hash)]
        #vis struct Flow;

        impl #rt::Workflow for Flow {
            type State = State;
            type Event = Event;
            const DEFINITION: &'static #rt::Definition = &DEFINITION;
        }

        impl<__A: Activities> #rt::Dispatch<__A> for Flow {
            type Error = <__A as Activities>::Error;

            #run_transition
            #run_undo
        }
    }
}

/// `Dispatch::run_transition`: one match arm per (transition, source state).
fn run_transition(flow: &Flow) -> TokenStream {
    let rt = rt();
    let transition_arms = flow.transitions.iter().enumerate().flat_map(|(index, transition)| {
        let method = &transition.name;
        transition.sources.iter().map(move |source| {
            let state = &flow.states[source.state].name;
            let from = if transition.sources.len() == 1 {
                quote!(from)
            } else {
                let input = transition.input_type();
                quote!(#input::#state(from))
            };
            if let Trigger::On { event, .. } = transition.trigger {
                let variant = &flow.events[event].variant;
                quote! {
                    (#index, State::#state(from), ::core::option::Option::Some(Event::#variant(event))) =>
                        <__A as Activities>::#method(acts, #from, event, ctx).await.map(State::from),
                }
            } else { quote! {
                (#index, State::#state(from), _) =>
                    <__A as Activities>::#method(acts, #from, ctx).await.map(State::from),
            } }
        })
    });
    quote! {
            fn run_transition<'__a>(
                acts: &'__a __A,
                transition: usize,
                state: &'__a State,
                event: ::core::option::Option<&'__a Event>,
                ctx: &'__a #rt::StepCtx,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<State, #rt::DispatchError<Self::Error>>,
            > + ::core::marker::Send + '__a {
                async move {
                    let result: ::core::result::Result<State, Self::Error> = match (transition, state, event) {
                        #(#transition_arms)*
                        (_, state, event) => {
                            let _ = (acts, ctx);
                            let step = match DEFINITION.transitions().get(transition) {
                                ::core::option::Option::Some(t) => t.name(),
                                ::core::option::Option::None => "?",
                            };
                            return ::core::result::Result::Err(#rt::DispatchError::Mismatch(#rt::Mismatch {
                                step,
                                state: state.name(),
                                event: event.map(Event::name),
                            }));
                        }
                    };
                    result.map_err(#rt::DispatchError::Activity)
                }
            }
    }
}

/// `Dispatch::run_undo`: one match arm per undo.
fn run_undo(flow: &Flow) -> TokenStream {
    let rt = rt();
    let undo_arms = flow.undos.iter().enumerate().map(|(index, undo)| {
        let method = &undo.name;
        let state = &flow.states[undo.state].name;
        quote! {
            (#index, State::#state(state)) => <__A as Activities>::#method(acts, state, ctx).await,
        }
    });
    quote! {
            fn run_undo<'__a>(
                acts: &'__a __A,
                undo: usize,
                state: &'__a State,
                ctx: &'__a #rt::StepCtx,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<(), #rt::DispatchError<Self::Error>>,
            > + ::core::marker::Send + '__a {
                async move {
                    let result: ::core::result::Result<(), Self::Error> = match (undo, state) {
                        #(#undo_arms)*
                        (_, state) => {
                            let _ = (acts, ctx);
                            let step = match DEFINITION.undos().get(undo) {
                                ::core::option::Option::Some(u) => u.name(),
                                ::core::option::Option::None => "?",
                            };
                            return ::core::result::Result::Err(#rt::DispatchError::Mismatch(#rt::Mismatch {
                                step,
                                state: state.name(),
                                event: ::core::option::Option::None,
                            }));
                        }
                    };
                    result.map_err(#rt::DispatchError::Activity)
                }
            }
    }
}
