//! The `Event` enum: one variant per event type named by an `on` option.
//!
//! The flow's derives apply to the event types' enum only where every event type has the
//! trait: each derive the enum can take (`Debug`, `Clone`, `PartialEq`, `Eq`, `Hash`,
//! serde's `Serialize` and `Deserialize`) is written with a where clause that rustc checks
//! where the impl is used, so a crate that never stores or prints an event need not make its
//! event types implement them. Other derives are left off the enum.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, Path};

use super::{doc, rt, user_type};
use crate::compiler::model::Flow;

/// The derives of the flow's attributes, by path, and its other attributes but `serde(..)`.
fn split_attrs(flow: &Flow) -> (Vec<Path>, Vec<&Attribute>, Vec<&Attribute>) {
    let mut derives = Vec::new();
    let mut serde = Vec::new();
    let mut others = Vec::new();
    for attr in &flow.attrs {
        if attr.path().is_ident("derive") {
            let parsed = attr.parse_args_with(
                syn::punctuated::Punctuated::<Path, syn::Token![,]>::parse_terminated,
            );
            // A derive list that does not parse is the user's to fix: rustc reports it on
            // the states, which keep the attribute as written.
            derives.extend(parsed.into_iter().flatten());
        } else if attr.path().is_ident("serde") {
            serde.push(attr);
        } else {
            others.push(attr);
        }
    }
    (derives, serde, others)
}

/// The derive's trait name: the last segment of its path.
fn trait_name(path: &Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// The impls the flow's derives ask for, each bounded on every event type having the trait,
/// and the attributes for the enum itself (serde's derives, which write their own).
fn derived(
    flow: &Flow,
    types: &[syn::Type],
    variants: &[&syn::Ident],
) -> (TokenStream, TokenStream) {
    let rt = rt();
    let (derives, serde_attrs, _) = split_attrs(flow);
    let bounded = |bound: TokenStream| quote!(#(for<'__x> #types: #bound,)*);
    let mut out = TokenStream::new();
    let mut serde_derives = Vec::new();
    for path in &derives {
        let body = match trait_name(path).as_str() {
            "Debug" => {
                let names = variants.iter().map(ToString::to_string);
                quote! {
                    #[automatically_derived]
                    impl #rt::Debug for Event where #(for<'__x> #types: #rt::Debug,)* {
                        fn fmt(&self, f: &mut #rt::Formatter<'_>) -> #rt::FmtResult {
                            match *self { #(Self::#variants(ref e) => f.debug_tuple(#names).field(e).finish(),)* }
                        }
                    }
                }
            }
            "Clone" => {
                let bounds = bounded(quote!(#rt::Clone));
                quote! {
                    #[automatically_derived]
                    impl #rt::Clone for Event where #bounds {
                        fn clone(&self) -> Self {
                            match *self { #(Self::#variants(ref e) => Self::#variants(#rt::Clone::clone(e)),)* }
                        }
                    }
                }
            }
            "PartialEq" => {
                let bounds = bounded(quote!(#rt::PartialEq));
                quote! {
                    #[automatically_derived]
                    impl #rt::PartialEq for Event where #bounds {
                        fn eq(&self, other: &Self) -> #rt::bool {
                            #[allow(unreachable_patterns)]
                            match (self, other) { #((Self::#variants(a), Self::#variants(b)) => a == b,)* _ => false }
                        }
                    }
                }
            }
            "Eq" => {
                let bounds = bounded(quote!(#rt::Eq));
                quote!(#[automatically_derived] impl #rt::Eq for Event where #bounds {})
            }
            "Hash" => {
                let bounds = bounded(quote!(#rt::Hash));
                quote! {
                    #[automatically_derived]
                    impl #rt::Hash for Event where #bounds {
                        fn hash<__H: #rt::Hasher>(&self, state: &mut __H) {
                            #rt::Hash::hash(&self.index(), state);
                            match *self { #(Self::#variants(ref e) => #rt::Hash::hash(e, state),)* }
                        }
                    }
                }
            }
            "Serialize" | "Deserialize" => {
                serde_derives.push(path);
                continue;
            }
            _ => continue,
        };
        out.extend(body);
    }
    let mut attrs = TokenStream::new();
    if !serde_derives.is_empty() {
        // serde writes these impls; its `bound` replaces the bounds it would infer.
        let trait_path = |name: &str| {
            serde_derives
                .iter()
                .find(|p| trait_name(p) == name)
                .map(|p| quote!(#p).to_string())
        };
        let ser = trait_path("Serialize").map(|p| {
            let bound = types
                .iter()
                .map(|t| format!("for<'__x> {}: {p}", quote!(#t)))
                .collect::<Vec<_>>()
                .join(", ");
            quote!(serialize = #bound)
        });
        let de = trait_path("Deserialize").map(|p| {
            let bound = types
                .iter()
                .map(|t| format!("for<'__x> {}: {p}<'de>", quote!(#t)))
                .collect::<Vec<_>>()
                .join(", ");
            quote!(deserialize = #bound)
        });
        let bounds: Vec<_> = ser.into_iter().chain(de).collect();
        attrs.extend(quote! {
            #[derive(#(#serde_derives),*)]
            #(#serde_attrs)*
            #[serde(bound(#(#bounds),*))]
        });
    }
    (out, attrs)
}

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let (_, _, flow_attrs) = split_attrs(flow);
    let enum_doc = doc(&format!(
        "Any event the `{}` flow accepts, as sent to a running instance. Each event type converts into it with `From`.",
        flow.name
    ));
    let variants: Vec<_> = flow.events.iter().map(|e| &e.variant).collect();
    let types: Vec<_> = flow.events.iter().map(|e| user_type(flow, &e.ty)).collect();
    let (derived, derive_attrs) = derived(flow, &types, &variants);
    let texts: Vec<String> = variants.iter().map(ToString::to_string).collect();
    let indices = (0..flow.events.len()).map(proc_macro2::Literal::usize_unsuffixed);
    let variant_docs = texts.iter().map(|text| doc(&format!("A `{text}` event.")));
    let thread_checks = flow.events.iter().map(|event| {
        let span = syn::spanned::Spanned::span(&event.ty);
        let ty = user_type(flow, &event.ty);
        quote::quote_spanned!(span=> #rt::assert_send_sync::<#ty>();)
    });
    quote! {
        const _: () = { #(#thread_checks)* };

        #derived
        #derive_attrs
        #(#flow_attrs)*
        #enum_doc
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum Event {
            #(#variant_docs #variants(#types),)*
        }

        #rt::event_impls!(#vis Event { #(#variants = #indices),* });

        #(#rt::from_variant!(Event::#variants(#types));)*
    }
}
