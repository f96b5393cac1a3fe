//! The `workflow!` macro of `workflow_core`. Depend on `workflow-core`, not on this crate:
//! the generated code refers to `::workflow_core`.
//!
//! The compiler itself lives in the `compiler` module, on `proc_macro2` tokens; this file only converts
//! between `proc_macro` and `proc_macro2`.

mod compiler;

/// Declares a flow: its states, transitions, undos and policies. See `workflow_core`'s docs.
#[proc_macro]
pub fn workflow(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    compiler::expand_or_report(input.into()).into()
}
