//! Typestate methods: each transition is a method on each of its source states. It takes the
//! state by value and returns the target, or hands the state back inside `Failed`.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote};

use super::transitions::output_type;
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Transition, Trigger};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    flow.states
        .iter()
        .enumerate()
        .flat_map(|(index, state)| {
            state
                .outgoing
                .iter()
                .filter(|&&t| flow.transitions[t].is_typed())
                .map(move |&t| method(flow, &flow.transitions[t], index))
        })
        .collect()
}

/// Transition `transition` as a method on its source state `source`: through
/// `typestate_step!` for an activity, written out for a guard.
fn method(flow: &Flow, transition: &Transition, source: usize) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = &flow.states[source].name;
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
            (
                quote!(, event: &#ty),
                quote!(event,),
                " with the event that triggers it",
            )
        }
        _ => (quote!(), quote!(), ""),
    };
    let call = super::transitions::call(flow, transition, &from, &event_arg);
    let arrow = transition.arrow();
    let Some(guard) = &transition.guard else {
        return quote! {
            #rt::typestate_step!(
                Activities, #vis #method(self, acts #event_param) #name -> #output,
                #text, #arrow, #event_doc, #call
            );
        };
    };
    let choose = guard.choose.to_token_stream().to_string().replace(' ', "");
    let method_doc = doc(&format!(
        "Takes transition `{text}` (`{arrow}`) from `{name}`{event_doc}: its guard `{choose}` \
         chooses where it lands, with no activity."
    ));
    quote! {
        impl #name {
            #method_doc
            #[must_use]
            #vis fn #method(self #event_param) -> #output {
                let result: #rt::Result<#output, #rt::Infallible> = #call;
                #rt::chosen(result)
            }
        }
    }
}
