//! Typestate methods: each transition is a method on each of its source states. It takes the
//! state by value and returns the target, or hands the state back inside `Failed`.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote};

use super::transitions::output_type;
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Trigger};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    flow.states
        .iter()
        .enumerate()
        .filter(|(_, state)| !state.outgoing.is_empty())
        .map(|(index, state)| {
            let name = &state.name;
            let methods = state.outgoing.iter().map(|&t| {
                let transition = &flow.transitions[t];
                let method = &transition.name;
                let text = transition.name.to_string();
                let output = output_type(flow, transition);
                let from = if transition.sources.len() == 1 {
                    quote!(&self)
                } else {
                    let input = transition.input_type();
                    quote!(#input::#name(&self))
                };
                let (event_param, event_arg, event_doc) = match transition.trigger {
                    Trigger::On { event, .. } => {
                        let ty = user_type(flow, &flow.events[event].ty);
                        (quote!(event: &#ty,), quote!(event,), " with the event that triggers it")
                    }
                    _ => (quote!(), quote!(), ""),
                };
                let call = super::transitions::call(transition, &from, &event_arg);
                if let Some(guard) = &transition.guard {
                    let choose = guard.choose.to_token_stream().to_string().replace(' ', "");
                    let method_doc = doc(&format!(
                        "Takes transition `{text}` (`{}`) from `{}`{event_doc}: its guard `{choose}` chooses \
                         where it lands, with no activity.",
                        transition.arrow(),
                        flow.states[index].name,
                    ));
                    return quote! {
                        #method_doc
                        #[must_use]
                        #vis fn #method(self, #event_param) -> #output {
                            let result: #rt::Result<#output, #rt::Infallible> = #call;
                            #rt::chosen(result)
                        }
                    };
                }
                let method_doc = doc(&format!(
                    "Takes transition `{text}` (`{}`) from `{}`{event_doc}: one attempt of the `{text}` activity, \
                     outside any driver (retry and timeout policies are the driver's).\n\
                     # Errors\nIf the activity fails, the `{}` state comes back inside `Failed` with the error.",
                    transition.arrow(),
                    flow.states[index].name,
                    flow.states[index].name,
                ));
                quote! {
                    #method_doc
                    #vis async fn #method<__A: Activities>(
                        self,
                        acts: &__A,
                        #event_param
                    ) -> #rt::Result<#output, #rt::Failed<#name, <__A as Activities>::Error>> {
                        let result = #call;
                        result.map_err(|error| #rt::Failed::new(self, error))
                    }
                }
            });
            quote! {
                #[automatically_derived]
                impl #name {
                    #(#methods)*
                }
            }
        })
        .collect()
}
