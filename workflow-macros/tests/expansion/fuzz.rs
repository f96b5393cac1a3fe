//! Property test: whatever tokens it is given, `expand` returns tokens (code or errors), never
//! panics, and what it returns is always valid Rust syntax.

use proc_macro2::TokenStream;
use proptest::prelude::*;

/// Tokens the DSL uses, and a few it does not.
const VOCABULARY: &[&str] = &[
    "initial",
    "state",
    "final",
    "Placed",
    "Paid",
    "Shipped",
    "S",
    "x",
    "u32",
    "Vec<u8>",
    "{",
    "}",
    "(",
    ")",
    ":",
    ";",
    "->",
    "|",
    ",",
    "undo",
    "release",
    "retry",
    "3",
    "0",
    "100ms",
    "..",
    "2s",
    "15min",
    "1h",
    "1.5s",
    "5sec",
    "jitter",
    "timeout",
    "on",
    "Cancel",
    "after",
    "compensate",
    "pub",
    "pub(crate)",
    "#[derive(Debug)]",
    "/// doc",
    "::",
    "=>",
    "struct",
    "'a",
    "\"text\"",
    "State",
    "Event",
    "Flow",
];

const DESIGN_FLOW: &str = "
    #[derive(Debug, Clone)]
    pub Order {
        initial Placed    { order: OrderRequest }
        state   Reserved  { order: OrderRequest, hold: HoldId }
        state   Paid      { order: OrderRequest, hold: HoldId, charge: ChargeId }
        final   Shipped   { order: OrderRequest, tracking: Tracking }
        final   Cancelled { order_id: OrderId, reason: String }
        reserve: Placed   -> Reserved undo release | Cancelled;
        pay:     Reserved -> Paid undo refund, retry(3, 100ms..2s), timeout(30s);
        ship:    Paid     -> Shipped;
        cancel:  Placed | Reserved | Paid -> Cancelled, on CancelRequested, compensate;
        expire:  Reserved -> Cancelled, after(15min), compensate;
    }";

/// Expands `text` if it tokenizes, and checks the output is valid Rust.
fn expands_to_valid_rust(text: &str) -> Result<(), TestCaseError> {
    let Ok(tokens) = text.parse::<TokenStream>() else {
        return Ok(()); // unbalanced delimiters never reach a proc macro
    };
    let output = crate::compiler::expand(tokens);
    prop_assert!(
        syn::parse2::<syn::File>(output.clone()).is_ok(),
        "invalid Rust for input {text:?}:\n{output}"
    );
    Ok(())
}

/// The design flow's tokens, as whitespace-separated words a mutation can shuffle.
fn design_words() -> Vec<String> {
    DESIGN_FLOW.split_whitespace().map(str::to_string).collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, usize),
    Swap(usize, usize),
    Duplicate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 0..VOCABULARY.len()).prop_map(|(at, word)| Mutation::Insert(at, word)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        any::<usize>().prop_map(Mutation::Duplicate),
    ]
}

fn apply(words: &mut Vec<String>, mutation: &Mutation) {
    if words.is_empty() {
        return;
    }
    let n = words.len();
    match *mutation {
        Mutation::Delete(at) => {
            words.remove(at % n);
        }
        Mutation::Insert(at, word) => words.insert(at % (n + 1), VOCABULARY[word].to_string()),
        Mutation::Swap(a, b) => words.swap(a % n, b % n),
        Mutation::Duplicate(at) => {
            let word = words[at % n].clone();
            words.insert(at % n, word);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_token_soup_never_panics(words in proptest::collection::vec(0..VOCABULARY.len(), 0..60)) {
        let text: Vec<&str> = words.iter().map(|&w| VOCABULARY[w]).collect();
        expands_to_valid_rust(&format!("Order {{ {} }}", text.join(" ")))?;
        expands_to_valid_rust(&text.join(" "))?;
    }

    #[test]
    fn mutated_flows_never_panic(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let mut words = design_words();
        for mutation in &mutations {
            apply(&mut words, mutation);
        }
        expands_to_valid_rust(&words.join(" "))?;
    }
}

#[test]
fn the_unmutated_design_flow_has_no_errors() {
    let output = crate::compiler::expand(DESIGN_FLOW.parse().unwrap());
    assert!(crate::errors_of(&output).is_empty());
}
