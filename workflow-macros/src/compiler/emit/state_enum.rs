//! The `State` enum: every state as one value, with conversions both ways.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt};
use crate::compiler::model::{Flow, StateKind};

pub(crate) fn emit(flow: &Flow, states: &[usize]) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let flow_attrs = &flow.attrs;
    let enum_doc = doc(&format!(
        "Any state of the `{}` flow: how an instance is stored, inspected and rehydrated.",
        flow.name
    ));
    let names: Vec<_> = states.iter().map(|&i| &flow.states[i].name).collect();
    let variant_docs = names
        .iter()
        .map(|name| doc(&format!("The flow is in state `{name}`.")));
    let finals = states
        .iter()
        .map(|&i| flow.states[i].kind == StateKind::Final);
    let indices = states
        .iter()
        .map(|&i| proc_macro2::Literal::usize_unsuffixed(i));
    let conversions = names
        .iter()
        .map(|name| quote!(#rt::state_conversions!(#name);));
    quote! {
        #(#flow_attrs)*
        #enum_doc
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum State {
            #(#variant_docs #names(#names),)*
        }

        #rt::state_impls!(#vis State { #(#names = #indices #finals),* });

        #(#conversions)*
    }
}
