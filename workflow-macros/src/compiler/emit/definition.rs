//! `DEFINITION`: the static description a driver reads (states, transitions, triggers,
//! policies, undos, events) and the fingerprint that changes when the graph changes.

use std::fmt::Write as _;

use proc_macro2::{Literal, TokenStream};
use quote::{ToTokens, quote};

use super::{doc, rt};
use crate::compiler::model::{Flow, Retry, StateKind, Timed, Trigger, WaitValue};

#[expect(
    clippy::too_many_lines,
    reason = "one table in the order a driver reads it; already over the limit before the slimming"
)]
pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let name = flow.name.to_string();
    let some = |index: Option<usize>| {
        if let Some(index) = index {
            let index = index_literal(index);
            quote!(#rt::Some(#index))
        } else {
            quote!(#rt::None)
        }
    };
    let states = flow.states.iter().map(|state| {
        let text = state.name.to_string();
        let kind = match state.kind {
            StateKind::Initial => quote!(Initial),
            StateKind::Intermediate => quote!(Intermediate),
            StateKind::Final => quote!(Final),
        };
        let fields = state.fields.iter().map(|field| {
            let name = field
                .ident
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let ty = type_text(&field.ty);
            quote!(#name: #ty)
        });
        let pick = |select: fn(Trigger) -> bool| {
            state
                .outgoing
                .iter()
                .copied()
                .find(|&t| select(flow.transitions[t].trigger))
        };
        let automatic = some(pick(|t| matches!(t, Trigger::Automatic)));
        let after = some(pick(|t| matches!(t, Trigger::After(_))));
        let on = state
            .outgoing
            .iter()
            .copied()
            .filter(|&t| matches!(flow.transitions[t].trigger, Trigger::On { .. }))
            .map(index_literal);
        quote!([#text #kind [#(#fields),*] #automatic, #after, [#(#on),*]])
    });
    let transitions = flow.transitions.iter().map(|transition| {
        let text = transition.name.to_string();
        let sources = transition.sources.iter().map(|s| index_literal(s.state));
        let targets = transition.targets.iter().map(|target| {
            let state = index_literal(target.state);
            let undo = some(target.undo);
            quote!(#state #undo)
        });
        let trigger = match transition.trigger {
            Trigger::Automatic => quote!(#rt::Trigger::Automatic),
            Trigger::On { event, .. } => {
                let event = index_literal(event);
                quote!(#rt::Trigger::On { event: #event })
            }
            Trigger::After(timed) => {
                let wait = wait(flow, timed.wait);
                quote!(#rt::Trigger::After(#wait))
            }
        };
        let (retry, timeout) = policies(flow, transition.retry.as_ref(), transition.timeout.as_ref());
        let compensate = transition.compensate;
        let catch = transition.catch.as_ref().map(|catch| {
            let (state, compensate) = (catch.state, catch.compensate);
            let state = index_literal(state);
            quote!(.__catch(#rt::CatchDef::__new(#state, #compensate)))
        });
        let guarded = transition.guard.as_ref().map(|_| quote!(.__guarded()));
        let internal = transition.internal.map(|_| quote!(.__internal()));
        let parts = super::parts::definition(transition, |retry, timeout| policies(flow, retry, timeout));
        let child = super::child::definition(transition);
        quote!([#text [#(#sources),*] [#(#targets),*] #trigger, #retry, #timeout, #compensate #catch #guarded #internal #parts #child])
    });
    let undos = flow.undos.iter().map(|undo| {
        let text = undo.name.to_string();
        let (transition, state) = (index_literal(undo.transition), index_literal(undo.state));
        let part = undo.part.map(|part| {
            let part = index_literal(part);
            quote!(.__part(#part))
        });
        quote!([#text #transition #state #part])
    });
    let events = flow.events.iter().map(|event| {
        let variant = event.variant.to_string();
        let ty = type_text(&event.ty);
        quote!([#variant #ty])
    });
    let fingerprint = Literal::u64_suffixed(fingerprint(flow));
    let static_doc = doc(&format!(
        "The static definition of the `{name}` flow: states, transitions, triggers, policies, undos and fingerprint."
    ));
    quote! {
        #static_doc
        #vis static DEFINITION: #rt::Definition = #rt::definition!(
            #name;
            states: #(#states)*;
            transitions: #(#transitions)*;
            undos: #(#undos)*;
            events: #(#events)*;
            #fingerprint
        );
    }
}

/// A length of time, as a `Duration` constant.
fn millis(duration: core::time::Duration) -> TokenStream {
    let rt = rt();
    let ms = Literal::u64_unsuffixed(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
    quote!(#rt::Duration::from_millis(#ms))
}

/// A wait, fixed or read from a field, as the definition holds it.
fn wait(flow: &Flow, value: WaitValue) -> TokenStream {
    let rt = rt();
    match value {
        WaitValue::Fixed(duration) => {
            let d = millis(duration);
            quote!(#rt::Wait::Fixed(#d))
        }
        WaitValue::Field { field, .. } => {
            let name = flow.duration_fields[field].to_string();
            quote!(#rt::Wait::Field(#name))
        }
    }
}

/// A retry policy and a timeout, as the definition's constructors take them.
fn policies(
    flow: &Flow,
    retry: Option<&Retry>,
    timeout: Option<&Timed>,
) -> (TokenStream, TokenStream) {
    let rt = rt();
    let retry = if let Some(retry) = retry {
        let attempts = retry.attempts;
        let (min, min_field) = fixed_or_field(flow, retry.min);
        let (max, max_field) = fixed_or_field(flow, retry.max);
        let (min, max, jitter) = (millis(min), millis(max), retry.jitter);
        let fields = if min_field.is_some() || max_field.is_some() {
            let field =
                |f: Option<String>| f.map_or_else(|| quote!(#rt::None), |f| quote!(#rt::Some(#f)));
            let (min_field, max_field) = (field(min_field), field(max_field));
            quote!(.__from_fields(#min_field, #max_field))
        } else {
            quote!()
        };
        quote!(#rt::Some(#rt::RetryPolicy::new(#attempts, #min, #max, #jitter)#fields))
    } else {
        quote!(#rt::None)
    };
    let timeout = if let Some(timed) = timeout {
        let d = wait(flow, timed.wait);
        quote!(#rt::Some(#d))
    } else {
        quote!(#rt::None)
    };
    (retry, timeout)
}

/// An index into one of the definition's tables, unsuffixed: the constructor's parameter
/// gives its type.
fn index_literal(index: usize) -> Literal {
    Literal::usize_unsuffixed(index)
}

/// A retry bound as its fixed part (zero for a field) and the field's name, if it is one.
fn fixed_or_field(flow: &Flow, value: WaitValue) -> (core::time::Duration, Option<String>) {
    match value {
        WaitValue::Fixed(duration) => (duration, None),
        WaitValue::Field { field, .. } => (
            core::time::Duration::ZERO,
            Some(flow.duration_fields[field].to_string()),
        ),
    }
}

/// A path as text, without spaces: `crate::shipment`.
pub(crate) fn type_text_of(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// A type as text, without the spaces token printing puts around punctuation: `Vec<Item>`,
/// `HashMap<K, V>`, `&'static str`.
pub(crate) fn type_text(ty: &syn::Type) -> String {
    let spaced = ty.to_token_stream().to_string();
    let mut out = String::with_capacity(spaced.len());
    let mut prev = "";
    for token in spaced.split(' ') {
        let after_opener = matches!(prev, "" | "<" | "(" | "[" | "&" | "::");
        let closer = matches!(token, ">" | ")" | "]" | "," | ";" | "::" | "<");
        let call = token == "(" && !matches!(prev, "->" | "," | "+");
        if !(after_opener || closer || call) {
            out.push(' ');
        }
        out.push_str(token);
        prev = token;
    }
    out
}

/// FNV-1a over a canonical text of the graph: the flow's name, its states with their kind
/// and fields, its transitions with sources, targets, undos, trigger kind and `compensate`,
/// and its event types. Policies (retry, timeout, timer lengths) are left out: changing them
/// does not change what a stored instance means.
pub(crate) fn fingerprint(flow: &Flow) -> u64 {
    let mut lines = vec![format!("flow {}", flow.name)];
    for state in &flow.states {
        let fields: Vec<String> = state
            .fields
            .iter()
            .map(|f| {
                format!(
                    "{}:{}",
                    f.ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    type_text(&f.ty)
                )
            })
            .collect();
        lines.push(format!(
            "state {} {:?} {{{}}}",
            state.name,
            state.kind,
            fields.join(",")
        ));
    }
    for transition in &flow.transitions {
        let sources: Vec<String> = transition
            .sources
            .iter()
            .map(|s| s.ident.to_string())
            .collect();
        let targets: Vec<String> = transition
            .targets
            .iter()
            .map(|t| match t.undo {
                Some(u) => format!("{} undo {}", t.ident, flow.undos[u].name),
                None => t.ident.to_string(),
            })
            .collect();
        let trigger = match transition.trigger {
            Trigger::Automatic => "automatic".to_string(),
            Trigger::On { event, .. } => format!("on {}", type_text(&flow.events[event].ty)),
            Trigger::After(_) => "after".to_string(),
        };
        let mut line = format!(
            "transition {}: {} -> {} {trigger} compensate={}",
            transition.name,
            sources.join("|"),
            targets.join("|"),
            transition.compensate
        );
        // Added only when present, so the fingerprints of flows without them stay the same.
        if let Some(catch) = &transition.catch {
            let _ = write!(
                line,
                " catch {} compensate={}",
                catch.ident, catch.compensate
            );
        }
        if transition.guard.is_some() {
            line.push_str(" guard");
        }
        if transition.internal.is_some() {
            line.push_str(" internal");
        }
        if let Some(parts) = super::parts::text(flow, transition) {
            let _ = write!(line, " {parts}");
        }
        lines.push(line);
    }
    fnv1a(lines.join("\n").as_bytes())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
