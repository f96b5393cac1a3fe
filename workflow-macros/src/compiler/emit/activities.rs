//! The `Activities` trait: one async method per transition and per undo, implemented by the user.

use proc_macro2::TokenStream;
use quote::quote;

use super::transitions::{input_type, output_type};
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Parts, Transition, Trigger};

/// The trait and its `Arc<T>` impl, through `activities!`, which takes each method's
/// documentation and signature.
pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = flow.name.to_string();
    let transitions = flow
        .transitions
        .iter()
        .filter(|t| t.has_activity())
        .map(|t| match &t.parts {
            Some(parts) => part_methods(flow, t, parts),
            None => transition_method(flow, t),
        });
    let undos = flow.undos.iter().enumerate().map(|(index, undo)| {
        let name = &undo.name;
        let transition = &flow.transitions[undo.transition].name;
        if let Some(output) = super::parts::part_output(flow, index) {
            let output = user_type(flow, output);
            let text = doc(&format!(
                "Undo `{name}`: compensates a completed part of transition `{transition}`, \
                 whose output it receives."
            ));
            return quote!(#text fn #name(output: &#output););
        }
        let state = &flow.states[undo.state].name;
        let text = doc(&format!(
            "Undo `{name}`: compensates transition `{transition}` landing in `{state}`, which it receives."
        ));
        quote!(#text fn #name(state: &#state);)
    });
    quote! {
        #rt::activities! {
            #vis trait Activities of #name;
            #(#transitions)*
            undos: #(#undos)*
        }
    }
}

/// A transition's method as `activities!` takes it: its docs, name, input, event and output.
fn transition_method(flow: &Flow, transition: &Transition) -> TokenStream {
    let name = &transition.name;
    let input = input_type(flow, transition);
    let output = output_type(flow, transition);
    let (event_param, trigger) = match transition.trigger {
        Trigger::On { event, .. } => {
            let ty = user_type(flow, &flow.events[event].ty);
            (
                quote!(, event: &#ty),
                format!(
                    " Taken when a `{}` event arrives.",
                    flow.events[event].variant
                ),
            )
        }
        Trigger::After(timed) => (
            quote!(),
            format!(
                " Taken after waiting {} in the source state.",
                timed.wait.text(flow)
            ),
        ),
        Trigger::Automatic => (quote!(), " Taken automatically.".to_string()),
    };
    let text = doc(&format!(
        "Transition `{name}`: `{}`.{trigger}",
        transition.arrow()
    ));
    let mut docs: Vec<TokenStream> = transition.docs.iter().map(|d| quote!(#d)).collect();
    if !docs.is_empty() {
        docs.push(doc(""));
    }
    quote! {
        #(#docs)*
        #text
        fn #name(from: #input #event_param) -> #output;
    }
}

/// The methods of a transition made of parts: one per branch, or the activity of its `each`,
/// which also receives the item.
fn part_methods(flow: &Flow, transition: &Transition, parts: &Parts) -> TokenStream {
    let input = input_type(flow, transition);
    let event_param = match transition.trigger {
        Trigger::On { event, .. } => {
            let ty = user_type(flow, &flow.events[event].ty);
            quote!(, event: &#ty)
        }
        _ => quote!(),
    };
    let (name, arrow) = (&transition.name, transition.arrow());
    match parts {
        Parts::Branches(branches) => branches
            .iter()
            .map(|branch| {
                let method = &branch.name;
                let output = user_type(flow, &branch.output);
                let text = doc(&format!(
                    "Branch `{method}` of transition `{name}` (`{arrow}`): runs at the same time \
                     as the other branches; the transition's `join` receives its output."
                ));
                quote!(#text fn #method(from: #input #event_param) -> #output;)
            })
            .collect(),
        Parts::Each(each) => {
            let method = &each.activity;
            let item = user_type(flow, &each.item);
            let output = user_type(flow, &each.output);
            let text = doc(&format!(
                "Runs once per item of `{}` for transition `{name}` (`{arrow}`), at most {} at \
                 a time; the transition's `join` receives the outputs in the items' order.",
                each.field, each.at_most
            ));
            // The item is the field's element as it is (`&String` for a `Vec<String>`): the
            // signature is the flow's, so clippy's advice to take `&str` does not apply.
            quote!(#text #[allow(clippy::ptr_arg)] fn #method(from: #input #event_param, item: &#item) -> #output;)
        }
    }
}
