//! Compile-fail and compile-pass cases of `workflow!`, one rule per file, grouped by kind.
//!
//! The `.stderr` files are rustc's output with the toolchain pinned in `rust-toolchain.toml`.
//! After a deliberate change to a message, regenerate them and review the diff:
//! `TRYBUILD=overwrite cargo test -p workflow-ui-tests`.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("fail/*/*.rs");
    cases.pass("pass/*.rs");
}
