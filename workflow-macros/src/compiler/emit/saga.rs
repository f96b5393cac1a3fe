//! The typed saga: `Saga<S, C>`, a state and the chain of undos that led to it, with the flow's
//! transitions as methods. Each success pushes its undo onto the chain's type; a failure, or
//! `abort`, unwinds it newest first.

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Transition, Trigger};

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = flow.name.to_string();
    let methods = flow.states.iter().enumerate().flat_map(|(index, state)| {
        state
            .outgoing
            .iter()
            .filter(|&&t| flow.transitions[t].is_typed())
            .filter_map(move |&t| {
                let transition = &flow.transitions[t];
                match &transition.parts {
                    None => Some(method(flow, transition, index)),
                    // A compensating step made of parts is the driver's only.
                    Some(_) if transition.compensate => None,
                    Some(_) => Some(parts_method(flow, transition, index)),
                }
            })
    });
    let undo_parts = flow
        .transitions
        .iter()
        .filter(|t| t.parts.is_some() && !t.compensate)
        .map(|t| super::parts::undo_parts_impl(flow, t));
    let outcomes = flow
        .transitions
        .iter()
        .filter(|t| t.targets.len() > 1 && t.is_typed())
        .map(|t| outcome_enum(flow, t));
    quote! {
        #rt::saga!(#vis Saga of #name, Activities);

        #(#outcomes)*
        #(#undo_parts)*
        #(#methods)*
    }
}

/// The saga after a transition with several targets: one variant per target.
fn outcome_enum(flow: &Flow, transition: &Transition) -> TokenStream {
    let vis = &flow.item_vis;
    let saga_outcome = transition.saga_outcome_type();
    let targets: Vec<_> = transition
        .targets
        .iter()
        .map(|t| &flow.states[t.state].name)
        .collect();
    let texts: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let text = doc(&format!(
        "Where a saga lands after `{}`: `{}`.",
        transition.name,
        transition.arrow()
    ));
    let variant_docs = texts
        .iter()
        .map(|t| doc(&format!("The saga landed in `{t}`.")));
    let rt = rt();
    quote! {
        #text
        #[must_use = "a saga holds the undos of the steps it took: keep its state with `into_state` or `abort` it"]
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum #saga_outcome<__C> {
            #(#variant_docs #targets(Saga<#targets, __C>),)*
        }

        #[automatically_derived]
        impl<__C> #rt::Debug for #saga_outcome<__C>
        where
            #(for<'__x> #targets: #rt::Debug,)*
        {
            fn fmt(&self, f: &mut #rt::Formatter<'_>) -> #rt::FmtResult {
                match self {
                    #(Self::#targets(saga) => f.debug_tuple(#texts).field(saga).finish(),)*
                }
            }
        }
    }
}

/// Where the saga lands after `transition` from `source`: its type, and the expression that
/// builds it from `next` (the activity's output) and `chain`.
fn landing(flow: &Flow, transition: &Transition, source: usize) -> (TokenStream, TokenStream) {
    let rt = rt();
    let name = &flow.states[source].name;
    let unit = transition.unit_type();
    let chain_type = if transition.compensate {
        quote!(#rt::Empty)
    } else if transition.parts.is_some() {
        let kept = super::parts::kept_type(flow, transition);
        quote!(#rt::PartsLink<steps::#unit, #kept, #name, __C>)
    } else {
        quote!(#rt::Link<steps::#unit, #name, __C>)
    };
    let targets: Vec<_> = transition
        .targets
        .iter()
        .map(|t| &flow.states[t.state].name)
        .collect();
    if let [target] = targets.as_slice() {
        (
            quote!(Saga<#target, #chain_type>),
            quote!(Saga { state: next, chain }),
        )
    } else {
        let outcome = transition.outcome_type();
        let saga_outcome = transition.saga_outcome_type();
        (
            quote!(#saga_outcome<#chain_type>),
            quote!(match next { #(#outcome::#targets(state) => #saga_outcome::#targets(Saga { state, chain }),)* }),
        )
    }
}

/// The source as the step's activity receives it from a saga in `source`, and the event
/// parameter and argument, if the transition is taken on one.
fn inputs(
    flow: &Flow,
    transition: &Transition,
    source: usize,
) -> (TokenStream, TokenStream, TokenStream) {
    let name = &flow.states[source].name;
    let from = if transition.sources.len() == 1 {
        quote!(&self.state)
    } else {
        let input = transition.input_type();
        quote!(#input::#name(&self.state))
    };
    let (event_param, event_arg) = match transition.trigger {
        Trigger::On { event } => {
            let ty = user_type(flow, &flow.events[event].ty);
            (quote!(, event: &#ty), quote!(event,))
        }
        _ => (quote!(), quote!()),
    };
    (from, event_param, event_arg)
}

/// A transition made of parts as a method on the saga in one of its source states: the
/// parts run in process; on success the saga keeps what it needs of their outputs to undo
/// them later (so those outputs are `Clone`), on failure the completed ones are undone, then
/// the chain.
fn parts_method(flow: &Flow, transition: &Transition, source: usize) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = &flow.states[source].name;
    let method = &transition.name;
    let text = transition.name.to_string();
    let unit = transition.unit_type();
    let (from, event_param, event_arg) = inputs(flow, transition, source);
    let error = quote!(<__A as Activities>::Error);
    let call = super::parts::saga_call(flow, transition, &from, &event_arg);
    let kept = super::parts::kept_type(flow, transition);
    let keeps = super::parts::kept_outputs(flow, transition);
    let (landed_type, land) = landing(flow, transition, source);
    let method_doc = doc(&format!(
        "Takes transition `{text}` (`{}`) from `{name}`, in the saga: its parts run at once \
         (in process), and the saga keeps a copy of each output a part's undo needs.\n\
         # Errors\n\
         If a part fails, the parts that completed are undone, newest first, then the chain; \
         the failure names `{text}`, carries the first part's error and the report, and gives \
         back the state the saga started from if every undo succeeded.",
        transition.arrow()
    ));
    quote! {
        impl<__C> Saga<#name, __C> {
            #method_doc
            #vis async fn #method<__A: Activities>(
                self,
                acts: &__A
                #event_param
            ) -> #rt::Result<#landed_type, #rt::Aborted<__C::Start, #error>>
            where
                __C: #rt::Chain<__A, #name, #error>,
                #(#keeps: #rt::Keep<__A>,)*
            {
                let result: #rt::Result<_, (#error, #kept)> = #call;
                let (next, chain) = #rt::saga_advance_parts(
                    acts, steps::#unit, #text, self.state, self.chain, result,
                )
                .await?;
                #rt::Ok(#land)
            }
        }
    }
}

/// One transition as a method on the saga in one of its source states: through `saga_step!`,
/// or written out for a compensating transition.
fn method(flow: &Flow, transition: &Transition, source: usize) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = &flow.states[source].name;
    let method = &transition.name;
    let text = transition.name.to_string();
    let unit = transition.unit_type();
    let (from, event_param, event_arg) = inputs(flow, transition, source);
    let error = quote!(<__A as Activities>::Error);
    let call = super::transitions::call(flow, transition, &from, &event_arg);
    let (landed_type, land) = landing(flow, transition, source);
    if !transition.compensate {
        let arrow = transition.arrow();
        return quote! {
            #rt::saga_step!(
                Activities, #vis #method(self, acts #event_param) #name -> #landed_type,
                steps::#unit, #text, #arrow, #call, |next, chain| #land
            );
        };
    }
    let method_doc = doc(&format!(
        "Takes transition `{text}` (`{}`) from `{name}`, in the saga. The transition compensates: \
         once its activity succeeds, every undo of the chain runs, newest first, before the saga \
         lands with an empty chain; the report says what ran.\n\
         # Errors\n\
         If the activity fails, the chain is unwound and the failure names `{text}`, carries \
         the error and the report, and gives back the state the saga started from if every \
         undo succeeded.",
        transition.arrow()
    ));
    quote! {
        impl<__C> Saga<#name, __C> {
            #method_doc
            #vis async fn #method<__A: Activities>(
                self,
                acts: &__A
                #event_param
            ) -> #rt::Result<(#landed_type, #rt::Report<#error>), #rt::Aborted<__C::Start, #error>>
            where
                __C: #rt::Chain<__A, #name, #error>,
            {
                let result: #rt::Result<_, #error> = #call;
                let (next, report) = #rt::saga_compensate(acts, #text, self.state, self.chain, result).await?;
                let chain = #rt::Empty;
                #rt::Ok((#land, report))
            }
        }
    }
}
