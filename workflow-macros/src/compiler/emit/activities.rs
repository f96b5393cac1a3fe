//! The `Activities` trait: one async method per transition and per undo, implemented by the user.

use proc_macro2::TokenStream;
use quote::quote;

use super::transitions::{input_type, output_type};
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Trigger, human};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let trait_doc = doc(&format!(
        "The work behind each step of the `{}` flow. Implement it with `async fn`s; fakes for tests are plain structs.\n\n\
         A transition's method receives its source state by reference, so a retry can call it again, and returns the \
         state it lands in. An undo's method receives the state its step produced.",
        flow.name
    ));
    let forwards = forwarding_methods(flow);
    let transitions = flow.transitions.iter().map(|transition| {
        let name = &transition.name;
        let input = input_type(flow, transition);
        let output = output_type(flow, transition);
        let (event_param, trigger) = match transition.trigger {
            Trigger::On { event, .. } => {
                let ty = user_type(flow, &flow.events[event].ty);
                (
                    quote!(event: &#ty,),
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
                    human(timed.duration)
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
            fn #name(
                &self,
                from: #input,
                #event_param
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<#output, Self::Error>> + #rt::Send;
        }
    });
    let undos = flow.undos.iter().map(|undo| {
        let name = &undo.name;
        let state = &flow.states[undo.state].name;
        let text = doc(&format!(
            "Undo `{name}`: compensates transition `{}` landing in `{state}`, which it receives.",
            flow.transitions[undo.transition].name
        ));
        quote! {
            #text
            fn #name(
                &self,
                state: &#state,
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<(), Self::Error>> + #rt::Send;
        }
    });
    quote! {
        #trait_doc
        #vis trait Activities: #rt::Send + #rt::Sync {
            /// The error any activity may fail with.
            type Error: #rt::Display + #rt::Debug + #rt::Send + #rt::Sync + 'static;

            #(#transitions)*
            #(#undos)*
        }

        /// Activities shared behind an `Arc` are activities too: one set can serve several
        /// flows and hosts.
        impl<__T: Activities> Activities for #rt::Arc<__T> {
            type Error = __T::Error;

            #forwards
        }
    }
}

/// The methods of `Activities for Arc<T>`: each calls `T`'s.
fn forwarding_methods(flow: &Flow) -> TokenStream {
    let rt = rt();
    let transitions = flow.transitions.iter().map(|transition| {
        let name = &transition.name;
        let input = input_type(flow, transition);
        let output = output_type(flow, transition);
        let (param, arg) = match transition.trigger {
            Trigger::On { event, .. } => {
                let ty = user_type(flow, &flow.events[event].ty);
                (quote!(event: &#ty,), quote!(event,))
            }
            _ => (quote!(), quote!()),
        };
        quote! {
            #[inline]
            fn #name(
                &self,
                from: #input,
                #param
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<#output, Self::Error>> + #rt::Send {
                __T::#name(self, from, #arg ctx)
            }
        }
    });
    let undos = flow.undos.iter().map(|undo| {
        let name = &undo.name;
        let state = &flow.states[undo.state].name;
        quote! {
            #[inline]
            fn #name(
                &self,
                state: &#state,
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<(), Self::Error>> + #rt::Send {
                __T::#name(self, state, ctx)
            }
        }
    });
    quote!(#(#transitions)* #(#undos)*)
}
