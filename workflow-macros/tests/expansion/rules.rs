//! One test per rule: the exact headline of each error, and that errors accumulate.
//! (The ui-tests check the same rules through rustc, with spans.)

use crate::{errors_of, headlines};

const VALID: &str = "
    pub Order {
        initial Placed { id: u32 }
        state Reserved { id: u32 }
        final Shipped {}
        final Cancelled {}
        reserve: Placed -> Reserved undo release | Cancelled;
        ship: Reserved -> Shipped, retry(3, 100ms..2s, jitter), timeout(30s);
        cancel: Placed | Reserved -> Cancelled, on Cancel, compensate;
        expire: Reserved -> Cancelled, after(15min);
    }";

#[test]
fn a_valid_flow_expands_without_errors_into_valid_rust() {
    assert_eq!(headlines(VALID), Vec::<String>::new());
    let output = crate::compiler::expand(VALID.parse().unwrap());
    syn::parse2::<syn::File>(output).expect("the expansion is valid Rust");
}

/// One input per rule, and the headline of the error it must produce.
const RULE_CASES: &[(&str, &str)] = &[
    (
        "A { state S {} final F {} go: S -> F; }",
        "flow `A` has no initial state",
    ),
    (
        "A { initial S {} initial T {} final F {} a: S -> F; b: T -> F; }",
        "second initial state `T`; `S` is already initial",
    ),
    (
        "A { initial S {} final F {} go: S -> G; }",
        "unknown state `G` as a target of transition `go`",
    ),
    (
        "A { initial S {} final F {} final F {} go: S -> F; }",
        "state `F` is declared twice",
    ),
    (
        "A { initial S {} final F {} go: S -> F; go: S -> F, on E; }",
        "transition `go` is declared twice",
    ),
    (
        "A { initial S {} final F {} final G {} go: S -> F; }",
        "state `G` cannot be reached from the initial state `S`",
    ),
    (
        "A { initial S {} state T {} final F {} a: S -> T | F; b: T -> T, on E; }",
        "no final state can be reached from state `T`",
    ),
    (
        "A { initial S {} final F {} a: S -> F; b: F -> S, on E; }",
        "transition `b` leaves final state `F`",
    ),
    (
        "A { initial S {} final F {} final G {} a: S -> F; b: S -> G; }",
        "state `S` has two automatic transitions: `a` and `b`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, after(1s); b: S -> F, after(2s); }",
        "state `S` has two `after` timers: `a` and `b`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, on E; b: S -> F, on E; }",
        "state `S` takes event `E` in two transitions: `a` and `b`",
    ),
    (
        "A { initial S {} state T {} final F {} a: S -> T | F; }",
        "state `T` is not final and has no transition out of it",
    ),
    (
        "A { initial S {} state T {} final F {} a: S -> T undo u; b: T -> F undo u; }",
        "undo `u` is declared twice, for transition `a` and transition `b`",
    ),
    (
        "A { initial S {} final F {} a: S -> F undo a; }",
        "undo `a` has the name of a transition",
    ),
    (
        "A { initial S {} final F {} a: S -> F, retry(3, 1sec..2s); }",
        "found `1sec` in `retry`: unknown unit `sec`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, timeout(30); }",
        "found `30` in `timeout`: a number with no unit",
    ),
    (
        "A { initial S {} final F {} a: S -> F, timeout(1.5s); }",
        "found fractional duration `1.5s` in `timeout`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, after(0ms); }",
        "found a zero duration `0ms` in `after`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, retry(0, 1s..2s); }",
        "found `0` attempts",
    ),
    (
        "A { initial S {} final F {} a: S -> F, retry(3, 5s..1s); }",
        "the first wait (5s) is longer than the longest (1s) in `retry` on `a`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, on E, timeout(1s); }",
        "`timeout` on transition `a`, which waits for an event",
    ),
    (
        "A { initial S {} final F {} a: S -> F, on E, after(1s); }",
        "transition `a` has both `on` and `after`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, compensate, compensate; }",
        "option `compensate` appears twice on transition `a`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, retries(3); }",
        "unknown option `retries` on transition `a`",
    ),
    (
        "A { initial State {} final F {} a: State -> F; }",
        "state `State` has the name of the enum of all states, `a::State`",
    ),
    (
        "A { initial S {} final GoTo {} go: S -> GoTo | S; }",
        "the outcome enum of transition `go` would be `a::GoTo`, which is already state `GoTo`",
    ),
    (
        "A { initial placed {} final F {} go: placed -> F; }",
        "state `placed` is not in UpperCamelCase",
    ),
    (
        "A { initial S {} final F {} goAway: S -> F; }",
        "transition `goAway` is not in snake_case",
    ),
    (
        "A { initial S { x: u8, x: u8 } final F {} go: S -> F; }",
        "field `x` appears twice in state `S`",
    ),
    (
        "A { initial S {} final F {} a: S | S -> F; }",
        "state `S` is listed twice as a source of `a`",
    ),
    (
        "A { initial S {} final F {} a: S -> F | F; }",
        "state `F` is listed twice as a target of `a`",
    ),
    (
        "A { initial S {} final F {} a: S -> F, on (u8, u8); }",
        "found `(u8 , u8)` as an event type",
    ),
    (
        "A { initial S {} final F {} a: S -> F, on x::E; b: S -> F, on y::E; }",
        "two event types are both named `E`: `y :: E` and `x :: E`",
    ),
    (
        "A { initial S {} final F {} #[inline] a: S -> F; }",
        "found attribute `#[inline]` on transition `a`",
    ),
];

#[test]
fn every_rule_reports_its_own_headline() {
    let cases = RULE_CASES;
    for (input, expected) in cases {
        let found = headlines(input);
        assert!(
            found.iter().any(|h| h == expected),
            "input: {input}\nexpected: {expected}\nfound: {found:#?}"
        );
    }
}

#[test]
fn user_types_named_like_generated_items_resolve_where_they_were_written() {
    let output = crate::compiler::expand(
        "pub A { initial S { e: Event, v: Vec<State> } final F {} go: S -> F; }"
            .parse()
            .unwrap(),
    )
    .to_string();
    assert!(output.contains("use Event as __a_Event ;"), "{output}");
    assert!(output.contains("use State as __a_State ;"), "{output}");
    assert!(output.contains("pub e : super :: __a_Event"), "{output}");
    assert!(
        output.contains("pub v : Vec < super :: __a_State >"),
        "{output}"
    );
}

#[test]
fn a_transition_may_share_its_name_with_its_event_and_its_target() {
    let output = crate::compiler::expand(
        "pub A { initial Closed {} final Open {} open: Closed -> Open; kick: Closed -> Open, on Kick; }"
            .parse()
            .unwrap(),
    );
    assert_eq!(errors_of(&output), Vec::<String>::new());
    let text = output.to_string();
    assert!(
        text.contains("pub const Open : steps :: Open = steps :: Open ;"),
        "{text}"
    );
    assert!(text.contains("event : & Kick"), "{text}");
}

#[test]
fn syntax_errors_in_several_items_are_all_reported() {
    let found = headlines(
        "A { initial S {} final F {} a: S => F; state T; b: S -> F, retry(); c S -> F; }",
    );
    assert_eq!(found.len(), 4, "{found:#?}");
    assert_eq!(found[0], "found `=` in transition `a`");
    assert_eq!(found[1], "found `;` after state `T`");
}

#[test]
fn graph_errors_are_all_reported_in_one_pass() {
    let found = headlines(
        "A { initial S {} state T {} state U {} final F {} final G {} a: S -> F; b: S -> F; c: T -> F; }",
    );
    assert_eq!(
        found,
        [
            "state `S` has two automatic transitions: `a` and `b`",
            "state `U` is not final and has no transition out of it",
            "state `T` cannot be reached from the initial state `S`",
            "state `U` cannot be reached from the initial state `S`",
            "state `G` cannot be reached from the initial state `S`",
        ]
    );
}

#[test]
fn messages_say_what_was_found_what_was_expected_and_how_to_fix_it() {
    let output = crate::compiler::expand(
        "A { initial Placed {} final Paid {} pay: Placed -> Piad; }"
            .parse()
            .unwrap(),
    );
    let messages = errors_of(&output);
    assert_eq!(
        messages[0],
        "unknown state `Piad` as a target of transition `pay`\n\
         = expected: a state declared in flow `A`: `Placed` and `Paid`\n\
         = help: did you mean `Paid`?"
    );
}

#[test]
fn a_flow_with_errors_still_emits_its_states() {
    let output = crate::compiler::expand(
        "pub A { initial S { x: u8 } final F {} go: S -> Nowhere; }"
            .parse()
            .unwrap(),
    );
    let text = output.to_string();
    assert!(text.contains("pub struct S"), "{text}");
    assert!(text.contains("pub enum State"), "{text}");
    assert!(!text.contains("trait Activities"), "{text}");
}
