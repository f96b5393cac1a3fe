//! Expansion cost: the time `workflow!` takes to parse, check and generate a large flow
//! (200 states, 400 transitions), the macro's own work, without rustc around it.
//!
//! `cargo bench -p workflow-macros --bench expand`
//!
//! A proc-macro crate cannot export functions, so this benchmark compiles the compiler's
//! sources itself, through a `#[path]` module, and calls its `expand` directly.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use proc_macro2::TokenStream;

// Only `expand` is used here; the rest of the crate's entry points are not.
#[allow(dead_code, unreachable_pub)]
#[path = "../src/compiler/mod.rs"]
mod compiler;

/// A valid flow of `states` states: a chain of automatic transitions, an event transition
/// from every state, a few timers, undos and retry policies; 2 transitions per state.
fn large_flow(states: usize) -> String {
    let mut text = String::from("#[derive(Debug, Clone)] pub Large {\n");
    for i in 0..states {
        let keyword = match i {
            0 => "initial",
            i if i == states - 1 => "final",
            _ => "state",
        };
        let _ = writeln!(
            text,
            "    {keyword} S{i} {{ id: u64, items: Vec<String>, note: Option<String> }}"
        );
    }
    let last = states - 1;
    for i in 0..last {
        let next = i + 1;
        let undo = if i % 3 == 0 {
            format!(" undo u{i}")
        } else {
            String::new()
        };
        let retry = if i % 4 == 0 {
            ", retry(3, 100ms..2s, jitter), timeout(30s)"
        } else {
            ""
        };
        let _ = writeln!(text, "    t{i}: S{i} -> S{next}{undo}{retry};");
        let targets = if next == last {
            format!("S{last}")
        } else {
            format!("S{last} | S{next}")
        };
        let _ = writeln!(
            text,
            "    e{i}: S{i} -> {targets}, on Ev{}, compensate;",
            i % 10
        );
    }
    // Two timers bring the count to 2 * (states - 1) + 2 = 2 * states transitions.
    let _ = writeln!(text, "    w0: S0 -> S{last}, after(15min);");
    let _ = writeln!(text, "    w1: S1 -> S{last}, after(1h);");
    text.push('}');
    text
}

fn expand(c: &mut Criterion) {
    let source = large_flow(200);
    let tokens: TokenStream = source.parse().expect("the flow tokenizes");
    let output = compiler::expand(tokens.clone()).to_string();
    assert!(
        !output.contains("compile_error"),
        "the benchmark flow must be valid"
    );
    assert_eq!(source.matches(": S").count(), 400, "400 transitions");
    c.bench_function("expand_200_states_400_transitions", |b| {
        b.iter(|| compiler::expand(black_box(tokens.clone())));
    });
}

criterion_group!(benches, expand);
criterion_main!(benches);
