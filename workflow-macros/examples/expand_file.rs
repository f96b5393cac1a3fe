//! Prints a Rust file with every `workflow! { .. }` block replaced by its expansion, formatted.
//!
//! ```text
//! cargo run -p workflow-macros --example expand_file -- src/flows.rs > expanded.rs
//! ```
//!
//! Useful to read what the macro writes for your own flows, and used by
//! `scripts/check-cost.sh` to build the hand-written twin of a crate of flows.
//!
//! A proc-macro crate cannot export functions, so this example compiles the compiler's
//! sources itself, through a `#[path]` module, as the benchmarks do.

use std::process::ExitCode;

// Only `expand` is used here; the rest of the crate's entry points are not.
#[allow(dead_code, unreachable_pub)]
#[path = "../src/compiler/mod.rs"]
mod compiler;

/// Replaces `workflow!` item macros, also inside inline modules, with their expansion.
fn expand_items(items: Vec<syn::Item>) -> Result<Vec<syn::Item>, syn::Error> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            syn::Item::Macro(mac) if mac.mac.path.is_ident("workflow") => {
                let expanded: syn::File = syn::parse2(compiler::expand(mac.mac.tokens))?;
                out.extend(expanded.items);
            }
            syn::Item::Mod(mut module) => {
                if let Some((brace, items)) = module.content.take() {
                    module.content = Some((brace, expand_items(items)?));
                }
                out.push(syn::Item::Mod(module));
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: expand_file <file.rs>");
        return ExitCode::FAILURE;
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("cannot read {path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let expanded = syn::parse_file(&source).and_then(|mut file| {
        file.items = expand_items(std::mem::take(&mut file.items))?;
        Ok(file)
    });
    match expanded {
        Ok(file) => {
            print!("{}", prettyplease::unparse(&file));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{path}: {error}");
            ExitCode::FAILURE
        }
    }
}
