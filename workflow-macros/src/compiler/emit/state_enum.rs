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
    let texts: Vec<String> = names.iter().map(ToString::to_string).collect();
    let variant_docs = names
        .iter()
        .map(|name| doc(&format!("The flow is in state `{name}`.")));
    let finals = states
        .iter()
        .map(|&i| flow.states[i].kind == StateKind::Final);
    let indices = states.iter().copied();
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

        #[automatically_derived]
        impl State {
            /// The state's name, as declared in the flow.
            #[must_use]
            #vis const fn name(&self) -> &'static #rt::str {
                match self {
                    #(Self::#names(_) => #texts,)*
                }
            }

            /// Whether the state is final: the flow has ended.
            #[must_use]
            #vis const fn is_final(&self) -> #rt::bool {
                match self {
                    #(Self::#names(_) => #finals,)*
                }
            }

            /// The state's position in the flow's `DEFINITION.states()`.
            #[must_use]
            #vis const fn index(&self) -> #rt::usize {
                match self {
                    #(Self::#names(_) => #indices,)*
                }
            }
        }

        #[automatically_derived]
        impl #rt::FlowState for State
        where
            for<'__x> State: #rt::Send + #rt::Sync,
        {
            fn name(&self) -> &'static #rt::str {
                State::name(self)
            }

            fn index(&self) -> #rt::usize {
                State::index(self)
            }

            fn is_final(&self) -> #rt::bool {
                State::is_final(self)
            }
        }

        #(#conversions)*
    }
}
