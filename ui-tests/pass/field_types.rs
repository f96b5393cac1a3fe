//! Fields of any type: paths, generics, options, tuples, references with 'static; empty
//! states; doc comments and attributes on states and fields; event types by path.

use std::collections::BTreeMap;

use workflow_core::workflow;

pub mod events {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Cancel {
        pub reason: String,
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item<T> {
    pub sku: T,
}

workflow! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub Cart {
        /// A cart being filled.
        initial Open {
            /// The items, in order.
            items: Vec<Item<String>>,
            coupon: Option<String>,
            #[serde(default)]
            totals: BTreeMap<String, (u64, u32)>,
            note: std::borrow::Cow<'static, str>,
        }
        #[serde(rename = "checked_out")]
        final CheckedOut { items: Vec<Item<String>> }
        final Abandoned {}
        check_out: Open -> CheckedOut;
        abandon: Open -> Abandoned, on events::Cancel;
    }
}

fn main() {
    let open = cart::Open { items: vec![Item { sku: "a".into() }], coupon: None, totals: BTreeMap::new(), note: "hi".into() };
    assert_eq!(cart::State::from(open).name(), "Open");
    let fields: Vec<_> = cart::DEFINITION.states()[0].fields().iter().map(|f| f.ty()).collect();
    assert_eq!(fields, ["Vec<Item<String>>", "Option<String>", "BTreeMap<String, (u64, u32)>", "std::borrow::Cow<'static, str>"]);
    assert_eq!(cart::DEFINITION.events()[0].ty(), "events::Cancel");
    let json = serde_json::to_string(&cart::State::from(cart::CheckedOut { items: vec![] })).unwrap();
    assert_eq!(json, r#"{"CheckedOut":{"items":[]}}"#);
    let _ = cart::Event::from(events::Cancel { reason: "bored".into() });
}
