//! Transitions that run a child flow, `child(flow, start)`: what the driver needs to start
//! the child and land from its final state (`Workflow::start_child` and `join_child`). The
//! typed API has no method for them: the child's steps run on an instance of their own.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::parts::{join_call, join_span, sources};
use super::rt;
use crate::compiler::model::{Child, Flow, Transition};

/// The transitions that run a child flow, with their index.
fn with_child(flow: &Flow) -> impl Iterator<Item = (Literal, &Transition, &Child)> {
    flow.transitions
        .iter()
        .enumerate()
        .filter_map(|(index, t)| Some((Literal::usize_unsuffixed(index), t, t.child.as_ref()?)))
}

/// `start_child` and `join_child`, for the flow's `Workflow` impl; nothing for a flow
/// without child flows.
pub(crate) fn workflow_methods(flow: &Flow) -> TokenStream {
    let rt = rt();
    if with_child(flow).next().is_none() {
        return TokenStream::new();
    }
    let mut starts = Vec::new();
    let mut joins = Vec::new();
    for (index, transition, child) in with_child(flow) {
        let module = &child.flow;
        let child_flow = quote_spanned!(module.span()=> #module::Flow);
        let child_state = quote_spanned!(module.span()=> #module::State);
        let start = &child.start;
        for (state, from, event_pattern, event_arg) in sources(flow, transition, &quote!(__s)) {
            let start_call = quote_spanned!(start.span()=> #start(#from, #event_arg));
            starts.push(quote! {
                (#index, #state, #event_pattern) => {
                    let __initial: #child_state = #rt::Into::into(#start_call);
                    #rt::start_child::<#child_flow>(__initial, child)
                }
            });
            // The child's state spanned on `join(..)` too: an argument of the wrong type is
            // reported there, not on the whole macro.
            let argument = quote_spanned!(join_span(transition)=> __child);
            let call = join_call(flow, transition, &quote!(#from, #event_arg #argument));
            joins.push(quote! {
                (#index, #state, #event_pattern) => {
                    let __child: #child_state = #rt::decode_child::<#child_flow>(child)?;
                    #rt::Ok(State::from(#call))
                }
            });
        }
    }
    quote! {
        fn start_child(
            transition: #rt::usize,
            state: &State,
            event: #rt::Option<&Event>,
            child: #rt::ChildOf,
        ) -> #rt::Result<#rt::NewChild, #rt::String> {
            match (transition, state, event) {
                #(#starts)*
                (_, state, event) => {
                    let _ = child;
                    #rt::Err(#rt::mismatch_text::<Self>(transition, state, event))
                }
            }
        }

        fn join_child(
            transition: #rt::usize,
            state: &State,
            event: #rt::Option<&Event>,
            child: &#rt::str,
        ) -> #rt::Result<State, #rt::String> {
            match (transition, state, event) {
                #(#joins)*
                (_, state, event) => {
                    let _ = child;
                    #rt::Err(#rt::mismatch_text::<Self>(transition, state, event))
                }
            }
        }
    }
}

/// The definition's builder call naming the child flow: `.__child(&shipment::DEFINITION)`.
pub(crate) fn definition(transition: &Transition) -> TokenStream {
    match &transition.child {
        Some(child) => {
            let module = &child.flow;
            let definition = quote_spanned!(module.span()=> &#module::DEFINITION);
            quote!(.__child(#definition))
        }
        None => TokenStream::new(),
    }
}
