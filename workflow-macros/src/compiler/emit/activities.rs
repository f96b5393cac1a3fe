//! The `Activities` trait: one async method per transition and per undo, implemented by the user.

use proc_macro2::TokenStream;
use quote::quote;

use super::transitions::{input_type, output_type};
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Trigger};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let trait_doc = doc(&format!(
        "The work behind each step of the `{}` flow. Implement it with `async fn`s; fakes for tests are plain structs.\n\n\
         A transition's method receives its source state by reference, so a retry can call it again, and returns the \
         state it lands in. An undo's method receives the state its step produced.",
        flow.name
    ));
    // Each method's signature, declared in the trait and forwarded by `Arc<T>`'s impl.
    let mut declared = Vec::new();
    let mut forwarded = Vec::new();
    for transition in flow.transitions.iter().filter(|t| t.has_activity()) {
        let name = &transition.name;
        let input = input_type(flow, transition);
        let output = output_type(flow, transition);
        let (event_param, event_arg, trigger) = match transition.trigger {
            Trigger::On { event, .. } => {
                let ty = user_type(flow, &flow.events[event].ty);
                (
                    quote!(event: &#ty,),
                    quote!(event,),
                    format!(
                        " Taken when a `{}` event arrives.",
                        flow.events[event].variant
                    ),
                )
            }
            Trigger::After(timed) => (
                quote!(),
                quote!(),
                format!(
                    " Taken after waiting {} in the source state.",
                    timed.wait.text(flow)
                ),
            ),
            Trigger::Automatic => (quote!(), quote!(), " Taken automatically.".to_string()),
        };
        let text = doc(&format!(
            "Transition `{name}`: `{}`.{trigger}",
            transition.arrow()
        ));
        let mut docs: Vec<TokenStream> = transition.docs.iter().map(|d| quote!(#d)).collect();
        if !docs.is_empty() {
            docs.push(doc(""));
        }
        let signature = quote! {
            fn #name(
                &self,
                from: #input,
                #event_param
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<#output, Self::Error>> + #rt::Send
        };
        declared.push(quote! {
            #(#docs)*
            #text
            #signature;
        });
        forwarded.push(quote! {
            #signature {
                __T::#name(self, from, #event_arg ctx)
            }
        });
    }
    for undo in &flow.undos {
        let name = &undo.name;
        let state = &flow.states[undo.state].name;
        let text = doc(&format!(
            "Undo `{name}`: compensates transition `{}` landing in `{state}`, which it receives.",
            flow.transitions[undo.transition].name
        ));
        let signature = quote! {
            fn #name(
                &self,
                state: &#state,
                ctx: &#rt::StepCtx,
            ) -> impl #rt::Future<Output = #rt::Result<(), Self::Error>> + #rt::Send
        };
        declared.push(quote! {
            #text
            #signature;
        });
        forwarded.push(quote! {
            #signature {
                __T::#name(self, state, ctx)
            }
        });
    }
    trait_and_arc_impl(flow, &trait_doc, &declared, &forwarded)
}

/// The trait with its `declared` methods, and its impl for `Arc<T>` with the `forwarded` ones.
fn trait_and_arc_impl(
    flow: &Flow,
    trait_doc: &TokenStream,
    declared: &[TokenStream],
    forwarded: &[TokenStream],
) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    quote! {
        #trait_doc
        #vis trait Activities: #rt::Send + #rt::Sync {
            /// The error any activity may fail with.
            type Error: #rt::Display + #rt::Debug + #rt::Send + #rt::Sync + 'static;

            /// Whether an attempt that failed with `error` is worth retrying. `false` skips
            /// the step's remaining attempts: it fails for good at once (and lands where its
            /// `catch` goes, if it has one). Every error is worth retrying unless this says
            /// otherwise.
            fn retryable(error: &Self::Error) -> #rt::bool {
                let _ = error;
                true
            }

            #(#declared)*
        }

        /// Activities shared behind an `Arc` are activities too: one set can serve several
        /// flows and hosts.
        #[automatically_derived]
        impl<__T: Activities> Activities for #rt::Arc<__T> {
            type Error = __T::Error;

            fn retryable(error: &Self::Error) -> #rt::bool {
                __T::retryable(error)
            }

            #(#forwarded)*
        }
    }
}
