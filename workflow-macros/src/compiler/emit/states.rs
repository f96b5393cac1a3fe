//! One struct per state, its fields public, with a compile-time check that it can cross threads.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, StateKind};

pub(crate) fn emit(flow: &Flow, states: &[usize]) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let flow_attrs = &flow.attrs;
    states
        .iter()
        .map(|&index| {
            let state = &flow.states[index];
            let name = &state.name;
            let has_doc = state.attrs.iter().any(|a| a.path().is_ident("doc"));
            let default_doc = (!has_doc).then(|| {
                let role = match state.kind {
                    StateKind::Initial => "the initial state",
                    StateKind::Intermediate => "a state",
                    StateKind::Final => "a final state",
                };
                doc(&format!("`{name}`: {role} of the `{}` flow.", flow.name))
            });
            let attrs = &state.attrs;
            // Each name once: a repeated field is reported, and rustc need not repeat it.
            let fields: Vec<_> = state
                .fields
                .iter()
                .enumerate()
                .filter(|(i, f)| !state.fields[..*i].iter().any(|g| g.ident == f.ident))
                .map(|(_, f)| f)
                .collect();
            let fields = fields.iter().map(|field| {
                let field_attrs = &field.attrs;
                let ident = &field.ident;
                let ty = user_type(flow, &field.ty);
                quote!(#(#field_attrs)* #vis #ident: #ty)
            });
            let thread_checks = (!state.fields.is_empty()).then(|| {
                let checks = state.fields.iter().map(|field| {
                    let span = field.ty.span();
                    let ty = user_type(flow, &field.ty);
                    quote_spanned!(span=> #rt::assert_send_sync::<#ty>();)
                });
                quote!(const _: () = { #(#checks)* };)
            });
            quote! {
                #(#flow_attrs)*
                #default_doc
                #(#attrs)*
                #vis struct #name {
                    #(#fields,)*
                }

                #thread_checks
            }
        })
        .collect()
}
