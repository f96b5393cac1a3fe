//! Each transition as a step: `Arrow` and `Step` on its unit type, `Undo` for each target it
//! may land in, and `Continue` so outputs feed the steps that follow (an outcome enum feeds
//! each of its targets; a source state feeds the owned input of a transition from several
//! sources).

use proc_macro2::TokenStream;
use quote::quote;

use super::transitions::output_type;
use super::{doc, rt, user_type};
use crate::compiler::model::{Flow, Transition, Trigger};

/// `for<'__x> T: Send + Sync` for each type: the impls exist where the types can cross
/// threads, and a type that cannot is reported once, on its field (see `states.rs`).
fn thread_safe(types: &[TokenStream]) -> TokenStream {
    let rt = rt();
    quote!(#(for<'__x> #types: #rt::Send + #rt::Sync,)*)
}

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    flow.transitions
        .iter()
        .filter(|t| t.is_typed())
        .map(|t| {
            [
                owned_input(flow, t),
                arrow_and_step(flow, t),
                undos(flow, t),
                continue_outcome(flow, t),
            ]
            .into_iter()
            .collect::<TokenStream>()
        })
        .collect()
}

/// The step's input: the source state (or the owned input enum of several sources), paired
/// with the event for an `on` transition.
pub(crate) fn step_input(flow: &Flow, transition: &Transition) -> TokenStream {
    let base = if transition.sources.len() == 1 {
        let source = &flow.states[transition.sources[0].state].name;
        quote!(#source)
    } else {
        let owned = transition.owned_input_type();
        quote!(#owned)
    };
    match transition.trigger {
        Trigger::On { event } => {
            let ty = user_type(flow, &flow.events[event].ty);
            quote!((#base, #ty))
        }
        _ => base,
    }
}

/// The owned input of a transition from several sources, and the injection of each source
/// into it.
fn owned_input(flow: &Flow, transition: &Transition) -> TokenStream {
    if transition.sources.len() < 2 {
        return TokenStream::new();
    }
    let rt = rt();
    let vis = &flow.item_vis;
    let flow_attrs = &flow.attrs;
    let owned = transition.owned_input_type();
    let borrowed = transition.input_type();
    let text = doc(&format!(
        "The state the `{}` transition starts from, owned: its input as a step (`{}`).",
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
    let injections = sources.iter().map(|source| {
        let bounds = thread_safe(&[quote!(#source), quote!(#owned)]);
        quote! {
            #rt::from_variant!(#owned::#source(#source));

            #[automatically_derived]
            impl #rt::Continue<#owned> for #source
            where
                #bounds
            {
                #rt::continue_always!();

                fn split(self) -> #rt::Result<#owned, #rt::Infallible> {
                    #rt::Ok(#owned::#source(self))
                }
                fn rejoin(next: #owned) -> #rt::Result<Self, #owned> {
                    match next {
                        #owned::#source(state) => #rt::Ok(state),
                        #[allow(unreachable_patterns)]
                        other => #rt::Err(other),
                    }
                }
            }
        }
    });
    quote! {
        #(#flow_attrs)*
        #text
        // Variants are the flow's own state and event names, sized as the user made them.
        #[allow(clippy::enum_variant_names, clippy::large_enum_variant)]
        #vis enum #owned {
            #(#variant_docs #sources(#sources),)*
        }

        impl #owned {
            /// The name of the state it starts from.
            #[must_use]
            #vis const fn name(&self) -> &'static #rt::str {
                match self {
                    #(Self::#sources(_) => #texts,)*
                }
            }

            /// Borrows it, as the transition's activity receives it.
            #[must_use]
            #vis const fn as_from(&self) -> #borrowed<'_> {
                match self {
                    #(Self::#sources(state) => #borrowed::#sources(state),)*
                }
            }
        }

        #(#injections)*
    }
}

/// `Arrow` and `Step` for the transition's unit type.
fn arrow_and_step(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    let unit = transition.unit_type();
    let text = transition.name.to_string();
    let input = step_input(flow, transition);
    let output = output_type(flow, transition);
    let several_sources = transition.sources.len() > 1;
    let (from, event_arg) = match (transition.trigger, several_sources) {
        (Trigger::On { .. }, false) => (quote!(&input.0), quote!(&input.1,)),
        (Trigger::On { .. }, true) => (quote!(input.0.as_from()), quote!(&input.1,)),
        (_, false) => (quote!(&input), quote!()),
        (_, true) => (quote!(input.as_from()), quote!()),
    };
    let call = super::transitions::call(flow, transition, &from, &event_arg);
    if transition.targets.len() == 1 {
        return quote!(#rt::step!(Activities, steps::#unit, #input => #output, #text, |acts, input| #call););
    }
    let MemoParts {
        memo,
        ran,
        run_undo,
        memo_param,
        skip,
        into_input,
    } = memo_parts(flow, transition, &input, &text);
    let bounds = thread_safe(&[input.clone(), output.clone()]);
    quote! {
        #[automatically_derived]
        impl #rt::Arrow for steps::#unit
        where
            #bounds
        {
            type In = #input;
            type Out = #output;
        }

        #[automatically_derived]
        impl<__A: Activities> #rt::Step<__A> for steps::#unit
        where
            #bounds
        {
            type Error = <__A as Activities>::Error;
            type Memo = #memo;

            async fn run(
                &self,
                acts: &__A,
                input: #input,
            ) -> #rt::Result<(#output, Self::Memo), #rt::Aborted<#input, Self::Error>> {
                let _ = acts;
                let result: #rt::Result<#output, Self::Error> = #call;
                #ran
            }

            async fn undo(
                &self,
                acts: &__A,
                output: #output,
                memo: Self::Memo,
                report: &mut #rt::Report<Self::Error>,
            ) -> #rt::Option<#input> {
                #run_undo.then(|| #into_input)
            }

            fn skip(&self, #memo_param: Self::Memo, report: &mut #rt::Report<Self::Error>) {
                #skip
            }
        }
    }
}

/// The pieces of a transition's `Step` impl that depend on how many targets it has.
struct MemoParts {
    /// The memo type.
    memo: TokenStream,
    /// The expression settling `result`, keeping the memo from `input` and the output.
    ran: TokenStream,
    /// The expression undoing `output`, `true` when it succeeded.
    run_undo: TokenStream,
    /// The pattern `skip` binds its memo to.
    memo_param: TokenStream,
    /// The statement recording `memo`'s undo as skipped.
    skip: TokenStream,
    /// The expression giving the input back from `memo`.
    into_input: TokenStream,
}

fn memo_parts(flow: &Flow, transition: &Transition, input: &TokenStream, text: &str) -> MemoParts {
    let rt = rt();
    let targets: Vec<_> = transition
        .targets
        .iter()
        .map(|t| &flow.states[t.state].name)
        .collect();
    // One target: the memo is the input, and the undo is known statically. Several: the memo
    // also keeps which target the transition landed in.
    if let [target] = targets.as_slice() {
        return MemoParts {
            memo: input.clone(),
            ran: quote!(#rt::ran(result, input, #text)),
            run_undo: quote!(#rt::undo_landing::<__A, #target, Self>(self, acts, &output, report).await),
            memo_param: quote!(_),
            skip: quote!(#rt::skip_landing::<__A, #target, Self>(report)),
            into_input: quote!(memo),
        };
    }
    let outcome = transition.outcome_type();
    let positions: Vec<u8> = (0..targets.len())
        .map(|i| u8::try_from(i).unwrap_or(u8::MAX))
        .collect();
    MemoParts {
        memo: quote!(#rt::Landed<#input>),
        ran: quote!(#rt::ran_landed(result, input, #text, |out| match out { #(#outcome::#targets(_) => #positions,)* })),
        run_undo: quote!((match &output { #(#outcome::#targets(state) => #rt::undo_landing::<__A, #targets, Self>(self, acts, state, report).await,)* })),
        memo_param: quote!(memo),
        skip: quote! {
            #rt::skip_named(report, match memo.target() {
                #(#positions => <Self as #rt::Undo<__A, #targets>>::NAME,)*
                _ => #rt::None,
            })
        },
        into_input: quote!(memo.into_input()),
    }
}

/// `Undo` for each target: the undo activity named after `undo`, or nothing.
fn undos(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    let unit = transition.unit_type();
    transition
        .targets
        .iter()
        .map(|target| {
            let state = &flow.states[target.state].name;
            let Some(undo) = target.undo else {
                return quote!(#rt::no_undo!(Activities, steps::#unit, #state););
            };
            let method = &flow.undos[undo].name;
            let text = method.to_string();
            quote!(#rt::undo!(Activities, steps::#unit, #state, #method, #text);)
        })
        .collect()
}

/// `Continue` for an outcome enum: into each of its targets (the others exit), and, for two
/// targets, into the matching `Either` (for `or`).
fn continue_outcome(flow: &Flow, transition: &Transition) -> TokenStream {
    if transition.targets.len() < 2 {
        return TokenStream::new();
    }
    let rt = rt();
    let outcome = transition.outcome_type();
    let targets: Vec<_> = transition
        .targets
        .iter()
        .map(|t| &flow.states[t.state].name)
        .collect();
    let mut items = TokenStream::new();
    let mut typed: Vec<TokenStream> = targets.iter().map(|t| quote!(#t)).collect();
    typed.push(quote!(#outcome));
    for (index, target) in targets.iter().enumerate() {
        let bounds = thread_safe(&typed);
        let (exit, split_other, rejoin_exit) = if targets.len() == 2 {
            let other = targets[1 - index];
            (
                quote!(#other),
                quote!(#outcome::#other(state) => #rt::Err(state)),
                quote!(#outcome::#other(exit)),
            )
        } else {
            (
                quote!(#outcome),
                quote!(other => #rt::Err(other)),
                quote!(exit),
            )
        };
        items.extend(quote! {
            #[automatically_derived]
            impl #rt::Continue<#target> for #outcome
            where
                #bounds
            {
                #rt::continue_or_exit!(#exit);

                fn split(self) -> #rt::Result<#target, #exit> {
                    match self {
                        #outcome::#target(state) => #rt::Ok(state),
                        #split_other,
                    }
                }
                fn rejoin(next: #target) -> #rt::Result<Self, #target> {
                    #rt::Ok(#outcome::#target(next))
                }
                fn rejoin_exit(exit: #exit) -> Self {
                    #rejoin_exit
                }
            }
        });
    }
    if let [left, right] = targets.as_slice() {
        items.extend(continue_into_either(&outcome, left, right, &typed));
    }
    items
}

/// `From` the outcome of a transition with two targets into the matching `Either`, and
/// `Continue` into it, so the outcome feeds an `or`.
fn continue_into_either(
    outcome: &syn::Ident,
    left: &syn::Ident,
    right: &syn::Ident,
    typed: &[TokenStream],
) -> TokenStream {
    let rt = rt();
    let bounds = thread_safe(typed);
    quote! {
        #[automatically_derived]
        impl #rt::From<#outcome> for #rt::Either<#left, #right> {
            fn from(outcome: #outcome) -> Self {
                match outcome {
                    #outcome::#left(state) => #rt::Either::Left(state),
                    #outcome::#right(state) => #rt::Either::Right(state),
                }
            }
        }

        #[automatically_derived]
        impl #rt::Continue<#rt::Either<#left, #right>> for #outcome
        where
            #bounds
        {
            #rt::continue_always!();

            fn split(self) -> #rt::Result<#rt::Either<#left, #right>, #rt::Infallible> {
                #rt::Ok(self.into())
            }
            fn rejoin(next: #rt::Either<#left, #right>) -> #rt::Result<Self, #rt::Either<#left, #right>> {
                #rt::Ok(match next {
                    #rt::Either::Left(state) => #outcome::#left(state),
                    #rt::Either::Right(state) => #outcome::#right(state),
                })
            }
        }
    }
}
