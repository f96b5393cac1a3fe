//! Transitions made of parts, `parallel(..)` and `each(..)`: what the driver needs to run one
//! part at a time (`Dispatch::run_part` and `run_part_undo`, `Workflow::part_count` and
//! `join`), the parts in the definition, and the in-process call that the typestate method
//! and the `Step` impl make (all parts at once, the completed ones undone if one fails).

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;

use super::{rt, user_type};
use crate::compiler::model::{Flow, Parts, Retry, Timed, Transition, Trigger};

/// The call that runs every part of `transition` in process and joins them: a `Result` of
/// the transition's output. `ctx` is the context every part receives, if one is given;
/// otherwise each gets a local one named after its activity.
pub(crate) fn local_call(
    flow: &Flow,
    transition: &Transition,
    from: &TokenStream,
    event: &TokenStream,
    ctx: Option<&TokenStream>,
) -> TokenStream {
    let rt = rt();
    let ctx_of = |name: &syn::Ident| {
        ctx.cloned().unwrap_or_else(|| {
            let text = name.to_string();
            quote!(#rt::local_ctx!(#text))
        })
    };
    match &transition.parts {
        Some(Parts::Branches(branches)) => {
            let BranchesRun {
                run,
                results,
                outputs,
                joined,
            } = run_branches(flow, transition, branches, from, event, &ctx_of);
            let undos = branches.iter().zip(&results).rev().filter_map(|(branch, result)| {
                let undo = &flow.undos[branch.undo?].name;
                let ctx = ctx_of(undo);
                Some(quote! {
                    if let #rt::Ok(__o) = &#result {
                        if let #rt::Err(__e) = <__A as Activities>::#undo(acts, __o, #ctx).await {
                            __undo_error.get_or_insert(__e);
                        }
                    }
                })
            });
            quote! {{
                #run
                match (#(#results),*) {
                    (#(#rt::Ok(#outputs)),*) => #rt::Ok(#joined),
                    (#(#results),*) => {
                        let mut __undo_error = #rt::None;
                        #(#undos)*
                        #rt::Err(__undo_error.unwrap_or_else(|| {
                            #rt::first_error([#(#results.err()),*])
                        }))
                    }
                }
            }}
        }
        Some(Parts::Each(each)) => {
            let EachRun {
                run,
                outputs,
                joined,
            } = run_each(flow, transition, each, from, event, &ctx_of);
            let undo = each.undo.map(|undo| {
                let undo = &flow.undos[undo].name;
                let ctx = ctx_of(undo);
                quote! {
                    for __o in __done.iter().rev() {
                        if let #rt::Err(__e) = <__A as Activities>::#undo(acts, __o, #ctx).await {
                            __undo_error.get_or_insert(__e);
                        }
                    }
                }
            });
            quote! {{
                #run
                match __ran.await {
                    #rt::Ok(#outputs) => #rt::Ok(#joined),
                    #rt::Err((__done, __error)) => {
                        let mut __undo_error = #rt::None;
                        #undo
                        let _ = &__done;
                        #rt::Err(__undo_error.unwrap_or(__error))
                    }
                }
            }}
        }
        None => TokenStream::new(),
    }
}

/// Every branch of a step run at once, in process: `run` binds `__from` and awaits them all,
/// binding each branch's result to one of `results`; `outputs` name their outputs once all
/// succeeded, and `joined` is the join's call on them.
struct BranchesRun {
    run: TokenStream,
    results: Vec<syn::Ident>,
    outputs: Vec<syn::Ident>,
    joined: TokenStream,
}

fn run_branches(
    flow: &Flow,
    transition: &Transition,
    branches: &[crate::compiler::model::Branch],
    from: &TokenStream,
    event: &TokenStream,
    ctx_of: &dyn Fn(&syn::Ident) -> TokenStream,
) -> BranchesRun {
    let results: Vec<_> = (0..branches.len())
        .map(|i| format_ident!("__r{i}"))
        .collect();
    let outputs = output_names(branches);
    let from_arg = quote_spanned!(join_span(transition)=> __from);
    let joined = join_call(flow, transition, &quote!(#from_arg, #event #(#outputs),*));
    let calls: Vec<TokenStream> = branches
        .iter()
        .map(|branch| {
            let (method, ctx) = (&branch.name, ctx_of(&branch.name));
            quote!(<__A as Activities>::#method(acts, __from, #event #ctx))
        })
        .collect();
    let (all, pattern) = nested_join(&calls, &results);
    BranchesRun {
        run: quote! {
            let __from = #from;
            let #pattern = #all.await;
        },
        results,
        outputs,
        joined,
    }
}

/// An `each` step's items run in process, at most its limit at a time: `run` binds `__from`
/// and the future `__ran` of all of them; `outputs` names their outputs once all succeeded,
/// and `joined` is the join's call on them.
struct EachRun {
    run: TokenStream,
    outputs: TokenStream,
    joined: TokenStream,
}

fn run_each(
    flow: &Flow,
    transition: &Transition,
    each: &crate::compiler::model::Each,
    from: &TokenStream,
    event: &TokenStream,
    ctx_of: &dyn Fn(&syn::Ident) -> TokenStream,
) -> EachRun {
    let rt = rt();
    let method = &each.activity;
    let ctx = ctx_of(method);
    let at_most = Literal::usize_unsuffixed(each.at_most as usize);
    let items = items(flow, transition, &quote!(__from));
    let outputs = quote_spanned!(each.output.span()=> __outputs);
    let joined = join_call(flow, transition, &quote!(__from, #event #outputs));
    EachRun {
        run: quote! {
            let __from = #from;
            let __items = #items;
            let __ran = #rt::each_local(__items, #at_most, |__item| {
                <__A as Activities>::#method(acts, __from, #event __item, #ctx)
            });
        },
        outputs,
        joined,
    }
}

/// What a typed saga keeps of the outputs of `transition`'s parts, to undo them: an `Option`
/// per branch that has an undo, or the `Vec` of an `each`'s outputs (`()` when no part has
/// an undo).
pub(crate) fn kept_type(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    match &transition.parts {
        Some(Parts::Branches(branches)) => {
            let types = branches
                .iter()
                .filter(|b| b.undo.is_some())
                .map(|b| user_type(flow, &b.output));
            quote!((#(#rt::Option<#types>,)*))
        }
        Some(Parts::Each(each)) if each.undo.is_some() => {
            let output = user_type(flow, &each.output);
            quote!(#rt::Vec<#output>)
        }
        _ => quote!(()),
    }
}

/// The output types a typed saga keeps for `transition` (those of parts with an undo).
pub(crate) fn kept_outputs<'a>(
    flow: &'a Flow,
    transition: &'a Transition,
) -> impl Iterator<Item = TokenStream> + 'a {
    let outputs: Vec<&syn::Type> = match &transition.parts {
        Some(Parts::Branches(branches)) => branches
            .iter()
            .filter(|b| b.undo.is_some())
            .map(|b| &b.output)
            .collect(),
        Some(Parts::Each(each)) if each.undo.is_some() => vec![&each.output],
        _ => Vec::new(),
    };
    outputs.into_iter().map(move |output| {
        let output = user_type(flow, output);
        quote!(#output)
    })
}

/// `UndoParts` for `transition`'s unit type: the typed saga's undo of the step's parts, from
/// what it kept, newest first (the branches in reverse order, the items in reverse order of
/// completion).
pub(crate) fn undo_parts_impl(flow: &Flow, transition: &Transition) -> TokenStream {
    let rt = rt();
    let unit = transition.unit_type();
    let kept = kept_type(flow, transition);
    let undo_of = |undo: usize| {
        let name = &flow.undos[undo].name;
        (name, name.to_string())
    };
    let (bind, undos, skips) = match &transition.parts {
        Some(Parts::Branches(branches)) => {
            let with_undo: Vec<_> = branches.iter().filter_map(|b| b.undo).collect();
            let names: Vec<_> = (0..with_undo.len())
                .map(|i| format_ident!("__k{i}"))
                .collect();
            let undos = with_undo.iter().zip(&names).rev().map(|(&undo, k)| {
                let (method, text) = undo_of(undo);
                quote! {
                    if let #rt::Some(__o) = &#k {
                        __failed = #rt::undo_kept_part(#text, __failed, || {
                            <__A as Activities>::#method(cx, __o, #rt::local_ctx!(#text))
                        }, report).await;
                    }
                }
            });
            let skips = with_undo.iter().zip(&names).rev().map(|(&undo, k)| {
                let (_, text) = undo_of(undo);
                quote!(if #k.is_some() { #rt::skip_named(report, #rt::Some(#text)); })
            });
            (
                quote!(let (#(#names,)*) = kept;),
                undos.collect::<Vec<_>>(),
                skips.collect::<Vec<_>>(),
            )
        }
        Some(Parts::Each(each)) if each.undo.is_some() => {
            let (method, text) = undo_of(each.undo.unwrap_or_default());
            (
                quote!(let __kept = kept;),
                vec![quote! {
                    for __o in __kept.iter().rev() {
                        __failed = #rt::undo_kept_part(#text, __failed, || {
                            <__A as Activities>::#method(cx, __o, #rt::local_ctx!(#text))
                        }, report).await;
                    }
                }],
                vec![quote! {
                    for _ in &__kept {
                        #rt::skip_named(report, #rt::Some(#text));
                    }
                }],
            )
        }
        _ => (quote!(let () = kept;), Vec::new(), Vec::new()),
    };
    let text = super::doc(&format!(
        "The typed saga's undo of the `{}` step's parts.",
        transition.name
    ));
    quote! {
        #text
        impl<__A: Activities> #rt::UndoParts<__A, #kept> for steps::#unit {
            type Error = <__A as Activities>::Error;

            async fn undo(
                &self,
                cx: &__A,
                kept: #kept,
                report: &mut #rt::Report<Self::Error>,
            ) -> #rt::bool {
                #bind
                let _ = (cx, &report);
                let mut __failed = false;
                #(#undos)*
                !__failed
            }

            fn skip(&self, kept: #kept, report: &mut #rt::Report<Self::Error>) {
                #bind
                let _ = &report;
                #(#skips)*
            }
        }
    }
}

/// The call that runs every part of `transition` in process for a typed saga: like
/// [`local_call`], but the completed parts are not undone here; what the saga keeps of their
/// outputs comes back with the result, `Ok((output, kept))` or `Err((error, kept))`.
pub(crate) fn saga_call(
    flow: &Flow,
    transition: &Transition,
    from: &TokenStream,
    event: &TokenStream,
) -> TokenStream {
    let rt = rt();
    let ctx_of = |name: &syn::Ident| {
        let text = name.to_string();
        quote!(#rt::local_ctx!(#text))
    };
    match &transition.parts {
        Some(Parts::Branches(branches)) => {
            let BranchesRun {
                run,
                results,
                outputs,
                joined,
            } = run_branches(flow, transition, branches, from, event, &ctx_of);
            let kept = branches.iter().zip(&results).filter(|(b, _)| b.undo.is_some()).map(|(branch, result)| {
                let output = user_type(flow, &branch.output);
                quote!(#rt::Option::map(#rt::Result::ok(#rt::Result::as_ref(&#result)), <#output as #rt::Keep<__A>>::keep),)
            });
            quote! {{
                #run
                let __kept = (#(#kept)*);
                match (#(#results),*) {
                    (#(#rt::Ok(#outputs)),*) => #rt::Ok((#joined, __kept)),
                    (#(#results),*) => #rt::Err((#rt::first_error([#(#results.err()),*]), __kept)),
                }
            }}
        }
        Some(Parts::Each(each)) => {
            let EachRun {
                run,
                outputs,
                joined,
            } = run_each(flow, transition, each, from, event, &ctx_of);
            let (keep_all, keep_done) = if each.undo.is_some() {
                let output = user_type(flow, &each.output);
                (
                    quote!(#outputs.iter().map(<#output as #rt::Keep<__A>>::keep).collect::<#rt::Vec<_>>()),
                    quote!(__done),
                )
            } else {
                (
                    quote!(()),
                    quote!({
                        let _ = __done;
                    }),
                )
            };
            quote! {{
                #run
                match __ran.await {
                    #rt::Ok(#outputs) => {
                        let __kept = #keep_all;
                        #rt::Ok((#joined, __kept))
                    }
                    #rt::Err((__done, __error)) => #rt::Err((__error, #keep_done)),
                }
            }}
        }
        None => TokenStream::new(),
    }
}

/// `join(a, join(b, c))` of the calls, and the pattern `(__r0, (__r1, __r2))` of its output.
fn nested_join(calls: &[TokenStream], results: &[syn::Ident]) -> (TokenStream, TokenStream) {
    let rt = rt();
    match (calls, results) {
        ([call], [result]) => (call.clone(), quote!(#result)),
        ([call, rest @ ..], [result, results @ ..]) => {
            let (joined, pattern) = nested_join(rest, results);
            (
                quote!(#rt::join(#call, #joined)),
                quote!((#result, #pattern)),
            )
        }
        _ => (TokenStream::new(), TokenStream::new()),
    }
}

/// The join function, spanned where the user named it so that a signature that does not fit
/// is reported there.
fn join_path(transition: &Transition) -> TokenStream {
    match &transition.join {
        Some(path) => quote_spanned!(path.span()=> #path),
        None => TokenStream::new(),
    }
}

/// The call of the join function with `args`, as a value of the transition's output type,
/// spanned on the function's path: rustc's errors about its arguments or its result (a state
/// the transition does not go to) point at `join(..)`.
pub(crate) fn join_call(flow: &Flow, transition: &Transition, args: &TokenStream) -> TokenStream {
    let join = join_path(transition);
    let span = join_span(transition);
    let output = super::transitions::output_type(flow, transition);
    let output = quote_spanned!(span=> #output);
    quote_spanned!(span=> { let __joined: #output = #join(#args); __joined })
}

/// Where the transition's `join(..)` names its function, for the errors about it.
pub(crate) fn join_span(transition: &Transition) -> proc_macro2::Span {
    transition
        .join
        .as_ref()
        .map_or_else(proc_macro2::Span::call_site, syn::spanned::Spanned::span)
}

/// The names of the branches' outputs, `__o0, __o1, ..`, each spanned on its branch's output
/// type: an output the join does not take is reported on the branch.
fn output_names(branches: &[crate::compiler::model::Branch]) -> Vec<syn::Ident> {
    branches
        .iter()
        .enumerate()
        .map(|(i, branch)| format_ident!("__o{}", i, span = branch.output.span()))
        .collect()
}

/// The items of an `each` transition's field, as a slice, from `from` (its source as the
/// activity receives it).
fn items(flow: &Flow, transition: &Transition, from: &TokenStream) -> TokenStream {
    let Some(Parts::Each(each)) = &transition.parts else {
        return TokenStream::new();
    };
    let field = &each.field;
    if transition.sources.len() == 1 {
        return quote!(&#from.#field[..]);
    }
    let input = transition.input_type();
    let arms = transition.sources.iter().map(|source| {
        let state = &flow.states[source.state].name;
        quote!(#input::#state(__s) => &__s.#field[..],)
    });
    quote!(match #from { #(#arms)* })
}

/// For each source of `transition`: the `State` pattern binding `binding`, the source as
/// the activity receives it, the event pattern and the event argument (ending with a comma).
pub(crate) fn sources(
    flow: &Flow,
    transition: &Transition,
    binding: &TokenStream,
) -> Vec<(TokenStream, TokenStream, TokenStream, TokenStream)> {
    let rt = rt();
    transition
        .sources
        .iter()
        .map(|source| {
            let state = &flow.states[source.state].name;
            let from = if transition.sources.len() == 1 {
                binding.clone()
            } else {
                let input = transition.input_type();
                quote!(#input::#state(#binding))
            };
            let (event_pattern, event_arg) = match transition.trigger {
                Trigger::On { event } => {
                    let variant = &flow.events[event].variant;
                    (quote!(#rt::Some(Event::#variant(event))), quote!(event,))
                }
                _ => (quote!(_), quote!()),
            };
            (
                quote!(State::#state(#binding)),
                from,
                event_pattern,
                event_arg,
            )
        })
        .collect()
}

/// The transitions made of parts, with their index.
fn with_parts(flow: &Flow) -> impl Iterator<Item = (Literal, &Transition, &Parts)> {
    flow.transitions
        .iter()
        .enumerate()
        .filter_map(|(index, t)| Some((Literal::usize_unsuffixed(index), t, t.parts.as_ref()?)))
}

/// `run_part` and `run_part_undo`, for the flow's `Dispatch` impl; nothing for a flow
/// without parts (the trait's defaults then never run).
pub(crate) fn dispatch_methods(flow: &Flow) -> TokenStream {
    let rt = rt();
    if with_parts(flow).next().is_none() {
        return TokenStream::new();
    }
    let mut arms = Vec::new();
    for (index, transition, parts) in with_parts(flow) {
        for (state, from, event_pattern, event_arg) in sources(flow, transition, &quote!(__s)) {
            match parts {
                Parts::Branches(branches) => {
                    for (part, branch) in branches.iter().enumerate() {
                        let part = Literal::usize_unsuffixed(part);
                        let method = &branch.name;
                        arms.push(quote! {
                            (#index, #part, #state, #event_pattern) => #rt::part_ran(
                                <__A as Activities>::#method(acts, #from, #event_arg ctx).await,
                            ),
                        });
                    }
                }
                Parts::Each(each) => {
                    let (method, field) = (&each.activity, &each.field);
                    arms.push(quote! {
                        (#index, __part, #state, #event_pattern) => match __s.#field.get(__part) {
                            #rt::Some(__item) => #rt::part_ran(
                                <__A as Activities>::#method(acts, #from, #event_arg __item, ctx).await,
                            ),
                            #rt::None => #rt::Err(#rt::DispatchError::Mismatch(
                                #rt::mismatch::<Self>(transition, state, event),
                            )),
                        },
                    });
                }
            }
        }
    }
    let undo_arms = flow.undos.iter().enumerate().filter_map(|(index, undo)| {
        undo.part?;
        let output = user_type(flow, part_output(flow, index)?);
        let index = Literal::usize_unsuffixed(index);
        let method = &undo.name;
        Some(quote! {
            #index => match #rt::decode_part::<#output>(output) {
                #rt::Ok(__o) => #rt::part_undone(<__A as Activities>::#method(acts, &__o, ctx).await),
                #rt::Err(__why) => #rt::Ok(#rt::Err(__why)),
            },
        })
    });
    quote! {
        fn run_part<'__a>(
            acts: &'__a __A,
            transition: #rt::usize,
            part: #rt::usize,
            state: &'__a State,
            event: #rt::Option<&'__a Event>,
            ctx: &'__a #rt::StepCtx,
        ) -> impl #rt::Future<Output = #rt::Result<#rt::Encoded, #rt::DispatchError<Self::Error>>>
        + #rt::Send
        + '__a {
            async move {
                match (transition, part, state, event) {
                    #(#arms)*
                    (_, _, state, event) => {
                        let _ = (acts, ctx);
                        #rt::Err(#rt::DispatchError::Mismatch(
                            #rt::mismatch::<Self>(transition, state, event),
                        ))
                    }
                }
            }
        }

        fn run_part_undo<'__a>(
            acts: &'__a __A,
            undo: #rt::usize,
            output: &'__a #rt::str,
            ctx: &'__a #rt::StepCtx,
        ) -> impl #rt::Future<
            Output = #rt::Result<#rt::Result<(), #rt::String>, #rt::DispatchError<Self::Error>>,
        > + #rt::Send
        + '__a {
            async move {
                match undo {
                    #(#undo_arms)*
                    _ => {
                        let _ = (acts, output, ctx);
                        #rt::not_a_part_undo(undo)
                    }
                }
            }
        }
    }
}

/// The output type an undo of a part receives.
pub(crate) fn part_output(flow: &Flow, undo: usize) -> Option<&syn::Type> {
    let undo_def = &flow.undos[undo];
    match flow.transitions[undo_def.transition].parts.as_ref()? {
        Parts::Branches(branches) => Some(&branches.get(undo_def.part?)?.output),
        Parts::Each(each) => Some(&each.output),
    }
}

/// `part_count` and `join`, for the flow's `Workflow` impl; nothing for a flow without parts.
pub(crate) fn workflow_methods(flow: &Flow) -> TokenStream {
    let rt = rt();
    if with_parts(flow).next().is_none() {
        return TokenStream::new();
    }
    let mut counts = Vec::new();
    let mut joins = Vec::new();
    for (index, transition, parts) in with_parts(flow) {
        if let Parts::Branches(branches) = parts {
            let count = Literal::usize_unsuffixed(branches.len());
            counts.push(quote!((#index, _) => #count,));
        }
        for (state, from, event_pattern, event_arg) in sources(flow, transition, &quote!(__s)) {
            match parts {
                Parts::Branches(branches) => {
                    let n = Literal::usize_unsuffixed(branches.len());
                    let names = output_names(branches);
                    let types = branches.iter().map(|b| user_type(flow, &b.output));
                    let from_arg = quote_spanned!(join_span(transition)=> __from);
                    let call =
                        join_call(flow, transition, &quote!(#from_arg, #event_arg #(#names),*));
                    joins.push(quote! {
                        (#index, #state, #event_pattern) => {
                            let __from = #from;
                            let [#(#names),*] = #rt::outputs::<#n>(outputs)?;
                            #(let #names = #rt::decode_part::<#types>(#names)?;)*
                            #rt::Ok(State::from(#call))
                        }
                    });
                }
                Parts::Each(each) => {
                    let field = &each.field;
                    let output = user_type(flow, &each.output);
                    let outputs = quote_spanned!(each.output.span()=> __outputs);
                    let call = join_call(flow, transition, &quote!(#from, #event_arg #outputs));
                    counts.push(quote!((#index, #state) => __s.#field.len(),));
                    joins.push(quote! {
                        (#index, #state, #event_pattern) => {
                            let #outputs = outputs
                                .iter()
                                .map(|__o| #rt::decode_part::<#output>(__o))
                                .collect::<#rt::Result<#rt::Vec<_>, _>>()?;
                            #rt::Ok(State::from(#call))
                        }
                    });
                }
            }
        }
    }
    quote! {
        fn part_count(transition: #rt::usize, state: &State) -> #rt::usize {
            match (transition, state) {
                #(#counts)*
                _ => 0,
            }
        }

        fn join(
            transition: #rt::usize,
            state: &State,
            event: #rt::Option<&Event>,
            outputs: &[#rt::Arc<#rt::str>],
        ) -> #rt::Result<State, #rt::String> {
            match (transition, state, event) {
                #(#joins)*
                (_, state, event) => #rt::Err(#rt::mismatch_text::<Self>(transition, state, event)),
            }
        }
    }
}

/// The definition's builder call for `transition`'s parts: `.__parts(..)`.
pub(crate) fn definition(
    transition: &Transition,
    policies: impl Fn(Option<&Retry>, Option<&Timed>) -> (TokenStream, TokenStream),
) -> TokenStream {
    let rt = rt();
    let undo = |undo: Option<usize>| {
        undo.map_or_else(
            || quote!(#rt::None),
            |undo| {
                let undo = Literal::usize_unsuffixed(undo);
                quote!(#rt::Some(#undo))
            },
        )
    };
    let at_once = transition.undo_parallel.map(|_| quote!(.__undo_parallel()));
    match &transition.parts {
        Some(Parts::Branches(branches)) => {
            let branches = branches.iter().map(|branch| {
                let name = branch.name.to_string();
                let undo = undo(branch.undo);
                let (retry, timeout) = policies(branch.retry.as_ref(), branch.timeout.as_ref());
                quote!(#rt::BranchDef::__new(#name, #undo, #retry, #timeout))
            });
            quote!(.__parts(#rt::Parts::Branches(&[#(#branches),*])) #at_once)
        }
        Some(Parts::Each(each)) => {
            let (field, activity) = (each.field.to_string(), each.activity.to_string());
            let at_most = each.at_most;
            let undo = undo(each.undo);
            quote!(.__parts(#rt::Parts::Each(#rt::EachDef::__new(#field, #at_most, #activity, #undo))) #at_once)
        }
        None => TokenStream::new(),
    }
}

/// The parts as the fingerprint and the diagram write them: `parallel(credit undo
/// void_credit, income)` or `each(lines, reserve_line undo release_line)`.
pub(crate) fn text(flow: &Flow, transition: &Transition) -> Option<String> {
    let with_undo = |name: &syn::Ident, undo: Option<usize>| match undo {
        Some(undo) => format!("{name} undo {}", flow.undos[undo].name),
        None => name.to_string(),
    };
    if let Some(child) = &transition.child {
        return Some(format!(
            "child({})",
            crate::compiler::emit::definition::type_text_of(&child.flow)
        ));
    }
    let parts = match transition.parts.as_ref()? {
        Parts::Branches(branches) => {
            let branches: Vec<String> = branches
                .iter()
                .map(|b| with_undo(&b.name, b.undo))
                .collect();
            format!("parallel({})", branches.join(", "))
        }
        Parts::Each(each) => format!(
            "each({}, {}, {})",
            each.field,
            each.at_most,
            with_undo(&each.activity, each.undo)
        ),
    };
    Some(match transition.undo_parallel {
        Some(_) => format!("{parts}, undo(parallel)"),
        None => parts,
    })
}
