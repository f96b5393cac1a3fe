//! `MERMAID`: the flow as a `stateDiagram-v2`, in a constant (no files written at expansion).

use proc_macro2::TokenStream;
use quote::quote;

use super::{doc, rt};
use crate::compiler::model::{Flow, StateKind, Trigger, human};

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
            Trigger::After(timed) => format!(" after {}", human(timed.duration)),
        };
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
                    "    {} --> {}: {}{trigger}{undo}{compensate}",
                    source.ident, target.ident, transition.name
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
