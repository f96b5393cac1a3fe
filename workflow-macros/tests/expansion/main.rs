//! Tests of the `workflow!` compiler on `proc_macro2` tokens: rules, recovery, snapshots, and
//! a property test that no input makes it panic.
//!
//! A proc-macro crate cannot export functions, so this test compiles the compiler's sources
//! itself, through a `#[path]` module, as the benchmarks and examples do.

// Only `expand` and a few helpers are used here.
#[allow(dead_code, unreachable_pub)]
#[path = "../../src/compiler/mod.rs"]
mod compiler;

mod diagnostic;
mod fuzz;
mod model;
mod rules;
mod snapshot;

use proc_macro2::{TokenStream, TokenTree};

/// The messages of every `compile_error!` in an expansion, in order.
pub(crate) fn errors_of(output: &TokenStream) -> Vec<String> {
    let mut messages = Vec::new();
    let mut trees = output.clone().into_iter().peekable();
    while let Some(tree) = trees.next() {
        match tree {
            TokenTree::Ident(ident) if ident == "compile_error" => {
                let _bang = trees.next();
                if let Some(TokenTree::Group(group)) = trees.next() {
                    let lit: syn::LitStr =
                        syn::parse2(group.stream()).expect("compile_error! takes a string");
                    messages.push(lit.value());
                }
            }
            TokenTree::Group(group) => messages.extend(errors_of(&group.stream())),
            _ => {}
        }
    }
    messages
}

/// Expands `input` and returns the first line of every error message.
pub(crate) fn headlines(input: &str) -> Vec<String> {
    let tokens: TokenStream = input.parse().expect("test input tokenizes");
    errors_of(&crate::compiler::expand(tokens))
        .into_iter()
        .map(|m| m.lines().next().unwrap_or_default().to_string())
        .collect()
}
