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
    let rt = rt();
    quote! {
        for<'__x> State: #rt::Send + #rt::Sync,
        for<'__x> Event: #rt::Send + #rt::Sync,
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
    let decisions = super::decisions::emit(flow);
    quote! {
        #marker_doc
        #[derive(#rt::Debug, #rt::Clone, #rt::Copy, #rt::Default)]
        #[derive(#rt::PartialEq, #rt::Eq, #rt::Hash)]
        #vis struct Flow;

        #[automatically_derived]
        impl #rt::Workflow for Flow
        where
            #thread_safe
        {
            type State = State;
            type Event = Event;
            const DEFINITION: &'static #rt::Definition = &DEFINITION;
            #decisions
        }

        #[automatically_derived]
        impl<__A: Activities> #rt::Dispatch<__A> for Flow
        where
            #thread_safe
        {
            type Error = <__A as Activities>::Error;

            fn retryable(error: &Self::Error) -> #rt::bool {
                <__A as Activities>::retryable(error)
            }

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
        .filter(|(_, transition)| transition.has_activity())
        .flat_map(|(index, transition)| {
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
                        (quote!(#rt::Some(Event::#variant(event))), quote!(event,))
                    }
                    _ => (quote!(_), quote!()),
                };
                let call = super::transitions::call_in(transition, &from, &event_arg, &quote!(ctx));
                quote! {
                    (#index, State::#state(from), #event_pattern) => #rt::dispatched(#call),
                }
            })
        });
    quote! {
        fn run_transition<'__a>(
            acts: &'__a __A,
            transition: #rt::usize,
            state: &'__a State,
            event: #rt::Option<&'__a Event>,
            ctx: &'__a #rt::StepCtx,
        ) -> impl #rt::Future<
            Output = #rt::Result<State, #rt::DispatchError<Self::Error>>,
        > + #rt::Send + '__a {
            async move {
                match (transition, state, event) {
                    #(#arms)*
                    (_, state, event) => {
                        let _ = (acts, ctx);
                        #rt::Err(#rt::DispatchError::Mismatch(#rt::mismatch::<Self>(transition, state, event)))
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
                #rt::dispatched(<__A as Activities>::#method(acts, state, ctx).await),
        }
    });
    quote! {
        fn run_undo<'__a>(
            acts: &'__a __A,
            undo: #rt::usize,
            state: &'__a State,
            ctx: &'__a #rt::StepCtx,
        ) -> impl #rt::Future<
            Output = #rt::Result<(), #rt::DispatchError<Self::Error>>,
        > + #rt::Send + '__a {
            async move {
                match (undo, state) {
                    #(#arms)*
                    (_, state) => {
                        let _ = (acts, ctx);
                        #rt::undo_mismatch(DEFINITION.undos(), undo, state.name())
                    }
                }
            }
        }
    }
}
