//! The `Event` enum: one variant per event type named by an `on` option.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt, user_type};
use crate::compiler::model::Flow;

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let flow_attrs = &flow.attrs;
    let enum_doc = doc(&format!(
        "Any event the `{}` flow accepts, as sent to a running instance. Each event type converts into it with `From`.",
        flow.name
    ));
    let variants: Vec<_> = flow.events.iter().map(|e| &e.variant).collect();
    let types: Vec<_> = flow.events.iter().map(|e| user_type(flow, &e.ty)).collect();
    let texts: Vec<String> = variants.iter().map(ToString::to_string).collect();
    let indices = 0..flow.events.len();
    let variant_docs = texts.iter().map(|text| doc(&format!("A `{text}` event.")));
    let thread_checks = flow.events.iter().map(|event| {
        let span = syn::spanned::Spanned::span(&event.ty);
        let ty = user_type(flow, &event.ty);
        quote::quote_spanned!(span=> #rt::assert_send_sync::<#ty>();)
    });
    quote! {
        const _: () = { #(#thread_checks)* };

        #(#flow_attrs)*
        #enum_doc
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum Event {
            #(#variant_docs #variants(#types),)*
        }

        impl Event {
            /// The event's name: its type's name.
            #[must_use]
            #vis const fn name(&self) -> &'static #rt::str {
                match *self {
                    #(Self::#variants(_) => #texts,)*
                }
            }

            /// The event's position in the flow's `DEFINITION.events()`.
            #[must_use]
            #vis const fn index(&self) -> #rt::usize {
                match *self {
                    #(Self::#variants(_) => #indices,)*
                }
            }
        }

        impl #rt::FlowEvent for Event
        where
            for<'__x> Event: #rt::Send + #rt::Sync,
        {
            fn name(&self) -> &'static #rt::str {
                Event::name(self)
            }

            fn index(&self) -> #rt::usize {
                Event::index(self)
            }
        }

        #(
            impl #rt::From<#types> for Event {
                fn from(event: #types) -> Self {
                    Self::#variants(event)
                }
            }
        )*
    }
}
