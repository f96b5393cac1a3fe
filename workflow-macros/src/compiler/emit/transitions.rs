//! Per transition: a unit type naming it, the enum of its outcomes when it has several targets,
//! and the enum of its inputs when it has several sources.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt};
use crate::compiler::model::{Flow, Transition};

/// What the transition's activity receives: `&Placed`, or `CancelFrom<'_>` for several sources.
pub(crate) fn input_type(flow: &Flow, transition: &Transition) -> TokenStream {
    if transition.sources.len() == 1 {
        let source = &flow.states[transition.sources[0].state].name;
        quote!(&#source)
    } else {
        let input = transition.input_type();
        quote!(#input<'_>)
    }
}

/// The call that takes `transition` once: its activity's (with `acts` in scope), awaited,
/// giving a `Result`; for a guarded transition, its guard's, wrapped in `Ok`; for one made
/// of parts, all its parts in process, joined. `from` and `event` are the arguments as the
/// activity receives them (`event` ends with a comma).
pub(crate) fn call(
    flow: &Flow,
    transition: &Transition,
    from: &TokenStream,
    event: &TokenStream,
) -> TokenStream {
    let rt = rt();
    if transition.parts.is_some() {
        return super::parts::local_call(flow, transition, from, event, None);
    }
    if transition.guard.is_some() {
        return call_in(transition, from, event, &TokenStream::new());
    }
    let text = transition.name.to_string();
    call_in(transition, from, event, &quote!(#rt::local_ctx!(#text)))
}

/// [`call`], with the activity's context `ctx` given.
pub(crate) fn call_in(
    transition: &Transition,
    from: &TokenStream,
    event: &TokenStream,
    ctx: &TokenStream,
) -> TokenStream {
    let rt = rt();
    if let Some(guard) = &transition.guard {
        let choose = &guard.choose;
        let call =
            quote::quote_spanned!(syn::spanned::Spanned::span(choose)=> #choose(#from, #event));
        return quote!(#rt::Ok(#call));
    }
    let method = &transition.name;
    quote!(<__A as Activities>::#method(acts, #from, #event #ctx).await)
}

/// What the transition produces: `Reserved`, or `ReserveTo` for several targets.
pub(crate) fn output_type(flow: &Flow, transition: &Transition) -> TokenStream {
    if transition.targets.len() == 1 {
        let target = &flow.states[transition.targets[0].state].name;
        quote!(#target)
    } else {
        let outcome = transition.outcome_type();
        quote!(#outcome)
    }
}

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let enums: TokenStream = flow
        .transitions
        .iter()
        .map(|t| {
            [outcome_enum(flow, t), input_enum(flow, t)]
                .into_iter()
                .collect::<TokenStream>()
        })
        .collect();
    [steps(flow), enums].into_iter().collect()
}

/// The `steps` module with one unit type per transition, and one constant of each type in the
/// flow's module. The constants live in the value namespace, so a transition may share its
/// name with a state (`open: Closed -> Open`): states are braced structs, types only.
fn steps(flow: &Flow) -> TokenStream {
    let vis = &flow.item_vis;
    let nested = &flow.nested_vis;
    let module_doc = doc(&format!(
        "One unit type per transition of the `{}` flow. The flow's module holds a constant of each, named the same: `{}`.",
        flow.name,
        flow.transitions
            .first()
            .map_or_else(String::new, |t| format!(
                "{}: steps::{}",
                t.unit_type(),
                t.unit_type()
            )),
    ));
    let types = flow.transitions.iter().map(|transition| {
        let unit = transition.unit_type();
        let text = doc(&format!(
            "The type of the `{}` transition (`{}`).",
            transition.name,
            transition.arrow()
        ));
        quote! {
            #text
            #[derive(__wf::Debug, __wf::Clone, __wf::Copy, __wf::Default)]
            #[derive(__wf::PartialEq, __wf::Eq, __wf::Hash)]
            #nested struct #unit;
        }
    });
    let constants = flow.transitions.iter().map(|transition| {
        let unit = transition.unit_type();
        let text = doc(&format!(
            "The `{}` transition (`{}`) as a value.",
            transition.name,
            transition.arrow()
        ));
        quote! {
            #text
            #[allow(non_upper_case_globals)]
            #vis const #unit: steps::#unit = steps::#unit;
        }
    });
    quote! {
        #module_doc
        #vis mod steps {
            // The module's own import of the runtime: its items are only the unit types.
            use ::workflow_core::__private as __wf;
            #(#types)*
        }

        #(#constants)*
    }
}

fn outcome_enum(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    if transition.targets.len() < 2 {
        return TokenStream::new();
    }
    let vis = &flow.item_vis;
    let flow_attrs = &flow.attrs;
    let outcome = transition.outcome_type();
    let text = doc(&format!(
        "Where the `{}` transition lands: `{}`.",
        transition.name,
        transition.arrow()
    ));
    let targets: Vec<_> = transition
        .targets
        .iter()
        .map(|t| &flow.states[t.state].name)
        .collect();
    let texts: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let variant_docs = texts.iter().map(|t| doc(&format!("Landed in `{t}`.")));
    quote! {
        #(#flow_attrs)*
        #text
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum #outcome {
            #(#variant_docs #targets(#targets),)*
        }

        impl #outcome {
            /// The name of the state it landed in.
            #[must_use]
            #vis const fn name(&self) -> &'static #rt::str {
                match self {
                    #(Self::#targets(_) => #texts,)*
                }
            }
        }

        #[automatically_derived]
        impl #rt::From<#outcome> for State {
            fn from(outcome: #outcome) -> Self {
                match outcome {
                    #(#outcome::#targets(state) => Self::#targets(state),)*
                }
            }
        }

        #(#rt::from_variant!(#outcome::#targets(#targets));)*
    }
}

fn input_enum(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    if transition.sources.len() < 2 {
        return TokenStream::new();
    }
    let vis = &flow.item_vis;
    let input = transition.input_type();
    let text = doc(&format!(
        "The state the `{}` transition starts from (`{}`), borrowed for one attempt.",
        transition.name,
        transition.arrow()
    ));
    let sources: Vec<_> = transition
        .sources
        .iter()
        .map(|s| &flow.states[s.state].name)
        .collect();
    let texts: Vec<String> = sources.iter().map(ToString::to_string).collect();
    let variant_docs = texts.iter().map(|t| doc(&format!("Starting from `{t}`.")));
    quote! {
        #text
        #[derive(#rt::Clone, #rt::Copy)]
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum #input<'a> {
            #(#variant_docs #sources(&'a #sources),)*
        }

        #[automatically_derived]
        impl #rt::Debug for #input<'_> {
            fn fmt(&self, f: &mut #rt::Formatter<'_>) -> #rt::FmtResult {
                f.debug_tuple(self.name()).finish_non_exhaustive()
            }
        }

        impl #input<'_> {
            /// The name of the state it starts from.
            #[must_use]
            #vis const fn name(&self) -> &'static #rt::str {
                match self {
                    #(Self::#sources(_) => #texts,)*
                }
            }
        }

        #(#rt::from_variant!(#input<'a>::#sources(&#sources));)*
    }
}
