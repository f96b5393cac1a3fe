//! What the driver asks of a flow without calling an activity, as methods of its `Workflow`
//! impl: where a guard goes (`decide`), what a catch builds (`caught`), and the lengths of
//! time read from state fields (`duration`). A flow without guards, catches or such fields
//! gets none of them: the trait's defaults never run.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::rt;
use crate::compiler::model::{Flow, Transition, Trigger, WaitValue};

/// The methods, to go inside `impl Workflow for Flow`.
pub(crate) fn emit(flow: &Flow) -> TokenStream {
    [
        decide(flow),
        caught(flow),
        duration(flow),
        super::parts::workflow_methods(flow),
    ]
    .into_iter()
    .collect()
}

/// For each source of `transition`: the `(State, Option<Event>)` pattern, and the arguments
/// its guard or catch receives: the source, borrowed as its activity would receive it, and
/// the event of an `on` transition, each followed by a comma.
fn arms(flow: &Flow, transition: &Transition) -> Vec<(TokenStream, TokenStream)> {
    super::parts::sources(flow, transition, &quote!(from))
        .into_iter()
        .map(|(state, from, event_pattern, event_arg)| {
            (quote!((#state, #event_pattern)), quote!(#from, #event_arg))
        })
        .collect()
}

fn decide(flow: &Flow) -> TokenStream {
    let rt = rt();
    let mut arms_out = Vec::new();
    for (index, transition) in flow.transitions.iter().enumerate() {
        let Some(guard) = &transition.guard else {
            continue;
        };
        let choose = &guard.choose;
        for (pattern, args) in arms(flow, transition) {
            let call = quote_spanned!(choose.span()=> #choose(#args));
            arms_out.push(quote!((#index, #pattern) => #rt::Ok(State::from(#call)),));
        }
    }
    if arms_out.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn decide(
            transition: #rt::usize,
            state: &State,
            event: #rt::Option<&Event>,
        ) -> #rt::Result<State, #rt::Mismatch> {
            match (transition, (state, event)) {
                #(#arms_out)*
                _ => #rt::Err(#rt::mismatch::<Self>(transition, state, event)),
            }
        }
    }
}

fn caught(flow: &Flow) -> TokenStream {
    let rt = rt();
    let mut arms_out = Vec::new();
    for (index, transition) in flow.transitions.iter().enumerate() {
        let Some(catch) = &transition.catch else {
            continue;
        };
        let build = &catch.build;
        for (pattern, args) in arms(flow, transition) {
            let call = quote_spanned!(build.span()=> #build(#args failure));
            arms_out.push(quote!((#index, #pattern) => #rt::Ok(State::from(#call)),));
        }
    }
    if arms_out.is_empty() {
        return TokenStream::new();
    }
    quote! {
        fn caught(
            transition: #rt::usize,
            state: &State,
            event: #rt::Option<&Event>,
            failure: #rt::Failure,
        ) -> #rt::Result<State, #rt::Mismatch> {
            match (transition, (state, event)) {
                #(#arms_out)*
                _ => #rt::Err(#rt::mismatch::<Self>(transition, state, event)),
            }
        }
    }
}

fn duration(flow: &Flow) -> TokenStream {
    let rt = rt();
    // Where each field is first named, for rustc to point at when its type is no duration.
    let mut first_use = vec![None; flow.duration_fields.len()];
    let mut uses = Vec::new();
    for transition in &flow.transitions {
        let mut waits = Vec::new();
        if let Trigger::After(timed) = transition.trigger {
            waits.push(timed.wait);
        }
        if let Some(timed) = transition.timeout {
            waits.push(timed.wait);
        }
        if let Some(retry) = transition.retry {
            waits.extend([retry.min, retry.max]);
        }
        for wait in waits {
            if let WaitValue::Field { field, span } = wait {
                first_use[field].get_or_insert(span);
                for source in &transition.sources {
                    if !uses.contains(&(source.state, field)) {
                        uses.push((source.state, field));
                    }
                }
            }
        }
    }
    if uses.is_empty() {
        return TokenStream::new();
    }
    let arms_out = uses.iter().map(|&(state, field)| {
        let name = &flow.states[state].name;
        let ident = &flow.duration_fields[field];
        let text = ident.to_string();
        let span = first_use[field].unwrap_or_else(|| ident.span());
        let read = quote_spanned!(span=> #rt::duration_of(&state.#ident));
        quote!((State::#name(state), #text) => #rt::Some(#read),)
    });
    quote! {
        fn duration(state: &State, field: &#rt::str) -> #rt::Option<#rt::Duration> {
            #[allow(unreachable_patterns)]
            match (state, field) {
                #(#arms_out)*
                _ => #rt::None,
            }
        }
    }
}
