//! How the model maps a flow's visibility onto the items inside its module.

use proc_macro2::TokenStream;
use quote::quote;

use crate::compiler::model::item_visibility;

fn vis(tokens: TokenStream) -> String {
    item_visibility(&syn::parse2(tokens).expect("visibility")).to_string()
}

#[test]
fn items_reach_as_far_as_their_module() {
    assert_eq!(vis(quote!(pub)), "pub");
    assert_eq!(vis(quote!()), "pub (super)");
    assert_eq!(vis(quote!(pub(crate))), "pub (in crate)");
    assert_eq!(vis(quote!(pub(self))), "pub (in super)");
    assert_eq!(vis(quote!(pub(super))), "pub (in super :: super)");
    assert_eq!(vis(quote!(pub(in crate::a))), "pub (in crate :: a)");
}
