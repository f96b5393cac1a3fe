//! The `workflow!` compiler on `proc_macro2` tokens, in four passes:
//! [`parse`] (syntax) -> [`model`] (resolved graph) -> [`check`] (the DSL's rules) -> [`emit`] (Rust).
//!
//! It works on `proc_macro2` types only, so unit tests, the property test and the benchmarks
//! drive it directly, without a compiler around it.

pub(crate) mod check;
pub(crate) mod diagnostic;
pub(crate) mod emit;
pub(crate) mod model;
pub(crate) mod parse;

use proc_macro2::TokenStream;

use diagnostic::Errors;

/// Expands one `workflow!` invocation. Never fails: errors come back as `compile_error!`
/// invocations, next to whatever could still be generated.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let decl: parse::FlowDecl = match syn::parse2(input) {
        Ok(decl) => decl,
        Err(error) => return error.to_compile_error(),
    };
    let mut errors = Errors::default();
    let syntax_ok = decl.errors.is_empty();
    errors.extend(decl.errors.iter().cloned());
    let (flow, resolved) = model::build(decl, &mut errors);
    if !syntax_ok {
        // Rules would misfire on a flow missing the items that did not parse.
        let mut out = errors.to_compile_errors();
        out.extend(emit::emit_fallback(&flow));
        return out;
    }
    match check::check(flow, resolved, &mut errors) {
        Ok(checked) => emit::emit(&checked),
        Err(flow) => {
            let mut out = errors.to_compile_errors();
            out.extend(emit::emit_fallback(&flow));
            out
        }
    }
}

/// [`expand`], with a last resort: a panic (a bug in this crate) becomes a compile error that
/// asks for a report, instead of an opaque "proc macro panicked".
pub(crate) fn expand_or_report(input: TokenStream) -> TokenStream {
    match std::panic::catch_unwind(|| expand(input)) {
        Ok(tokens) => tokens,
        Err(_) => syn::Error::new(
            proc_macro2::Span::call_site(),
            "internal error in `workflow!`: the macro failed on this input\n\
             = help: please report it with the `workflow!` block that triggers it",
        )
        .to_compile_error(),
    }
}
