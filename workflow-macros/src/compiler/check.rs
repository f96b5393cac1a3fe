//! Pass 3: the rules of the DSL (DESIGN §3), one function per rule, every error spanned on
//! the token that breaks it. All rules run, so one expansion reports every problem of a flow.
//!
//! The only way to get a [`Checked`] flow, which is what the emitter takes, is to pass them all.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use heck::{ToSnakeCase, ToUpperCamelCase};
use proc_macro2::Span;
use quote::ToTokens;
use syn::Ident;
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use super::diagnostic::{Diagnostic, Errors, list};
use super::model::{
    Branch, FIXED_NAMES, Flow, Parts, Retry, State, StateKind, Timed, Transition, Trigger, Undo,
    WaitValue, field_type, human, vec_item,
};

/// A flow that passed every check.
pub(crate) struct Checked(Flow);

impl Checked {
    pub(crate) fn flow(&self) -> &Flow {
        &self.0
    }
}

/// Runs every rule. `resolved` says whether every name in the flow resolved; if not, the
/// graph-wide rules are skipped, as they would report consequences of the unresolved names.
pub(crate) fn check(flow: Flow, resolved: bool, errors: &mut Errors) -> Result<Checked, Box<Flow>> {
    check_one_initial_state(&flow, errors);
    check_unique_state_names(&flow, errors);
    check_unique_field_names(&flow, errors);
    check_unique_transition_names(&flow, errors);
    check_unique_undo_names(&flow, errors);
    check_part_names_are_free(&flow, errors);
    check_naming_conventions(&flow, errors);
    check_module_name_is_usable(&flow, errors);
    check_transition_names_free_on_saga(&flow, errors);
    check_generated_names_do_not_clash(&flow, errors);
    check_no_repeated_state_in_transition(&flow, errors);
    check_no_repeated_option(&flow, errors);
    check_on_and_after_are_exclusive(&flow, errors);
    check_timeout_not_on_event(&flow, errors);
    check_retry_range(&flow, errors);
    check_guard_chooses_between_targets(&flow, errors);
    check_guard_runs_no_activity(&flow, errors);
    check_no_cycle_of_automatic_guards(&flow, errors);
    check_internal_stays_in_its_state(&flow, errors);
    check_parts_come_with_a_join(&flow, errors);
    check_parallel_and_each_are_exclusive(&flow, errors);
    check_parts_not_guarded(&flow, errors);
    check_child_has_no_retry(&flow, errors);
    check_no_undo_on_child_targets(&flow, errors);
    check_no_undo_on_targets_with_parts(&flow, errors);
    check_undo_parallel_has_parts_to_undo(&flow, errors);
    check_parallel_has_two_branches(&flow, errors);
    check_each_field_in_every_source(&flow, errors);
    check_each_field_is_a_vec(&flow, errors);
    check_each_field_has_one_type(&flow, errors);
    check_duration_fields_exist(&flow, errors);
    check_final_states_have_no_exit(&flow, errors);
    check_one_automatic_per_state(&flow, errors);
    check_one_timer_per_state(&flow, errors);
    check_one_transition_per_event_and_state(&flow, errors);
    if resolved {
        check_every_waiting_state_has_a_way_out(&flow, errors);
        check_every_state_reachable(&flow, errors);
        check_final_state_reachable(&flow, errors);
    }
    if errors.is_empty() {
        Ok(Checked(flow))
    } else {
        Err(Box::new(flow))
    }
}

/// States that are the first of their name; later duplicates are reported once and left out
/// of the graph rules.
fn is_canonical(flow: &Flow, state: usize) -> bool {
    flow.state_index(&flow.states[state].name) == Some(state)
}

// Rule: a flow has exactly one `initial` state.
fn check_one_initial_state(flow: &Flow, errors: &mut Errors) {
    let initials: Vec<_> = flow
        .states
        .iter()
        .filter(|s| s.kind == StateKind::Initial)
        .collect();
    match initials.as_slice() {
        [] => errors.push(
            Diagnostic::new(flow.name.span(), format!("flow `{}` has no initial state", flow.name))
                .expected("exactly one state declared with `initial`")
                .help(match flow.states.first() {
                    Some(first) => format!("declare the state instances start in with `initial`, for example `initial {} {{ .. }}`", first.name),
                    None => "declare the state instances start in, for example `initial Placed { .. }`".to_string(),
                }),
        ),
        [_] => {}
        [first, rest @ ..] => {
            for state in rest {
                errors.push(
                    Diagnostic::new(state.keyword_span, format!("second initial state `{}`; `{}` is already initial", state.name, first.name))
                        .expected("exactly one `initial` state: every instance starts in the same state")
                        .help(format!("declare `{}` with `state` instead of `initial`", state.name)),
                );
            }
        }
    }
}

// Rule: state names are unique within a flow.
fn check_unique_state_names(flow: &Flow, errors: &mut Errors) {
    for (index, state) in flow.states.iter().enumerate() {
        if !is_canonical(flow, index) {
            errors.push(
                Diagnostic::new(
                    state.name.span(),
                    format!("state `{}` is declared twice", state.name),
                )
                .expected("each state declared once")
                .help("remove one declaration, or rename it"),
            );
        }
    }
}

// Rule: field names are unique within a state.
fn check_unique_field_names(flow: &Flow, errors: &mut Errors) {
    for state in &flow.states {
        let mut seen = Vec::new();
        for field in &state.fields {
            let Some(name) = &field.ident else { continue };
            if seen.contains(&name) {
                errors.push(
                    Diagnostic::new(
                        name.span(),
                        format!("field `{name}` appears twice in state `{}`", state.name),
                    )
                    .expected("each field of a state named once")
                    .help("remove or rename one of them"),
                );
            }
            seen.push(name);
        }
    }
}

// Rule: transition names are unique within a flow.
fn check_unique_transition_names(flow: &Flow, errors: &mut Errors) {
    for (index, transition) in flow.transitions.iter().enumerate() {
        if flow.transitions[..index]
            .iter()
            .any(|t| t.name == transition.name)
        {
            errors.push(
                Diagnostic::new(transition.name.span(), format!("transition `{}` is declared twice", transition.name))
                    .expected("each transition declared once: its name is a method of the flow's `Activities` trait")
                    .help("give one a different name; one transition may list several sources (`A | B ->`) and several targets (`-> X | Y`)"),
            );
        }
    }
}

// Rule: undo names are unique, and differ from transition names (both are methods of the
// `Activities` trait).
fn check_unique_undo_names(flow: &Flow, errors: &mut Errors) {
    for (index, undo) in flow.undos.iter().enumerate() {
        if let Some(first) = flow.undos[..index].iter().find(|u| u.name == undo.name) {
            errors.push(
                Diagnostic::new(undo.name.span(), format!("undo `{}` is declared twice, for {} and {}", undo.name, undo_owner(flow, first), undo_owner(flow, undo)))
                    .expected("a distinct name for each undo: each is a method of the flow's `Activities` trait")
                    .help(format!("rename one, for example `{}_{}`", undo.name, undo_suffix(flow, undo))),
            );
        } else if flow.transitions.iter().any(|t| t.name == undo.name) {
            errors.push(
                Diagnostic::new(undo.name.span(), format!("undo `{}` has the name of a transition", undo.name))
                    .expected("undo names distinct from transition names: both are methods of the flow's `Activities` trait")
                    .help(format!("rename the undo, for example `undo_{}`", undo.name)),
            );
        }
    }
}

// Rule: the activities of parts, branches of `parallel` and the activity of `each`, are named
// unlike each other, any transition and any undo: all of them are methods of the flow's
// `Activities` trait.
fn check_part_names_are_free(flow: &Flow, errors: &mut Errors) {
    let parts: Vec<(&Transition, &Ident)> = flow
        .transitions
        .iter()
        .flat_map(|t| {
            t.branches()
                .iter()
                .map(move |b| (t, &b.name))
                .chain(t.each().map(|e| (t, &e.activity)))
        })
        .collect();
    for (index, &(transition, name)) in parts.iter().enumerate() {
        let this = part_name(transition, name);
        let what = if transition.each().is_some() {
            "activity"
        } else {
            "branch"
        };
        let clash = if let Some(&(other, _)) = parts[..index].iter().find(|(_, n)| *n == name) {
            if std::ptr::eq(other, transition) {
                Some((
                    format!(
                        "branch `{name}` appears twice in transition `{}`",
                        transition.name
                    ),
                    format!("{name}_2"),
                ))
            } else {
                Some((
                    format!("{this} has the name of {}", part_name(other, name)),
                    format!("{}_{name}", transition.name),
                ))
            }
        } else if flow.transitions.iter().any(|t| t.name == *name) {
            let example = if transition.name == *name {
                format!("{name}_part")
            } else {
                format!("{}_{name}", transition.name)
            };
            Some((format!("{this} has the name of a transition"), example))
        } else {
            flow.undos.iter().find(|u| u.name == *name).map(|undo| {
                (
                    format!(
                        "{this} has the name of undo `{name}` of {}",
                        undo_owner(flow, undo)
                    ),
                    format!("{}_{name}", transition.name),
                )
            })
        };
        if let Some((found, example)) = clash {
            errors.push(
                Diagnostic::new(name.span(), found)
                    .expected("a distinct name for each activity: branches, `each` activities, transitions and undos are all methods of the flow's `Activities` trait")
                    .help(format!("rename the {what}, for example `{example}`")),
            );
        }
    }
}

/// Whose undo `undo` is, as a message says it: transition `pay`, branch `credit` of
/// transition `check`, or activity `reserve_line` of `each` on transition `reserve`.
fn undo_owner(flow: &Flow, undo: &Undo) -> String {
    let transition = &flow.transitions[undo.transition];
    match (undo.part, transition.each()) {
        (None, _) => format!("transition `{}`", transition.name),
        (Some(_), Some(each)) => part_name(transition, &each.activity),
        (Some(branch), None) => transition.branches().get(branch).map_or_else(
            || format!("transition `{}`", transition.name),
            |branch| part_name(transition, &branch.name),
        ),
    }
}

/// What a renamed undo could end with: its branch or activity for the undo of a part, its
/// state for the undo of a target.
fn undo_suffix(flow: &Flow, undo: &Undo) -> String {
    let transition = &flow.transitions[undo.transition];
    match (undo.part, transition.each()) {
        (None, _) => flow.states[undo.state].name.to_string().to_snake_case(),
        (Some(_), Some(each)) => each.activity.to_string(),
        (Some(branch), None) => transition
            .branches()
            .get(branch)
            .map_or_else(|| transition.name.to_string(), |b| b.name.to_string()),
    }
}

/// `branch `credit` of transition `check``, or `activity `reserve_line` of `each` on
/// transition `reserve``.
fn part_name(transition: &Transition, name: &Ident) -> String {
    if transition.each().is_some() {
        format!(
            "activity `{name}` of `each` on transition `{}`",
            transition.name
        )
    } else {
        format!("branch `{name}` of transition `{}`", transition.name)
    }
}

// Rule: flows and states are named like types (`UpperCamelCase`), transitions and undos like
// methods (`snake_case`): they become exactly those items.
fn check_naming_conventions(flow: &Flow, errors: &mut Errors) {
    let type_like = |ident: &Ident, what: &str, errors: &mut Errors| {
        let name = ident.unraw().to_string();
        let camel = name.to_upper_camel_case();
        if name != camel {
            errors.push(
                Diagnostic::new(
                    ident.span(),
                    format!("{what} `{name}` is not in UpperCamelCase"),
                )
                .expected(format!(
                    "an UpperCamelCase name: the {what} becomes a Rust type"
                ))
                .help(format!("rename it `{camel}`")),
            );
        }
    };
    let method_like = |ident: &Ident, what: &str, errors: &mut Errors| {
        let name = ident.unraw().to_string();
        let snake = name.to_snake_case();
        if name != snake {
            errors.push(
                Diagnostic::new(
                    ident.span(),
                    format!("{what} `{name}` is not in snake_case"),
                )
                .expected(format!("a snake_case name: the {what} becomes a method"))
                .help(format!("rename it `{snake}`")),
            );
        }
    };
    type_like(&flow.name, "flow", errors);
    for state in &flow.states {
        type_like(&state.name, "state", errors);
    }
    for transition in &flow.transitions {
        method_like(&transition.name, "transition", errors);
    }
    for undo in &flow.undos {
        method_like(&undo.name, "undo", errors);
    }
    for transition in &flow.transitions {
        for branch in transition.branches() {
            method_like(&branch.name, "branch", errors);
        }
        if let Some(each) = transition.each() {
            method_like(&each.activity, "activity", errors);
        }
    }
}

// Rule: the flow's module, named after it in snake case, can be declared: `Crate`, `Self`
// and `Super` would give `crate`, `self` and `super`, which Rust allows no module to be named
// (even as raw identifiers). Other keywords are written as raw identifiers (`r#type`).
fn check_module_name_is_usable(flow: &Flow, errors: &mut Errors) {
    let snake = crate::compiler::model::module_name(&flow.name);
    if crate::compiler::model::is_path_keyword(&snake) {
        errors.push(
            Diagnostic::new(
                flow.name.span(),
                format!(
                    "flow `{}` would generate a module named `{snake}`, a path keyword that \
                     Rust allows no module to take",
                    flow.name
                ),
            )
            .expected("a flow name whose snake case is not `crate`, `self` or `super`")
            .help(format!("rename the flow, for example `{}Flow`", flow.name)),
        );
    }
}

/// Methods every generated `Saga` has, which a transition method on it would clash with.
const SAGA_METHODS: &[&str] = &["start", "state", "into_state", "abort"];

// Rule: a transition is not named like a method every saga has (`start`, `state`,
// `into_state`, `abort`): the saga has one method per transition beside them.
fn check_transition_names_free_on_saga(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let name = transition.name.unraw().to_string();
        if SAGA_METHODS.contains(&name.as_str()) {
            errors.push(
                Diagnostic::new(
                    transition.name.span(),
                    format!("transition `{name}` has the name of the saga method `Saga::{name}`"),
                )
                .expected(format!(
                    "transition names other than {}",
                    list(SAGA_METHODS.iter().copied())
                ))
                .help(format!(
                    "rename the transition, for example `{name}_{}`",
                    flow.states[transition.targets.first().map_or(0, |t| t.state)]
                        .name
                        .to_string()
                        .to_snake_case()
                )),
            );
        }
    }
}

// Rule: the types the module generates (states, one unit type per transition, outcome and
// input enums, `State`, `Event`, `Flow`, ...) have distinct names.
fn check_generated_names_do_not_clash(flow: &Flow, errors: &mut Errors) {
    let module = &flow.module;
    for state in &flow.states {
        if let Some((name, what)) = FIXED_NAMES.iter().find(|(name, _)| state.name == name) {
            errors.push(
                Diagnostic::new(
                    state.name.span(),
                    format!("state `{name}` has the name of {what}, `{module}::{name}`"),
                )
                .expected(format!(
                    "state names other than {}",
                    list(FIXED_NAMES.iter().map(|(n, _)| *n))
                ))
                .help(format!(
                    "rename the state, for example `{}{name}`",
                    flow.name
                )),
            );
        }
    }
    let mut seen: BTreeMap<String, String> = flow
        .states
        .iter()
        .map(|s| (s.name.unraw().to_string(), format!("state `{}`", s.name)))
        .collect();
    for (name, what) in FIXED_NAMES {
        seen.entry((*name).to_string())
            .or_insert_with(|| (*what).to_string());
    }
    for (name, span, what) in flow.generated_names() {
        if let Some(other) = seen.get(&name) {
            errors.push(
                Diagnostic::new(
                    span,
                    format!("{what} would be `{module}::{name}`, which is already {other}"),
                )
                .expected("distinct names for the types the flow generates")
                .help("rename the transition or the state"),
            );
        } else {
            seen.insert(name, what);
        }
    }
}

// Rule: a transition names each of its sources once and each of its targets once.
fn check_no_repeated_state_in_transition(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        for (index, source) in transition.sources.iter().enumerate() {
            if transition.sources[..index]
                .iter()
                .any(|s| s.state == source.state)
            {
                errors.push(
                    Diagnostic::new(
                        source.ident.span(),
                        format!(
                            "state `{}` is listed twice as a source of `{}`",
                            source.ident, transition.name
                        ),
                    )
                    .expected("each source state once")
                    .help("remove the repeated state"),
                );
            }
        }
        for (index, target) in transition.targets.iter().enumerate() {
            if transition.targets[..index]
                .iter()
                .any(|t| t.state == target.state)
            {
                errors.push(
                    Diagnostic::new(
                        target.ident.span(),
                        format!(
                            "state `{}` is listed twice as a target of `{}`",
                            target.ident, transition.name
                        ),
                    )
                    .expected("each target state once: the outcome enum has one variant per target")
                    .help("remove the repeated state"),
                );
            }
        }
    }
}

// Rule: each option appears at most once on a transition, and on each of its branches.
fn check_no_repeated_option(flow: &Flow, errors: &mut Errors) {
    let mut once = |options: &[(&str, Span)], on: &str| {
        for (index, (keyword, span)) in options.iter().enumerate() {
            if options[..index].iter().any(|(k, _)| k == keyword) {
                errors.push(
                    Diagnostic::new(*span, format!("option `{keyword}` appears twice on {on}"))
                        .expected("each option at most once")
                        .help(format!("keep one `{keyword}`")),
                );
            }
        }
    };
    for transition in &flow.transitions {
        once(&transition.options, &holder(transition, None));
        for branch in transition.branches() {
            once(&branch.options, &holder(transition, Some(branch)));
        }
    }
}

/// How a message names where a policy is written: `transition `pay``, or
/// `branch `credit` of transition `check``.
fn holder(transition: &Transition, branch: Option<&Branch>) -> String {
    match branch {
        None => format!("transition `{}`", transition.name),
        Some(branch) => format!(
            "branch `{}` of transition `{}`",
            branch.name, transition.name
        ),
    }
}

/// The `retry` and `timeout` of a transition, then those of each of its branches, which the
/// same rules apply to.
fn policies(
    transition: &Transition,
) -> impl Iterator<Item = (Option<&Branch>, Option<Retry>, Option<Timed>)> {
    std::iter::once((None, transition.retry, transition.timeout)).chain(
        transition
            .branches()
            .iter()
            .map(|branch| (Some(branch), branch.retry, branch.timeout)),
    )
}

// Rule: a transition is taken on an event or after a wait, not both.
fn check_on_and_after_are_exclusive(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let on = transition.options.iter().find(|(k, _)| *k == "on");
        let after = transition.options.iter().find(|(k, _)| *k == "after");
        if let (Some(_), Some((_, span))) = (on, after) {
            errors.push(
                Diagnostic::new(*span, format!("transition `{}` has both `on` and `after`", transition.name))
                    .expected("one trigger per transition: an event (`on`) or a timer (`after`)")
                    .help("declare two transitions from the same state: one with `on Event`, one with `after(..)`"),
            );
        }
    }
}

// Rule: `timeout` limits the attempts of a step the driver starts by itself; on an `on`
// transition it has no meaning and is refused rather than guessed at.
// The same holds for the branches of such a transition.
fn check_timeout_not_on_event(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        if !matches!(transition.trigger, Trigger::On { .. }) {
            continue;
        }
        for (branch, _, timeout) in policies(transition) {
            let Some(timeout) = timeout else { continue };
            errors.push(
                Diagnostic::new(timeout.keyword, format!("`timeout` on {}, which waits for an event", holder(transition, branch)))
                    .expected("`timeout` only on automatic and `after` transitions")
                    .help("to stop waiting for the event after a while, add a transition from the same state with `after(..)`"),
            );
        }
    }
}

// Rule: in `retry(n, min..max)`, on a transition or a branch, the first wait is not longer
// than the longest.
fn check_retry_range(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        for (branch, retry, _) in policies(transition) {
            if let Some(retry) = retry
                && let (WaitValue::Fixed(min), WaitValue::Fixed(max)) = (retry.min, retry.max)
                && min > max
            {
                let on = match branch {
                    None => format!("`{}`", transition.name),
                    Some(branch) => format!("branch `{}` of `{}`", branch.name, transition.name),
                };
                errors.push(
                    Diagnostic::new(
                        retry.range_span,
                        format!(
                            "the first wait ({}) is longer than the longest ({}) in `retry` on {on}",
                            human(min),
                            human(max),
                        ),
                    )
                    .expected("`first..longest` with first <= longest")
                    .help("swap the two durations"),
                );
            }
        }
    }
}

// Rule: a guard chooses between targets; with one target there is nothing to choose.
fn check_guard_chooses_between_targets(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        if let Some(guard) = &transition.guard
            && transition.targets.len() < 2
        {
            errors.push(
                Diagnostic::new(guard.keyword, format!("`guard` on transition `{}`, which has a single target", transition.name))
                    .expected("`guard` on a transition with several targets (`A -> B | C`), to choose between them")
                    .help("list the targets the guard chooses from, or remove `guard` to run an activity"),
            );
        }
    }
}

// Rule: a guarded transition runs no activity, so nothing of an activity's applies to it:
// no `retry`, `timeout` or `catch` (a guard cannot fail for a reason worth retrying) and no
// `undo` on its targets (nothing ran that an undo could take back).
fn check_guard_runs_no_activity(flow: &Flow, errors: &mut Errors) {
    for transition in flow.transitions.iter().filter(|t| t.guard.is_some()) {
        for (keyword, span) in &transition.options {
            if matches!(*keyword, "retry" | "timeout" | "catch") {
                errors.push(
                    Diagnostic::new(*span, format!("`{keyword}` on transition `{}`, which a guard decides", transition.name))
                        .expected(format!("no `{keyword}` with `guard`: a guard is a pure function of the state, with no activity"))
                        .help(format!("remove `{keyword}`, or remove `guard` and decide in an activity")),
                );
            }
        }
        for target in &transition.targets {
            if let Some(undo) = target.undo {
                let name = &flow.undos[undo].name;
                errors.push(
                    Diagnostic::new(name.span(), format!("undo `{name}` on a target of transition `{}`, which a guard decides", transition.name))
                        .expected("no `undo` with `guard`: no activity ran, so there is nothing to undo")
                        .help(format!("remove `undo {name}`, or put the undo on the transition whose activity has the effect")),
                );
            }
        }
    }
}

// Rule: automatic guarded transitions never lead back to where they began. Nothing runs
// between two such decisions, so a cycle of them would decide forever without waiting.
fn check_no_cycle_of_automatic_guards(flow: &Flow, errors: &mut Errors) {
    let deciding: Vec<_> = flow
        .transitions
        .iter()
        .filter(|t| t.guard.is_some() && matches!(t.trigger, Trigger::Automatic))
        .collect();
    let next = |state: usize| {
        deciding
            .iter()
            .filter(move |t| t.sources.iter().any(|s| s.state == state))
            .flat_map(|t| t.targets.iter().map(|target| target.state))
    };
    for transition in &deciding {
        let Some(guard) = &transition.guard else {
            continue;
        };
        for source in transition.sources.iter().map(|s| s.state) {
            // Every state this source reaches by guards alone, breadth first.
            let mut seen = vec![false; flow.states.len()];
            let mut queue: VecDeque<_> = transition.targets.iter().map(|t| t.state).collect();
            let mut cycles = false;
            while let Some(state) = queue.pop_front() {
                if state == source {
                    cycles = true;
                    break;
                }
                if !std::mem::replace(&mut seen[state], true) {
                    queue.extend(next(state));
                }
            }
            if cycles {
                let state = &flow.states[source].name;
                errors.push(
                    Diagnostic::new(guard.keyword, format!("automatic guarded transition `{}` can lead back to `{state}` through guards alone", transition.name))
                        .expected("a way round that waits for something (an event, a timer, or an activity) before deciding again")
                        .help("take one of these transitions `on` an event or `after` a wait, or decide in an activity"),
                );
                break;
            }
        }
    }
}

// Rule: an internal transition updates its state's data and stays there: one source, the
// same state as its one target, taken on an event (an automatic one would never stop, an
// `after` one would never be armed again), without `compensate`.
fn check_internal_stays_in_its_state(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let Some(keyword) = transition.internal else {
            continue;
        };
        let name = &transition.name;
        let stays = matches!(
            (transition.sources.as_slice(), transition.targets.as_slice()),
            ([source], [target]) if source.state == target.state
        );
        if !stays {
            let target = transition
                .targets
                .iter()
                .find(|t| !transition.sources.iter().any(|s| s.state == t.state));
            let span = target.map_or(keyword, |t| t.ident.span());
            errors.push(
                Diagnostic::new(span, format!("internal transition `{name}` goes from `{}`", transition.arrow()))
                    .expected("an internal transition from one state back to the same state (`Active -> Active`)")
                    .help("remove `internal` to change state, or make the one target the source"),
            );
        }
        if !matches!(transition.trigger, Trigger::On { .. }) {
            errors.push(
                Diagnostic::new(keyword, format!("internal transition `{name}` is not taken on an event"))
                    .expected("`internal` with `on Event`: an event that updates the state's data")
                    .help("add `on Event`; for a repeating timer use an ordinary transition back to the state with `after(..)`"),
            );
        }
        if let Some((_, span)) = transition.options.iter().find(|(k, _)| *k == "compensate") {
            errors.push(
                Diagnostic::new(
                    *span,
                    format!("`compensate` on internal transition `{name}`"),
                )
                .expected("no `compensate` on an internal transition: it stays in its state")
                .help("remove `compensate`, or `internal` to compensate and go elsewhere"),
            );
        }
    }
}

/// The keyword of the transition's parts, `parallel` or `each`, or its `child` (the first
/// written, which the model keeps), and where it is.
fn parts_keyword(transition: &Transition) -> Option<(&'static str, Span)> {
    transition
        .options
        .iter()
        .find(|(k, _)| matches!(*k, "parallel" | "each" | "child"))
        .copied()
}

/// Where option `keyword` is written on `transition`, if it is.
fn option_span(transition: &Transition, keyword: &str) -> Option<Span> {
    transition
        .options
        .iter()
        .find(|(k, _)| *k == keyword)
        .map(|(_, span)| *span)
}

/// Tokens as a person writes them: `Vec<Hold>` rather than `Vec < Hold >`.
fn code(tokens: &impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// The join function of a transition with parts, as a help shows it:
/// `join(checked)` with `fn checked(from: &Applied, credit: Credit, income: Income) -> Checked`.
fn join_example(flow: &Flow, transition: &Transition) -> String {
    let name = transition.targets.first().map_or_else(
        || "join".to_string(),
        |t| t.ident.to_string().to_snake_case(),
    );
    let from = match transition.sources.as_slice() {
        [source] => source.ident.to_string(),
        _ => transition.input_type().to_string(),
    };
    let event = match transition.trigger {
        Trigger::On { event } => format!(", event: &{}", code(&flow.events[event].ty)),
        _ => String::new(),
    };
    let parts: String = match (&transition.parts, &transition.child) {
        (_, Some(child)) => format!(", child: {}::State", code(&child.flow)),
        (parts, None) => match parts {
            Some(Parts::Branches(branches)) => {
                branches.iter().fold(String::new(), |mut text, b| {
                    let _ = write!(text, ", {}: {}", b.name, code(&b.output));
                    text
                })
            }
            Some(Parts::Each(each)) => {
                let outputs = match &each.output {
                    syn::Type::Path(path) => path.path.segments.last().map_or_else(
                        || "outputs".to_string(),
                        |last| format!("{}s", last.ident.unraw().to_string().to_snake_case()),
                    ),
                    _ => "outputs".to_string(),
                };
                format!(", {outputs}: Vec<{}>", code(&each.output))
            }
            None => String::new(),
        },
    };
    let to = match transition.targets.as_slice() {
        [target] => target.ident.to_string(),
        _ => transition.outcome_type().to_string(),
    };
    format!("`join({name})` with `fn {name}(from: &{from}{event}{parts}) -> {to}`")
}

// Rule: `parallel(..)` and `each(..)` come with `join(..)`, the function that builds the
// target from the source and the parts' outputs; `join(..)` comes with one of them.
fn check_parts_come_with_a_join(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let name = &transition.name;
        match (parts_keyword(transition), option_span(transition, "join")) {
            (Some((keyword, span)), None) => errors.push(
                Diagnostic::new(span, format!("`{keyword}` on transition `{name}` without `join(..)`"))
                    .expected(format!("`join(build)` with `{keyword}(..)`: the function that builds the target from the source and {}", match keyword { "each" => "the outputs of the items", "child" => "the child's final state", _ => "the outputs of the branches" }))
                    .help(format!("add {}", join_example(flow, transition))),
            ),
            (None, Some(span)) => errors.push(
                Diagnostic::new(span, format!("`join` on transition `{name}`, which has no `parallel(..)`, `each(..)` or `child(..)`"))
                    .expected("`join(..)` only with `parallel(..)`, `each(..)` or `child(..)`: it builds the target from the outputs of their activities, or from the child's final state")
                    .help("remove `join`, or add the parts it joins: `parallel(credit: Credit, income: Income)` or `each(lines, 4, reserve_line: Hold)`"),
            ),
            _ => {}
        }
    }
}

// Rule: a transition runs one kind of work: different activities at the same time
// (`parallel`), one activity per item (`each`), or a child flow (`child`), not two.
fn check_parallel_and_each_are_exclusive(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let mut kinds = transition
            .options
            .iter()
            .filter(|(k, _)| matches!(*k, "parallel" | "each" | "child"));
        let Some((first, _)) = kinds.next() else {
            continue;
        };
        // A repeat of the same keyword is the repeated-option rule's.
        let Some((keyword, span)) = kinds.find(|(k, _)| k != first) else {
            continue;
        };
        errors.push(
            Diagnostic::new(*span, format!("transition `{}` has both `{first}` and `{keyword}`", transition.name))
                .expected("one kind of work per transition: different activities at the same time (`parallel`), one activity per item (`each`), or a child flow (`child`)")
                .help(format!("remove `{keyword}`, or split the work into two transitions, one after the other")),
        );
    }
}

// Rule: a transition that runs a child flow has no `retry`: the child is started once, and
// its own steps have their policies. (A `timeout` bounds the wait for the child.)
fn check_child_has_no_retry(flow: &Flow, errors: &mut Errors) {
    for transition in flow.transitions.iter().filter(|t| t.child.is_some()) {
        let Some(span) = option_span(transition, "retry") else {
            continue;
        };
        errors.push(
            Diagnostic::new(span, format!("`retry` on transition `{}`, which runs a child flow", transition.name))
                .expected("no `retry` with `child(..)`: the child is started once, and its own steps retry as its flow says")
                .help("remove `retry`, or put it on the child flow's steps; `timeout(..)` bounds the wait for the child"),
        );
    }
}

// Rule: on a transition that runs a child flow, no activity of the parent runs, so a target
// has no `undo`: the child's own undos take back its steps.
fn check_no_undo_on_child_targets(flow: &Flow, errors: &mut Errors) {
    for transition in flow.transitions.iter().filter(|t| t.child.is_some()) {
        for target in &transition.targets {
            let Some(undo) = target.undo else { continue };
            let name = &flow.undos[undo].name;
            errors.push(
                Diagnostic::new(name.span(), format!("undo `{name}` on a target of transition `{}`, which runs a child flow", transition.name))
                    .expected("no `undo` on the targets of a `child` transition: no activity of this flow ran, and the child's own undos take back its steps")
                    .help(format!("remove `undo {name}`, or put the undo on the child flow's step it takes back")),
            );
        }
    }
}

// Rule: `undo(parallel)` undoes a transition's completed parts all at once, so the
// transition has parts, and at least one of them has an undo.
fn check_undo_parallel_has_parts_to_undo(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let Some(span) = transition.undo_parallel else {
            continue;
        };
        let name = &transition.name;
        match &transition.parts {
            None => errors.push(
                Diagnostic::new(span, format!("`undo(parallel)` on transition `{name}`, which has no parts"))
                    .expected("`undo(parallel)` with `parallel(..)` or `each(..)`: the completed parts are undone all at once")
                    .help("remove `undo(parallel)`: a transition's own undo runs alone, and the chain is undone newest first"),
            ),
            Some(parts) if parts_undos(parts).next().is_none() => errors.push(
                Diagnostic::new(span, format!("`undo(parallel)` on transition `{name}`, none of whose parts has an undo"))
                    .expected("a part with `undo name`: `undo(parallel)` runs the completed parts' undos all at once")
                    .help("give the parts their undos (`credit: Credit undo void_credit`), or remove `undo(parallel)`"),
            ),
            Some(_) => {}
        }
    }
}

/// The undos of `parts`.
fn parts_undos(parts: &Parts) -> impl Iterator<Item = usize> + '_ {
    let (branches, each) = match parts {
        Parts::Branches(branches) => (branches.as_slice(), None),
        Parts::Each(each) => (&[][..], Some(each.undo)),
    };
    branches.iter().filter_map(|b| b.undo).chain(each.flatten())
}

// Rule: a guarded transition runs no activity, so it has no parts either.
fn check_parts_not_guarded(flow: &Flow, errors: &mut Errors) {
    for transition in flow.transitions.iter().filter(|t| t.guard.is_some()) {
        if let Some((keyword, span)) = parts_keyword(transition) {
            errors.push(
                Diagnostic::new(span, format!("`{keyword}` on transition `{}`, which a guard decides", transition.name))
                    .expected(format!("no `{keyword}` with `guard`: a guard is a pure function of the state, with no activity"))
                    .help(format!("remove `{keyword}`, or remove `guard` and choose the target in `join`")),
            );
        }
    }
}

// Rule: on a transition with parts, the parts ran the activities, so the undos belong to
// them: a target has no `undo` of its own.
fn check_no_undo_on_targets_with_parts(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let Some(parts) = &transition.parts else {
            continue;
        };
        for target in &transition.targets {
            let Some(undo) = target.undo else { continue };
            let name = &flow.undos[undo].name;
            let (expected, help) = match parts {
                Parts::Branches(branches) => (
                    "no `undo` on the targets of a `parallel` transition: each branch has its own".to_string(),
                    format!(
                        "put it on the branch whose effect it takes back: `parallel({}: {} undo {name}, ..)`",
                        branches.first().map_or_else(|| "name".to_string(), |b| b.name.to_string()),
                        branches.first().map_or_else(|| "Output".to_string(), |b| code(&b.output)),
                    ),
                ),
                Parts::Each(each) => (
                    "no `undo` on the targets of an `each` transition: the activity of `each` has its own".to_string(),
                    format!(
                        "put it in the each: `each({}, {}, {}: {} undo {name})`",
                        each.field,
                        each.at_most,
                        each.activity,
                        code(&each.output)
                    ),
                ),
            };
            errors.push(
                Diagnostic::new(name.span(), format!("undo `{name}` on a target of transition `{}`, whose parts run its activities", transition.name))
                    .expected(expected)
                    .help(help),
            );
        }
    }
}

// Rule: `parallel` has at least two branches; with one, nothing runs at the same time.
fn check_parallel_has_two_branches(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let Some(Parts::Branches(branches)) = &transition.parts else {
            continue;
        };
        let Some(span) = option_span(transition, "parallel") else {
            continue;
        };
        let name = &transition.name;
        let (found, help) = match branches.as_slice() {
            [] => (
                format!("`parallel` on transition `{name}` has no branches"),
                "write the branches in the parentheses: `parallel(credit: Credit, income: Income)`"
                    .to_string(),
            ),
            [one] => (
                format!(
                    "`parallel` on transition `{name}` has a single branch, `{}`",
                    one.name
                ),
                format!(
                    "add a branch, or remove `parallel(..)` and `join(..)` to run `{name}` as one activity"
                ),
            ),
            _ => continue,
        };
        errors.push(
            Diagnostic::new(span, found)
                .expected("at least two branches: activities that run at the same time")
                .help(help),
        );
    }
}

/// Each transition with an `each(..)`, with the field it goes through, once per source state.
fn each_field_sources(flow: &Flow) -> impl Iterator<Item = (&Transition, &Ident, &State)> {
    flow.transitions.iter().flat_map(move |transition| {
        transition.each().into_iter().flat_map(move |each| {
            transition
                .sources
                .iter()
                .map(move |source| (transition, &each.field, &flow.states[source.state]))
        })
    })
}

// Rule: the field `each` goes through is a field of every source state.
fn check_each_field_in_every_source(flow: &Flow, errors: &mut Errors) {
    for (transition, field, state) in each_field_sources(flow) {
        if field_type(state, field).is_some() {
            continue;
        }
        let names: Vec<String> = state
            .fields
            .iter()
            .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
            .collect();
        let diagnostic = Diagnostic::new(
            field.span(),
            format!(
                "`each({field}, ..)` on transition `{}`: source state `{}` has no field `{field}`",
                transition.name, state.name
            ),
        )
        .expected(if names.is_empty() {
            "a `Vec<T>` field of the source state: the state has no fields".to_string()
        } else {
            format!(
                "a `Vec<T>` field of `{}` ({})",
                state.name,
                list(names.iter().map(String::as_str))
            )
        });
        errors.push(with_field_help(
            diagnostic,
            field,
            &names,
            &format!("add `{field}: Vec<Item>` to state `{}`", state.name),
        ));
    }
}

// Rule: the field `each` goes through is written `Vec<T>` in every source state: its items
// are run in order, and `T` is what the activity receives.
fn check_each_field_is_a_vec(flow: &Flow, errors: &mut Errors) {
    for (transition, field, state) in each_field_sources(flow) {
        let Some(ty) = field_type(state, field) else {
            continue;
        };
        if vec_item(ty).is_none() {
            errors.push(
                Diagnostic::new(ty.span(), format!("found `{}` as the type of field `{field}` of `{}`, which `each` on transition `{}` goes through", code(ty), state.name, transition.name))
                    .expected("a `Vec<T>` field, written `Vec<..>` (a type alias is not seen through): `each` runs one activity per item, in order")
                    .help(format!("declare `{field}: Vec<Item>` in `{}`, or go through another field", state.name)),
            );
        }
    }
}

// Rule: the field `each` goes through has the same type in every source state: the activity
// takes one type of item.
fn check_each_field_has_one_type(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let Some(each) = transition.each() else {
            continue;
        };
        let field = &each.field;
        let vecs: Vec<_> = transition
            .sources
            .iter()
            .map(|s| &flow.states[s.state])
            .filter_map(|state| {
                field_type(state, field)
                    .filter(|ty| vec_item(ty).is_some())
                    .map(|ty| (state, ty))
            })
            .collect();
        let Some(((first, first_ty), rest)) = vecs.split_first() else {
            continue;
        };
        for (state, ty) in rest {
            if code(ty) != code(first_ty) {
                errors.push(
                    Diagnostic::new(ty.span(), format!("field `{field}` is `{}` in `{}` but `{}` in `{}`, which `each` on transition `{}` goes through", code(first_ty), first.name, code(ty), state.name, transition.name))
                        .expected(format!("the same type in every source state of `{}`: its `each` activity takes one type of item", transition.name))
                        .help(format!("declare `{field}: {}` in `{}`", code(first_ty), state.name)),
                );
            }
        }
    }
}

// Rule: a length read from the source state (`after(trial)`) names a field every source
// state of the transition has, also in the policies of a branch. (Its type is checked by
// rustc, at the name.)
fn check_duration_fields_exist(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        let mut waits = Vec::new();
        if let Trigger::After(timed) = transition.trigger {
            waits.push((None, "after", timed.wait));
        }
        for (branch, retry, timeout) in policies(transition) {
            if let Some(timed) = timeout {
                waits.push((branch, "timeout", timed.wait));
            }
            if let Some(retry) = retry {
                waits.push((branch, "retry", retry.min));
                waits.push((branch, "retry", retry.max));
            }
        }
        for (branch, option, wait) in waits {
            let WaitValue::Field { field, span } = wait else {
                continue;
            };
            let field = &flow.duration_fields[field];
            for source in &transition.sources {
                let state = &flow.states[source.state];
                if state.fields.iter().any(|f| f.ident.as_ref() == Some(field)) {
                    continue;
                }
                let names: Vec<String> = state
                    .fields
                    .iter()
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .collect();
                let diagnostic = Diagnostic::new(
                    span,
                    format!(
                        "`{option}({field})` on {}: source state `{}` has no field `{field}`",
                        holder(transition, branch),
                        state.name
                    ),
                )
                .expected(if names.is_empty() {
                    "a duration literal such as `30s` or `7d`: the state has no fields".to_string()
                } else {
                    format!(
                        "a field of `{}` ({}), or a duration literal such as `30s` or `7d`",
                        state.name,
                        list(names.iter().map(String::as_str))
                    )
                });
                errors.push(with_field_help(
                    diagnostic,
                    field,
                    &names,
                    &format!(
                        "add `{field}: std::time::Duration` to state `{}`",
                        state.name
                    ),
                ));
            }
        }
    }
}

/// A missing field's help: the closest of the state's field `names`, or how to `add` it.
fn with_field_help(
    diagnostic: Diagnostic,
    field: &Ident,
    names: &[String],
    add: &str,
) -> Diagnostic {
    match super::diagnostic::closest(&field.to_string(), names.iter().map(String::as_str)) {
        Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
        None => diagnostic.help(add),
    }
}

// Rule: a final state has no outgoing transition.
fn check_final_states_have_no_exit(flow: &Flow, errors: &mut Errors) {
    for transition in &flow.transitions {
        for source in &transition.sources {
            if flow.states[source.state].kind == StateKind::Final {
                errors.push(
                    Diagnostic::new(source.ident.span(), format!("transition `{}` leaves final state `{}`", transition.name, source.ident))
                        .expected("no transition out of a final state: the flow ends there")
                        .help(format!("declare `{}` with `state` instead of `final`, or remove it from the sources of `{}`", source.ident, transition.name)),
                );
            }
        }
    }
}

/// For each source state, the transitions leaving it that match `select`, in order.
fn by_source(flow: &Flow, select: impl Fn(Trigger) -> bool) -> Vec<(usize, Vec<usize>)> {
    flow.states
        .iter()
        .enumerate()
        .map(|(index, state)| {
            (
                index,
                state
                    .outgoing
                    .iter()
                    .copied()
                    .filter(|&t| select(flow.transitions[t].trigger))
                    .collect(),
            )
        })
        .collect()
}

/// The span of the token naming `state` as a source of `transition`.
fn source_span(flow: &Flow, transition: usize, state: usize) -> Span {
    let t = &flow.transitions[transition];
    t.sources
        .iter()
        .find(|s| s.state == state)
        .map_or_else(|| t.name.span(), |s| s.ident.span())
}

// Rule: at most one automatic transition per source state, so the driver is deterministic.
fn check_one_automatic_per_state(flow: &Flow, errors: &mut Errors) {
    for (state, transitions) in by_source(flow, |t| matches!(t, Trigger::Automatic)) {
        let Some((&first, rest)) = transitions.split_first() else {
            continue;
        };
        for &second in rest {
            errors.push(
                Diagnostic::new(source_span(flow, second, state), format!("state `{}` has two automatic transitions: `{}` and `{}`", flow.states[state].name, flow.transitions[first].name, flow.transitions[second].name))
                    .expected("at most one automatic transition per state, so the driver knows which one to take")
                    .help(format!("make `{}` wait for an event (`, on Event`) or a timer (`, after(..)`), or give one transition several targets (`-> A | B`) and let its activity choose", flow.transitions[second].name)),
            );
        }
    }
}

// Rule: at most one `after` timer per source state.
fn check_one_timer_per_state(flow: &Flow, errors: &mut Errors) {
    for (state, transitions) in by_source(flow, |t| matches!(t, Trigger::After(_))) {
        let Some((&first, rest)) = transitions.split_first() else {
            continue;
        };
        for &second in rest {
            errors.push(
                Diagnostic::new(
                    source_span(flow, second, state),
                    format!(
                        "state `{}` has two `after` timers: `{}` and `{}`",
                        flow.states[state].name,
                        flow.transitions[first].name,
                        flow.transitions[second].name
                    ),
                )
                .expected("at most one `after` transition per state")
                .help("keep one timer; its transition may have several targets (`-> A | B`)"),
            );
        }
    }
}

// Rule: no two `on` transitions for the same event and source state.
fn check_one_transition_per_event_and_state(flow: &Flow, errors: &mut Errors) {
    for (state, transitions) in by_source(flow, |t| matches!(t, Trigger::On { .. })) {
        for (index, &second) in transitions.iter().enumerate() {
            let Trigger::On { event, .. } = flow.transitions[second].trigger else {
                continue;
            };
            let earlier = transitions[..index].iter().find(|&&t| matches!(flow.transitions[t].trigger, Trigger::On { event: e, .. } if e == event));
            if let Some(&first) = earlier {
                errors.push(
                    Diagnostic::new(source_span(flow, second, state), format!("state `{}` takes event `{}` in two transitions: `{}` and `{}`", flow.states[state].name, flow.events[event].ty.to_token_stream(), flow.transitions[first].name, flow.transitions[second].name))
                        .expected("one transition per event in each state")
                        .help("keep one transition for the event; it may have several targets (`-> A | B`)"),
                );
            }
        }
    }
}

// Rule: a non-final state with no automatic transition has an `on` or `after` transition:
// every instance that is not finished has a way to move on.
fn check_every_waiting_state_has_a_way_out(flow: &Flow, errors: &mut Errors) {
    for (index, state) in flow.states.iter().enumerate() {
        if state.kind != StateKind::Final && state.outgoing.is_empty() && is_canonical(flow, index)
        {
            errors.push(
                Diagnostic::new(state.name.span(), format!("state `{}` is not final and has no transition out of it", state.name))
                    .expected("every non-final state to leave by an automatic transition, an `on Event` transition or an `after(..)` transition")
                    .help(format!("declare it `final {} {{ .. }}` if the flow ends there, or add a transition from it", state.name)),
            );
        }
    }
}

// Rule: every state is reachable from the initial state.
fn check_every_state_reachable(flow: &Flow, errors: &mut Errors) {
    let Some(initial) = flow.initial() else {
        return;
    };
    let reached = closure(flow, initial, |state| {
        flow.states[state]
            .outgoing
            .iter()
            .flat_map(|&t| flow.transitions[t].landings())
            .collect()
    });
    for (index, state) in flow.states.iter().enumerate() {
        // A second `initial` state is reported by its own rule.
        if !reached[index] && is_canonical(flow, index) && state.kind != StateKind::Initial {
            errors.push(
                Diagnostic::new(
                    state.name.span(),
                    format!(
                        "state `{}` cannot be reached from the initial state `{}`",
                        state.name, flow.states[initial].name
                    ),
                )
                .expected("every state reachable from the initial state")
                .help(format!(
                    "add a transition into `{}`, or remove it",
                    state.name
                )),
            );
        }
    }
}

// Rule: every non-final state can reach a final state, so no instance is trapped forever.
fn check_final_state_reachable(flow: &Flow, errors: &mut Errors) {
    let mut can_finish = vec![false; flow.states.len()];
    for (index, state) in flow.states.iter().enumerate() {
        if state.kind == StateKind::Final {
            let from_here = closure(flow, index, |s| {
                flow.states[s]
                    .incoming
                    .iter()
                    .flat_map(|&t| {
                        flow.transitions[t]
                            .sources
                            .iter()
                            .map(|source| source.state)
                    })
                    .collect()
            });
            for (reached, can) in from_here.into_iter().zip(can_finish.iter_mut()) {
                *can |= reached;
            }
        }
    }
    for (index, state) in flow.states.iter().enumerate() {
        // A state without any way out is reported by its own rule.
        if !can_finish[index] && !state.outgoing.is_empty() && is_canonical(flow, index) {
            errors.push(
                Diagnostic::new(
                    state.name.span(),
                    format!("no final state can be reached from state `{}`", state.name),
                )
                .expected("a path from every state to a `final` state, so no instance is trapped")
                .help(format!(
                    "add a transition from `{}`, or from a state it leads to, into a final state",
                    state.name
                )),
            );
        }
    }
}

/// The states reachable from `start` by following `next`, `start` included.
fn closure(flow: &Flow, start: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<bool> {
    let mut seen = vec![false; flow.states.len()];
    let mut queue = VecDeque::from([start]);
    seen[start] = true;
    while let Some(state) = queue.pop_front() {
        for to in next(state) {
            if !seen[to] {
                seen[to] = true;
                queue.push_back(to);
            }
        }
    }
    seen
}
