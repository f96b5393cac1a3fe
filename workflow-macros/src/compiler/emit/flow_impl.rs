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
    let parts = super::parts::dispatch_methods(flow);
    let children = super::child::workflow_methods(flow);
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
            #children
        }

        #rt::dispatch! {
            Activities, |acts, ctx|
            transitions: #run_transition
            undos: #run_undo
            parts: #parts
        }
    }
}

/// The arms of `Dispatch::run_transition`, as `dispatch!` takes them: one per (transition,
/// source state).
fn run_transition(flow: &Flow) -> TokenStream {
    let rt = rt();
    flow.transitions
        .iter()
        .enumerate()
        // The driver runs a transition made of parts one part at a time (`run_part`).
        .filter(|(_, transition)| transition.has_activity() && transition.parts.is_none())
        .flat_map(|(index, transition)| {
            let rt = &rt;
            let index = proc_macro2::Literal::usize_unsuffixed(index);
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
                quote!(#index, State::#state(from), #event_pattern => #call;)
            })
        })
        .collect()
}

/// The arms of `Dispatch::run_undo`, as `dispatch!` takes them: one per undo.
fn run_undo(flow: &Flow) -> TokenStream {
    flow.undos
        .iter()
        .enumerate()
        // The undo of a part receives its output: `run_part_undo`.
        .filter(|(_, undo)| undo.part.is_none())
        .map(|(index, undo)| {
            let index = proc_macro2::Literal::usize_unsuffixed(index);
            let method = &undo.name;
            let state = &flow.states[undo.state].name;
            quote!(#index, State::#state(state) => <__A as Activities>::#method(acts, state, ctx).await;)
        })
        .collect()
}
