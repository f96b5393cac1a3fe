//! `MERMAID`: the flow as a `stateDiagram-v2`, in a constant (no files written at expansion).

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};

use super::{doc, rt};
use crate::compiler::model::{Flow, StateKind, Trigger};

/// The diagram text.
pub(crate) fn diagram(flow: &Flow) -> String {
    let mut lines = vec!["stateDiagram-v2".to_string()];
    for state in flow.states.iter().filter(|s| s.kind == StateKind::Initial) {
        lines.push(format!("    [*] --> {}", state.name));
    }
    for transition in &flow.transitions {
        let trigger = match transition.trigger {
            Trigger::Automatic => String::new(),
            Trigger::On { event, .. } => format!(" on {}", flow.events[event].variant),
            Trigger::After(timed) => format!(" after {}", timed.wait.text(flow)),
        };
        let guard = transition
            .guard
            .as_ref()
            .map(|g| {
                format!(
                    " [{}]",
                    g.choose.to_token_stream().to_string().replace(' ', "")
                )
            })
            .unwrap_or_default();
        let internal = if transition.internal.is_some() {
            ", internal"
        } else {
            ""
        };
        let parts = super::parts::text(flow, transition)
            .map(|parts| format!(", {parts}"))
            .unwrap_or_default();
        let compensate = if transition.compensate {
            ", compensate"
        } else {
            ""
        };
        for source in &transition.sources {
            for target in &transition.targets {
                let undo = target
                    .undo
                    .map(|u| format!(", undo {}", flow.undos[u].name))
                    .unwrap_or_default();
                lines.push(format!(
                    "    {} --> {}: {}{guard}{parts}{trigger}{undo}{compensate}{internal}",
                    source.ident, target.ident, transition.name
                ));
            }
            if let Some(catch) = &transition.catch {
                let compensate = if catch.compensate { ", compensate" } else { "" };
                lines.push(format!(
                    "    {} --> {}: {} failed, caught{compensate}",
                    source.ident, catch.ident, transition.name
                ));
            }
        }
    }
    for state in flow.states.iter().filter(|s| s.kind == StateKind::Final) {
        lines.push(format!("    {} --> [*]", state.name));
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

pub(crate) fn emit(flow: &Flow) -> TokenStream {
    let rt = rt();
    let vis = &flow.item_vis;
    let text = diagram(flow);
    let const_doc = doc(&format!(
        "The `{}` flow as a Mermaid `stateDiagram-v2`: paste it into any Mermaid renderer.",
        flow.name
    ));
    quote! {
        #const_doc
        #vis const MERMAID: &#rt::str = #text;
    }
}
