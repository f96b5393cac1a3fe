//! The `Activities` trait: one async method per transition and per undo, implemented by the user.

use proc_macro2::TokenStream;
use quote::quote;

use super::transitions::{input_type, output_type};
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Transition, Trigger};

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
        .map(|t| transition_method(flow, t));
    let undos = flow.undos.iter().map(|undo| {
        let name = &undo.name;
        let state = &flow.states[undo.state].name;
        let text = doc(&format!(
            "Undo `{name}`: compensates transition `{}` landing in `{state}`, which it receives.",
            flow.transitions[undo.transition].name
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
