//! Pass 2: the resolved graph. Names become indices, literals become values; every node keeps
//! the tokens it came from so later passes can point at them.
//!
//! The graph has forward (`outgoing`) and inverse (`incoming`) edges; the checks, the diagram
//! and the code generator all read it.

use core::time::Duration;

use heck::ToSnakeCase;
use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Attribute, Field, Ident, Lit, Type, Visibility};

use super::diagnostic::{Diagnostic, Errors, closest, list};
use super::parse::{
    BranchDecl, DurationArg, EachDecl, FlowDecl, OptionDecl, StateKeyword, TransitionDecl,
};

/// Names every flow module defines, which no state or transition may take.
pub(crate) const FIXED_NAMES: &[(&str, &str)] = &[
    ("State", "the enum of all states"),
    ("Event", "the enum of all event types"),
    ("Flow", "the flow's marker type"),
    ("Activities", "the trait of activity methods"),
    ("Saga", "the typed saga"),
    ("DEFINITION", "the static definition"),
    ("MERMAID", "the diagram text"),
    ("steps", "the module of step types"),
];

/// The resolved flow.
pub(crate) struct Flow {
    pub(crate) name: Ident,
    /// The generated module's name, the flow's name in snake case.
    pub(crate) module: Ident,
    pub(crate) vis: Visibility,
    /// The visibility of the items inside the module: as far as the module itself reaches.
    pub(crate) item_vis: TokenStream,
    /// The same reach, one module deeper (for the `steps` module's items).
    pub(crate) nested_vis: TokenStream,
    /// Doc comments on the flow, which document the generated module.
    pub(crate) docs: Vec<Attribute>,
    /// Other attributes on the flow (derives...), applied to every state and enum.
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) states: Vec<State>,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) undos: Vec<Undo>,
    pub(crate) events: Vec<Event>,
    /// The fields lengths of time are read from (`after(trial)`), each name once.
    pub(crate) duration_fields: Vec<Ident>,
    /// Bare names in user-written types that a generated item would shadow in the module.
    pub(crate) shadowed: Vec<Ident>,
}

/// Collects the first segment of relative type paths whose name is in `names`, once each.
struct ShadowFinder<'a> {
    names: &'a [String],
    found: Vec<Ident>,
}

impl<'ast> Visit<'ast> for ShadowFinder<'_> {
    fn visit_type_path(&mut self, ty: &'ast syn::TypePath) {
        if ty.qself.is_none()
            && ty.path.leading_colon.is_none()
            && let Some(first) = ty.path.segments.first()
            && self.names.iter().any(|name| first.ident == name)
            && !self.found.contains(&first.ident)
        {
            self.found.push(first.ident.clone());
        }
        syn::visit::visit_type_path(self, ty);
    }
}

/// Whether a state starts the flow, ends it, or sits between.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StateKind {
    Initial,
    Intermediate,
    Final,
}

pub(crate) struct State {
    pub(crate) name: Ident,
    pub(crate) kind: StateKind,
    /// The `initial`, `state` or `final` keyword.
    pub(crate) keyword_span: Span,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) fields: Vec<Field>,
    /// Only the name parsed; the fallback emitter leaves it out.
    pub(crate) recovered: bool,
    /// Transitions that may start here.
    pub(crate) outgoing: Vec<usize>,
    /// Transitions that may land here.
    pub(crate) incoming: Vec<usize>,
}

pub(crate) struct Transition {
    pub(crate) name: Ident,
    pub(crate) docs: Vec<Attribute>,
    pub(crate) sources: Vec<StateRef>,
    pub(crate) targets: Vec<Target>,
    /// Every option as written, to check for repeats and conflicts.
    pub(crate) options: Vec<(&'static str, Span)>,
    pub(crate) trigger: Trigger,
    pub(crate) retry: Option<Retry>,
    pub(crate) timeout: Option<Timed>,
    pub(crate) compensate: bool,
    pub(crate) catch: Option<Catch>,
    pub(crate) guard: Option<Guard>,
    /// The `internal` keyword, if written.
    pub(crate) internal: Option<Span>,
    /// `parallel(..)` or `each(..)`: the activities the transition runs instead of one of its own.
    pub(crate) parts: Option<Parts>,
    /// `join(build)`: builds the target from the source and the parts' outputs (or the
    /// child's final state).
    pub(crate) join: Option<syn::Path>,
    /// `child(flow, start)`: the flow the transition runs an instance of, instead of an
    /// activity of its own.
    pub(crate) child: Option<Child>,
    /// `undo(parallel)`: where it is written; the completed parts are undone all at once.
    pub(crate) undo_parallel: Option<Span>,
}

/// `child(flow, start)`.
pub(crate) struct Child {
    /// The module `workflow!` generated for the child flow.
    pub(crate) flow: syn::Path,
    /// Builds the child's initial state from the source.
    pub(crate) start: syn::Path,
}

/// The activities of a transition that has several.
pub(crate) enum Parts {
    /// `parallel(..)`: different activities at the same time.
    Branches(Vec<Branch>),
    /// `each(..)`: one activity per item of a `Vec` field.
    Each(Box<Each>),
}

/// One branch of `parallel(..)`.
pub(crate) struct Branch {
    /// The branch's name, which is also its activity method's.
    pub(crate) name: Ident,
    pub(crate) output: syn::Type,
    /// Its undo, an index into [`Flow::undos`].
    pub(crate) undo: Option<usize>,
    pub(crate) retry: Option<Retry>,
    pub(crate) timeout: Option<Timed>,
    /// Its `retry` and `timeout` as written, to check for repeats.
    pub(crate) options: Vec<(&'static str, Span)>,
}

/// `each(field, at_most, activity: Output undo name)`.
pub(crate) struct Each {
    /// The `Vec<T>` field of the source state the items come from.
    pub(crate) field: Ident,
    /// `T` of the field's `Vec<T>`, taken from the first source state (`_` if it has no such
    /// field, which the checks report).
    pub(crate) item: syn::Type,
    /// The most items whose activity runs at a time, at least 1.
    pub(crate) at_most: u32,
    pub(crate) activity: Ident,
    pub(crate) output: syn::Type,
    /// Its undo, an index into [`Flow::undos`].
    pub(crate) undo: Option<usize>,
}

/// `catch(State, build)`: where a failure for good lands, and what builds that state.
pub(crate) struct Catch {
    pub(crate) ident: Ident,
    pub(crate) state: usize,
    pub(crate) build: syn::Path,
    pub(crate) compensate: bool,
}

/// `guard(choose)`: the pure function that chooses the target.
pub(crate) struct Guard {
    pub(crate) keyword: Span,
    pub(crate) choose: syn::Path,
}

/// A state named in a transition.
pub(crate) struct StateRef {
    pub(crate) ident: Ident,
    pub(crate) state: usize,
}

pub(crate) struct Target {
    pub(crate) ident: Ident,
    pub(crate) state: usize,
    pub(crate) undo: Option<usize>,
}

#[derive(Clone, Copy)]
pub(crate) enum Trigger {
    Automatic,
    On { event: usize },
    After(Timed),
}

/// A length of time and the keyword of the option it was written in.
#[derive(Clone, Copy)]
pub(crate) struct Timed {
    pub(crate) keyword: Span,
    pub(crate) wait: WaitValue,
}

/// A length of time: written as a literal, or the name of a field of the source state
/// (`field` indexes [`Flow::duration_fields`]; `span` is where this use names it).
#[derive(Clone, Copy)]
pub(crate) enum WaitValue {
    Fixed(Duration),
    Field { field: usize, span: Span },
}

impl WaitValue {
    /// `15min`, or the field's name, for docs and diagrams.
    pub(crate) fn text(self, flow: &Flow) -> String {
        match self {
            Self::Fixed(duration) => human(duration),
            Self::Field { field, .. } => flow.duration_fields[field].to_string(),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) min: WaitValue,
    pub(crate) max: WaitValue,
    /// The span of the `min..max` range.
    pub(crate) range_span: Span,
    pub(crate) jitter: bool,
}

pub(crate) struct Undo {
    pub(crate) name: Ident,
    pub(crate) transition: usize,
    /// The state the undo's transition lands in; the undo receives it. For the undo of a part,
    /// the transition's first target, unused.
    pub(crate) state: usize,
    /// `Some(branch)` for the undo of a branch of `parallel(..)`, `Some(0)` for the undo of
    /// `each(..)`; `None` for the undo of a target.
    pub(crate) part: Option<usize>,
}

pub(crate) struct Event {
    pub(crate) ty: Type,
    /// The variant of the generated `Event` enum: the type's last path segment.
    pub(crate) variant: Ident,
}

impl Flow {
    /// The index of the state called `name`: the first one declared, if there are several.
    pub(crate) fn state_index(&self, name: &Ident) -> Option<usize> {
        self.states.iter().position(|s| s.name == *name)
    }

    /// Every type name the flow's module will define besides its states and fixed names, with
    /// where it comes from.
    pub(crate) fn generated_names(&self) -> Vec<(String, Span, String)> {
        let mut names = Vec::new();
        for transition in &self.transitions {
            let from = format!("transition `{}`", transition.name);
            if transition.targets.len() > 1 {
                names.push((
                    transition.outcome_type().to_string(),
                    transition.name.span(),
                    format!("the outcome enum of {from}"),
                ));
                names.push((
                    transition.saga_outcome_type().to_string(),
                    transition.name.span(),
                    format!("the saga outcome enum of {from}"),
                ));
            }
            if transition.sources.len() > 1 {
                names.push((
                    transition.input_type().to_string(),
                    transition.name.span(),
                    format!("the input enum of {from}"),
                ));
                names.push((
                    transition.owned_input_type().to_string(),
                    transition.name.span(),
                    format!("the owned input enum of {from}"),
                ));
            }
        }
        names
    }

    /// Bare names in user-written types (fields, events) that a generated item other than a
    /// state would shadow inside the module, such as event `Cancel` next to transition `cancel`.
    /// The emitter resolves them in the caller's scope instead.
    pub(crate) fn shadowed_names(&self) -> Vec<Ident> {
        let mut names: Vec<String> = FIXED_NAMES.iter().map(|(n, _)| (*n).to_string()).collect();
        names.extend(self.generated_names().into_iter().map(|(name, _, _)| name));
        let mut finder = ShadowFinder {
            names: &names,
            found: Vec::new(),
        };
        for state in &self.states {
            for field in &state.fields {
                finder.visit_type(&field.ty);
            }
        }
        for event in &self.events {
            finder.visit_type(&event.ty);
        }
        for transition in &self.transitions {
            for branch in transition.branches() {
                finder.visit_type(&branch.output);
            }
            if let Some(each) = transition.each() {
                finder.visit_type(&each.output);
            }
        }
        finder.found
    }

    /// The index of the initial state, if there is one.
    pub(crate) fn initial(&self) -> Option<usize> {
        self.states
            .iter()
            .position(|s| s.kind == StateKind::Initial)
    }
}

impl Transition {
    /// Every state it may land in: its targets, then its catch target.
    pub(crate) fn landings(&self) -> impl Iterator<Item = usize> + '_ {
        self.targets
            .iter()
            .map(|t| t.state)
            .chain(self.catch.as_ref().map(|c| c.state))
    }

    /// The branches of its `parallel(..)`; none without.
    pub(crate) fn branches(&self) -> &[Branch] {
        match &self.parts {
            Some(Parts::Branches(branches)) => branches,
            _ => &[],
        }
    }

    /// Its `each(..)`, if it has one.
    pub(crate) const fn each(&self) -> Option<&Each> {
        match &self.parts {
            Some(Parts::Each(each)) => Some(each),
            _ => None,
        }
    }

    /// Whether an activity runs it (a guarded transition has none, nor one that runs a
    /// child flow).
    pub(crate) const fn has_activity(&self) -> bool {
        self.guard.is_none() && self.child.is_none()
    }

    /// Whether the typed API (typestate methods, the saga, the `Step` impl) takes it: a
    /// transition that runs a child flow is the driver's only, as the child's own steps
    /// run on their own instance.
    pub(crate) const fn is_typed(&self) -> bool {
        self.child.is_none()
    }

    /// `Placed | Reserved -> Cancelled`, for docs and messages.
    pub(crate) fn arrow(&self) -> String {
        let sources: Vec<String> = self.sources.iter().map(|s| s.ident.to_string()).collect();
        let targets: Vec<String> = self.targets.iter().map(|t| t.ident.to_string()).collect();
        format!("{} -> {}", sources.join(" | "), targets.join(" | "))
    }

    /// The generated unit type, in the `steps` module, and the constant of that type in the
    /// flow's module: `reserve` -> `steps::Reserve` and `Reserve`.
    pub(crate) fn unit_type(&self) -> Ident {
        pascal_ident(&self.name, "")
    }

    /// The generated outcome enum of a transition with several targets: `ReserveTo`.
    pub(crate) fn outcome_type(&self) -> Ident {
        pascal_ident(&self.name, "To")
    }

    /// The generated input enum of a transition with several sources: `CancelFrom`.
    pub(crate) fn input_type(&self) -> Ident {
        pascal_ident(&self.name, "From")
    }

    /// The owned input of a transition with several sources, as a step: `CancelInput`.
    pub(crate) fn owned_input_type(&self) -> Ident {
        pascal_ident(&self.name, "Input")
    }

    /// Where a saga lands after a transition with several targets: `ReserveSaga`.
    pub(crate) fn saga_outcome_type(&self) -> Ident {
        pascal_ident(&self.name, "Saga")
    }
}

/// `reserve` + `To` -> `ReserveTo`, spanned at the transition's name.
pub(crate) fn pascal_ident(name: &Ident, suffix: &str) -> Ident {
    use heck::ToUpperCamelCase;
    use syn::ext::IdentExt;
    Ident::new(
        &format!("{}{suffix}", name.unraw().to_string().to_upper_camel_case()),
        name.span(),
    )
}

/// Rust's keywords: a flow's module named like one of these is written as a raw identifier
/// (`Type` -> `r#type`), or, for [`PATH_KEYWORDS`], refused.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers: a flow whose module would be named like one is
/// an error of the `check` pass.
const PATH_KEYWORDS: &[&str] = &["crate", "self", "super"];

/// The name of flow `name`'s module: its name in snake case.
pub(crate) fn module_name(name: &Ident) -> String {
    use syn::ext::IdentExt as _;
    name.unraw().to_string().to_snake_case()
}

/// Whether a module named `snake` cannot be declared, even as a raw identifier.
pub(crate) fn is_path_keyword(snake: &str) -> bool {
    PATH_KEYWORDS.contains(&snake)
}

/// The module of flow `name`: its name in snake case, as a raw identifier if it is a keyword.
/// A name that cannot be a module at all gets a stand-in, and an error from the checks.
fn module_ident(name: &Ident) -> Ident {
    let snake = module_name(name);
    if is_path_keyword(&snake) {
        Ident::new(&format!("{snake}_flow"), name.span())
    } else if KEYWORDS.contains(&snake.as_str()) {
        Ident::new_raw(&snake, name.span())
    } else {
        Ident::new(&snake, name.span())
    }
}

/// Builds the model. The flag is `false` when a state name could not be resolved; the graph-wide
/// checks are then skipped, as they would report consequences rather than causes.
pub(crate) fn build(decl: FlowDecl, errors: &mut Errors) -> (Flow, bool) {
    let (docs, attrs): (Vec<_>, Vec<_>) = decl
        .attrs
        .into_iter()
        .partition(|a| a.path().is_ident("doc"));
    let module = module_ident(&decl.name);
    let item_vis = item_visibility(&decl.vis);
    let nested_vis = syn::parse2(item_vis.clone())
        .map_or_else(|_| item_vis.clone(), |vis| item_visibility(&vis));
    let mut flow = Flow {
        name: decl.name,
        module,
        vis: decl.vis,
        item_vis,
        nested_vis,
        docs,
        attrs,
        states: Vec::new(),
        transitions: Vec::new(),
        undos: Vec::new(),
        events: Vec::new(),
        duration_fields: Vec::new(),
        shadowed: Vec::new(),
    };
    for state in decl.states {
        flow.states.push(State {
            name: state.name,
            kind: match state.keyword {
                StateKeyword::Initial => StateKind::Initial,
                StateKeyword::State => StateKind::Intermediate,
                StateKeyword::Final => StateKind::Final,
            },
            keyword_span: state.keyword_span,
            attrs: state.attrs,
            fields: state.fields,
            recovered: state.recovered,
            outgoing: Vec::new(),
            incoming: Vec::new(),
        });
    }
    let mut resolved = true;
    for decl in decl.transitions {
        resolved &= build_transition(&mut flow, decl, errors);
    }
    flow.shadowed = flow.shadowed_names();
    (flow, resolved)
}

/// Resolves one transition into `flow`; `false` if one of its state names did not resolve.
fn build_transition(flow: &mut Flow, decl: TransitionDecl, errors: &mut Errors) -> bool {
    let mut resolved = true;
    let index = flow.transitions.len();
    refuse_attributes(&decl, errors);
    let mut sources = Vec::new();
    for ident in decl.sources {
        match resolve_state(flow, &ident, &decl.name, "source", errors) {
            Some(state) => sources.push(StateRef { ident, state }),
            None => resolved = false,
        }
    }
    let mut targets = Vec::new();
    for target in decl.targets {
        let Some(state) = resolve_state(flow, &target.state, &decl.name, "target", errors) else {
            resolved = false;
            continue;
        };
        let undo = target.undo.map(|name| {
            flow.undos.push(Undo {
                name,
                transition: index,
                state,
                part: None,
            });
            flow.undos.len() - 1
        });
        targets.push(Target {
            ident: target.state,
            state,
            undo,
        });
    }
    let mut transition = Transition {
        name: decl.name,
        docs: decl
            .attrs
            .into_iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect(),
        sources,
        targets,
        options: decl
            .options
            .iter()
            .map(|o| (o.keyword(), o.keyword_span()))
            .collect(),
        trigger: Trigger::Automatic,
        retry: None,
        timeout: None,
        compensate: false,
        catch: None,
        guard: None,
        internal: None,
        parts: None,
        join: None,
        child: None,
        undo_parallel: None,
    };
    for option in decl.options {
        if let OptionDecl::Catch {
            state,
            build,
            compensate,
            ..
        } = option
        {
            let name = &transition.name;
            match resolve_state(flow, &state, name, "catch target", errors) {
                Some(index) if transition.catch.is_none() => {
                    transition.catch = Some(Catch {
                        ident: state,
                        state: index,
                        build,
                        compensate: compensate.is_some(),
                    });
                }
                Some(_) => {}
                None => resolved = false,
            }
            continue;
        }
        apply_option(flow, index, &mut transition, option, errors);
    }
    // Edges once per state, even if a state is (wrongly) listed twice.
    for source in &transition.sources {
        let outgoing = &mut flow.states[source.state].outgoing;
        if !outgoing.contains(&index) {
            outgoing.push(index);
        }
    }
    for state in transition.landings() {
        let incoming = &mut flow.states[state].incoming;
        if !incoming.contains(&index) {
            incoming.push(index);
        }
    }
    flow.transitions.push(transition);
    resolved
}

/// A transition takes doc comments only: it generates no item another attribute could apply to.
fn refuse_attributes(decl: &TransitionDecl, errors: &mut Errors) {
    for attr in &decl.attrs {
        if !attr.path().is_ident("doc") {
            errors.push(
                Diagnostic::new(attr.span(), format!("found attribute `#[{}]` on transition `{}`", attr.path().to_token_stream(), decl.name))
                    .expected("only doc comments on a transition")
                    .help("remove the attribute; attributes on the flow or on a state apply to the generated types"),
            );
        }
    }
}

fn resolve_state(
    flow: &Flow,
    ident: &Ident,
    transition: &Ident,
    role: &str,
    errors: &mut Errors,
) -> Option<usize> {
    if let Some(index) = flow.state_index(ident) {
        return Some(index);
    }
    let names: Vec<String> = flow.states.iter().map(|s| s.name.to_string()).collect();
    let mut diagnostic = Diagnostic::new(
        ident.span(),
        format!("unknown state `{ident}` as a {role} of transition `{transition}`"),
    )
    .expected(format!(
        "a state declared in flow `{}`: {}",
        flow.name,
        list(names.iter().map(String::as_str))
    ));
    diagnostic = match closest(&ident.to_string(), names.iter().map(String::as_str)) {
        Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
        None => diagnostic.help(format!(
            "declare it, for example `state {ident} {{}}`, or fix the name"
        )),
    };
    errors.push(diagnostic);
    None
}

/// Records one option on transition `index`. Repeats and conflicts are left to the checks,
/// which see every option in `transition.options`; the first occurrence wins here.
fn apply_option(
    flow: &mut Flow,
    index: usize,
    transition: &mut Transition,
    option: OptionDecl,
    errors: &mut Errors,
) {
    match option {
        option @ (OptionDecl::Retry { .. } | OptionDecl::Timeout { .. }) => apply_policy(
            &mut flow.duration_fields,
            option,
            &mut transition.retry,
            &mut transition.timeout,
            errors,
        ),
        OptionDecl::After { keyword, duration } => {
            if let Some(wait) = wait(&mut flow.duration_fields, &duration, "after", errors)
                && matches!(transition.trigger, Trigger::Automatic)
            {
                transition.trigger = Trigger::After(Timed { keyword, wait });
            }
        }
        OptionDecl::On { event, .. } => {
            if let Some(index) = event_index(&mut flow.events, event, errors)
                && matches!(transition.trigger, Trigger::Automatic)
            {
                transition.trigger = Trigger::On { event: index };
            }
        }
        OptionDecl::Compensate { .. } => transition.compensate = true,
        OptionDecl::Guard { keyword, choose } => {
            transition.guard.get_or_insert(Guard { keyword, choose });
        }
        OptionDecl::Internal { keyword } => {
            transition.internal.get_or_insert(keyword);
        }
        OptionDecl::Parallel { branches, .. } => {
            if transition.parts.is_none() {
                let branches = branches
                    .into_iter()
                    .enumerate()
                    .map(|(part, branch)| {
                        build_branch(flow, index, transition, part, branch, errors)
                    })
                    .collect();
                transition.parts = Some(Parts::Branches(branches));
            }
        }
        OptionDecl::Each(each) => {
            if transition.parts.is_none() {
                transition.parts = Some(Parts::Each(Box::new(build_each(
                    flow, index, transition, each, errors,
                ))));
            }
        }
        OptionDecl::Join { build, .. } => {
            transition.join.get_or_insert(build);
        }
        OptionDecl::Child { flow, start, .. } => {
            transition.child.get_or_insert(Child { flow, start });
        }
        OptionDecl::UndoParallel { keyword } => {
            transition.undo_parallel.get_or_insert(keyword);
        }
        // Resolved by `build_transition`, which knows the states.
        OptionDecl::Catch { .. } => {}
    }
}

/// Records a `retry(..)` or `timeout(..)` of a transition or of a branch into `retry` or
/// `timeout`, unless one is already there. Any other option is left alone.
fn apply_policy(
    fields: &mut Vec<Ident>,
    option: OptionDecl,
    retry: &mut Option<Retry>,
    timeout: &mut Option<Timed>,
    errors: &mut Errors,
) {
    match option {
        OptionDecl::Retry {
            attempts,
            min,
            max,
            jitter,
            ..
        } => {
            let attempts_value = match attempts.base10_parse::<u32>() {
                Ok(n) if attempts.suffix().is_empty() => Some(n),
                _ => {
                    errors.push(
                        Diagnostic::new(
                            attempts.span(),
                            format!("found `{attempts}` as the number of attempts"),
                        )
                        .expected("a whole number of attempts, the first included, such as `3`")
                        .help("write `retry(3, 100ms..10s)`"),
                    );
                    None
                }
            };
            let range_span = arg_span(&min)
                .join(arg_span(&max))
                .unwrap_or_else(|| arg_span(&min));
            let min_value = wait(fields, &min, "retry", errors);
            let max_value = wait(fields, &max, "retry", errors);
            if let (Some(attempts), Some(min), Some(max)) = (attempts_value, min_value, max_value)
                && retry.is_none()
            {
                *retry = Some(Retry {
                    attempts,
                    min,
                    max,
                    range_span,
                    jitter: jitter.is_some(),
                });
            }
            if attempts_value == Some(0) {
                errors.push(
                    Diagnostic::new(attempts.span(), "found `0` attempts")
                        .expected("at least 1 attempt (the first one counts)")
                        .help("write `retry(3, ..)` for three attempts, or remove `retry` for one"),
                );
            }
        }
        OptionDecl::Timeout { keyword, duration } => {
            if let Some(wait) = wait(fields, &duration, "timeout", errors) {
                timeout.get_or_insert(Timed { keyword, wait });
            }
        }
        _ => {}
    }
}

/// Records the undo of part `part` of transition `index` in [`Flow::undos`]. A part's undo is
/// known by the transition's first target; with no target resolved, it is left out.
fn part_undo(
    flow: &mut Flow,
    index: usize,
    transition: &Transition,
    part: usize,
    name: Option<Ident>,
) -> Option<usize> {
    let name = name?;
    let state = transition.targets.first()?.state;
    flow.undos.push(Undo {
        name,
        transition: index,
        state,
        part: Some(part),
    });
    Some(flow.undos.len() - 1)
}

/// Resolves branch `part` of `parallel(..)` on transition `index`.
fn build_branch(
    flow: &mut Flow,
    index: usize,
    transition: &Transition,
    part: usize,
    branch: BranchDecl,
    errors: &mut Errors,
) -> Branch {
    let undo = part_undo(flow, index, transition, part, branch.undo);
    let options = branch
        .policies
        .iter()
        .map(|o| (o.keyword(), o.keyword_span()))
        .collect();
    let (mut retry, mut timeout) = (None, None);
    for policy in branch.policies {
        apply_policy(
            &mut flow.duration_fields,
            policy,
            &mut retry,
            &mut timeout,
            errors,
        );
    }
    Branch {
        name: branch.name,
        output: branch.output,
        undo,
        retry,
        timeout,
        options,
    }
}

/// Resolves `each(..)` on transition `index`. The item type is read from the first source
/// state; whether every source has the field, as a `Vec`, is left to the checks.
fn build_each(
    flow: &mut Flow,
    index: usize,
    transition: &Transition,
    each: EachDecl,
    errors: &mut Errors,
) -> Each {
    let at_most = match each.at_most.base10_parse::<u32>() {
        Ok(n) if each.at_most.suffix().is_empty() => n,
        Err(_) if each.at_most.base10_parse::<u128>().is_ok() => {
            errors.push(
                Diagnostic::new(
                    each.at_most.span(),
                    format!("`{}` items at a time in `each` is too many", each.at_most),
                )
                .expected(format!("at most {} items at a time", u32::MAX))
                .help(format!(
                    "write a smaller number, such as `each({}, 16, ..)`",
                    each.field
                )),
            );
            1
        }
        _ => {
            errors.push(
                Diagnostic::new(
                    each.at_most.span(),
                    format!(
                        "found `{}` as the most items at a time in `each`",
                        each.at_most
                    ),
                )
                .expected("a whole number of items, such as `4`")
                .help(format!(
                    "write `each({}, 4, ..)` to run at most 4 items at a time",
                    each.field
                )),
            );
            1
        }
    };
    if at_most == 0 {
        errors.push(
            Diagnostic::new(each.at_most.span(), format!("found `0` items at a time in `each` on transition `{}`", transition.name))
                .expected("at least 1 item at a time")
                .help(format!("write `each({}, 1, ..)` to run the items one after another, or a larger number to run several at once", each.field)),
        );
    }
    let item = transition
        .sources
        .first()
        .and_then(|source| field_type(&flow.states[source.state], &each.field))
        .and_then(vec_item)
        .cloned()
        .unwrap_or_else(|| syn::parse_quote!(_));
    Each {
        field: each.field,
        item,
        at_most: at_most.max(1),
        activity: each.activity,
        output: each.output,
        undo: part_undo(flow, index, transition, 0, each.undo),
    }
}

/// The type of field `name` of `state`, if it has one.
pub(crate) fn field_type<'a>(state: &'a State, name: &Ident) -> Option<&'a Type> {
    state
        .fields
        .iter()
        .find(|f| f.ident.as_ref() == Some(name))
        .map(|f| &f.ty)
}

/// `T`, if `ty` is written `Vec<T>` (any path whose last segment is `Vec` with one type argument).
pub(crate) fn vec_item(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last().filter(|_| path.qself.is_none())?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (last.ident == "Vec", args.args.first(), args.args.len()) {
        (true, Some(syn::GenericArgument::Type(item)), 1) => Some(item),
        _ => None,
    }
}

/// Where a length of time was written.
fn arg_span(arg: &DurationArg) -> Span {
    match arg {
        DurationArg::Literal(lit) => lit.span(),
        DurationArg::Field(field) => field.span(),
    }
}

/// A length of time as written: a literal is converted (see [`duration`]); a field is kept
/// by name, and checked against the source states by the checks.
fn wait(
    fields: &mut Vec<Ident>,
    arg: &DurationArg,
    option: &str,
    errors: &mut Errors,
) -> Option<WaitValue> {
    match arg {
        DurationArg::Literal(lit) => duration(lit, option, errors).map(WaitValue::Fixed),
        DurationArg::Field(name) => {
            let field = fields.iter().position(|f| f == name).unwrap_or_else(|| {
                fields.push(name.clone());
                fields.len() - 1
            });
            Some(WaitValue::Field {
                field,
                span: name.span(),
            })
        }
    }
}

/// The index of `ty` among the flow's event types, adding it if new.
fn event_index(events: &mut Vec<Event>, ty: Type, errors: &mut Errors) -> Option<usize> {
    let variant = match &ty {
        Type::Path(path) if path.qself.is_none() => {
            path.path.segments.last().map(|s| s.ident.clone())
        }
        _ => None,
    };
    let Some(variant) = variant else {
        errors.push(
            Diagnostic::new(
                ty.span(),
                format!("found `{}` as an event type", ty.to_token_stream()),
            )
            .expected("a named type, such as `CancelRequested` or `events::Approval`")
            .help("wrap the data in a struct and name that struct after `on`"),
        );
        return None;
    };
    let written = ty.to_token_stream().to_string();
    if let Some(index) = events
        .iter()
        .position(|e| e.ty.to_token_stream().to_string() == written)
    {
        return Some(index);
    }
    if let Some(other) = events.iter().find(|e| e.variant == variant) {
        errors.push(
            Diagnostic::new(ty.span(), format!("two event types are both named `{variant}`: `{written}` and `{}`", other.ty.to_token_stream()))
                .expected("event types with distinct names: each becomes a variant of the flow's `Event` enum")
                .help("rename one of them, or give it a distinct alias with `use .. as ..`"),
        );
        return None;
    }
    events.push(Event { ty, variant });
    Some(events.len() - 1)
}

/// The longest duration a flow may write: 100 years. Every store keeps due times as
/// milliseconds since 1970 in a signed 64-bit integer; a bound far below that keeps every
/// due time, and any sum of one with the clock, exact in every store and in JSON.
const MAX_DURATION_MS: u64 = 100 * 365 * 24 * 3_600_000;

/// Converts a duration literal (`500ms`, `30s`, `15min`, `2h`, `7d`).
fn duration(lit: &Lit, option: &str, errors: &mut Errors) -> Option<Duration> {
    let written = lit.to_token_stream().to_string();
    let (digits, unit) = match lit {
        Lit::Int(int) => (int.base10_digits().to_string(), int.suffix().to_string()),
        Lit::Float(float) => {
            let unit = float.suffix();
            let hint = float
                .base10_digits()
                .parse::<f64>()
                .ok()
                .and_then(|value| unit_millis(unit).map(|per| value * f64::from(per)))
                .filter(|ms| ms.fract() == 0.0 && *ms >= 1.0)
                .map_or_else(
                    || "write it in a smaller unit as a whole number".to_string(),
                    |ms| format!("write `{ms}ms`"),
                );
            errors.push(
                Diagnostic::new(
                    lit.span(),
                    format!("found fractional duration `{written}` in `{option}`"),
                )
                .expected("a whole number followed by a unit: `ms`, `s`, `min`, `h` or `d`")
                .help(hint),
            );
            return None;
        }
        _ => {
            errors.push(
                Diagnostic::new(lit.span(), format!("found `{written}` in `{option}`"))
                    .expected("a duration such as `500ms`, `30s`, `15min`, `2h` or `7d`, or a field of the source state")
                    .help("write a whole number followed by its unit, with no space"),
            );
            return None;
        }
    };
    let Some(per_unit) = unit_millis(&unit) else {
        let help = if unit.is_empty() {
            format!(
                "add a unit: `{digits}ms`, `{digits}s`, `{digits}min`, `{digits}h` or `{digits}d`"
            )
        } else {
            let likely = match unit.as_str() {
                "m" | "mins" | "minute" | "minutes" => Some("min"),
                "sec" | "secs" | "second" | "seconds" => Some("s"),
                "hr" | "hrs" | "hour" | "hours" => Some("h"),
                "day" | "days" => Some("d"),
                "msec" | "millis" | "milliseconds" => Some("ms"),
                _ => None,
            };
            match likely {
                Some(unit) => format!("write `{digits}{unit}`"),
                None => "the units are `ms`, `s`, `min`, `h` and `d`".to_string(),
            }
        };
        errors.push(
            Diagnostic::new(
                lit.span(),
                format!(
                    "found `{written}` in `{option}`: {}",
                    if unit.is_empty() {
                        "a number with no unit".to_string()
                    } else {
                        format!("unknown unit `{unit}`")
                    }
                ),
            )
            .expected("a duration unit: `ms`, `s`, `min`, `h` or `d`")
            .help(help),
        );
        return None;
    };
    let millis = digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(u64::from(per_unit)));
    in_range(lit, &written, option, millis, errors)
}

/// A duration of `millis` (`None`: too large for a `u64`), if it is above zero and at most
/// [`MAX_DURATION_MS`].
fn in_range(
    lit: &Lit,
    written: &str,
    option: &str,
    millis: Option<u64>,
    errors: &mut Errors,
) -> Option<Duration> {
    match millis {
        Some(0) => {
            errors.push(
                Diagnostic::new(
                    lit.span(),
                    format!("found a zero duration `{written}` in `{option}`"),
                )
                .expected("a duration longer than zero")
                .help(if option == "timeout" {
                    "remove `timeout` for no time limit"
                } else {
                    "use at least `1ms`"
                }),
            );
            None
        }
        Some(ms) if ms > MAX_DURATION_MS => {
            errors.push(
                Diagnostic::new(
                    lit.span(),
                    format!("found `{written}` in `{option}`, longer than a wait may last"),
                )
                .expected("a duration of at most 100 years (`36500d`)")
                .help(
                    "a due time is stored as milliseconds since 1970 in a 64-bit integer; \
                     model a longer wait as a state that renews its timer",
                ),
            );
            None
        }
        Some(ms) => Some(Duration::from_millis(ms)),
        None => {
            errors.push(
                Diagnostic::new(
                    lit.span(),
                    format!("found `{written}` in `{option}`, too long to represent"),
                )
                .expected("a duration of at most 100 years (`36500d`)")
                .help("use a smaller number"),
            );
            None
        }
    }
}

/// `15min`, `30s`, `1500ms`: a duration in the largest unit that divides it.
pub(crate) fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        ms if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        ms if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

fn unit_millis(unit: &str) -> Option<u32> {
    match unit {
        "ms" => Some(1),
        "s" => Some(1_000),
        "min" => Some(60_000),
        "h" => Some(3_600_000),
        "d" => Some(86_400_000),
        _ => None,
    }
}

/// The visibility of items inside the flow's module, so they reach exactly as far as the
/// module: `pub` stays `pub`, private becomes `pub(super)`, `pub(super)` becomes
/// `pub(in super::super)`.
pub(crate) fn item_visibility(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Public(_) => quote!(pub),
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Restricted(restricted) => {
            let path = &restricted.path;
            let first = path.segments.first().map(|s| s.ident.to_string());
            match first.as_deref() {
                Some("crate") => quote!(pub(in #path)),
                Some("self") => {
                    let rest = path.segments.iter().skip(1);
                    quote!(pub(in super #(:: #rest)*))
                }
                _ => quote!(pub(in super::#path)),
            }
        }
    }
}
