//! The expansion of one small flow, pretty-printed and compared with a committed file, so a
//! reviewer sees every change to the generated code. Update with `UPDATE_EXPECT=1 cargo test`.

#[test]
fn expansion_of_a_small_flow() {
    let input = "
        /// A door that opens once.
        #[derive(Debug, Clone, PartialEq)]
        pub Door {
            initial Closed { key: u32 }
            final Opened { by: String }
            final Jammed {}
            open: Closed -> Opened undo close | Jammed, retry(2, 10ms..20ms), timeout(1s);
            kick: Closed -> Jammed, on Kick;
        }";
    let output = crate::compiler::expand(input.parse().unwrap());
    let file: syn::File = syn::parse2(output).expect("valid Rust");
    expect_test::expect_file!["../expand/door.expanded.rs"]
        .assert_eq(&prettyplease::unparse(&file));
}
