//! Pass 1, syntax only: the `workflow!` tokens become a tree that keeps every token's span.
//!
//! Nothing here knows what a state or a transition means; names are not resolved and values
//! are not checked. A malformed item is reported and skipped, and parsing goes on with the next
//! item, so one expansion reports every syntax error of a flow.

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Attribute, Field, Ident, Lit, LitInt, Token, Type, Visibility, braced, parenthesized};

use super::diagnostic::Diagnostic;

/// The DSL's keywords, declared once.
pub(crate) mod kw {
    syn::custom_keyword!(initial);
    syn::custom_keyword!(state);
    syn::custom_keyword!(undo);
    syn::custom_keyword!(retry);
    syn::custom_keyword!(jitter);
    syn::custom_keyword!(timeout);
    syn::custom_keyword!(on);
    syn::custom_keyword!(after);
    syn::custom_keyword!(compensate);
    syn::custom_keyword!(catch);
    syn::custom_keyword!(guard);
    syn::custom_keyword!(internal);
    syn::custom_keyword!(parallel);
    syn::custom_keyword!(each);
    syn::custom_keyword!(join);
    syn::custom_keyword!(child);
}

/// The option keywords a transition accepts, for error messages and suggestions.
pub(crate) const OPTION_KEYWORDS: &[&str] = &[
    "retry",
    "timeout",
    "on",
    "after",
    "compensate",
    "catch",
    "guard",
    "internal",
    "parallel",
    "each",
    "join",
    "child",
    "undo",
];

/// The options as an error message lists them.
const OPTION_LIST: &str = "`retry(..)`, `timeout(..)`, `on Event`, `after(..)`, `compensate`, \
                           `catch(State, build)`, `guard(choose)`, `internal`, `parallel(..)`, \
                           `each(..)`, `join(build)`, `child(flow, start)` or `undo(parallel)`";

/// One `workflow!` invocation: a single flow.
pub(crate) struct FlowDecl {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) name: Ident,
    pub(crate) states: Vec<StateDecl>,
    pub(crate) transitions: Vec<TransitionDecl>,
    /// Syntax errors of items that were skipped.
    pub(crate) errors: Vec<syn::Error>,
}

/// Which keyword introduced a state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StateKeyword {
    Initial,
    State,
    Final,
}

/// `initial Placed { order: OrderRequest }`
pub(crate) struct StateDecl {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) keyword: StateKeyword,
    pub(crate) keyword_span: Span,
    pub(crate) name: Ident,
    pub(crate) fields: Vec<Field>,
    /// The fields did not parse; the state is known by name only.
    pub(crate) recovered: bool,
}

/// `reserve: Placed -> Reserved undo release | Cancelled, retry(3, 1s..1min);`
pub(crate) struct TransitionDecl {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) name: Ident,
    pub(crate) sources: Vec<Ident>,
    pub(crate) targets: Vec<TargetDecl>,
    pub(crate) options: Vec<OptionDecl>,
}

/// One target of a transition, with the undo recorded on landing there.
pub(crate) struct TargetDecl {
    pub(crate) state: Ident,
    pub(crate) undo: Option<Ident>,
}

/// A length of time as written: a literal (`30s`) or the name of a field of the source
/// state (`trial`).
pub(crate) enum DurationArg {
    Literal(Lit),
    Field(Ident),
}

impl Parse for DurationArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(syn::Ident) {
            input.parse().map(Self::Field)
        } else {
            input.parse().map(Self::Literal)
        }
    }
}

/// One option after the targets.
pub(crate) enum OptionDecl {
    Retry {
        keyword: Span,
        attempts: LitInt,
        min: DurationArg,
        max: DurationArg,
        jitter: Option<Span>,
    },
    Timeout {
        keyword: Span,
        duration: DurationArg,
    },
    On {
        keyword: Span,
        event: Type,
    },
    After {
        keyword: Span,
        duration: DurationArg,
    },
    Compensate {
        keyword: Span,
    },
    /// `catch(State, build)` or `catch(State, build, compensate)`.
    Catch {
        keyword: Span,
        state: Ident,
        build: syn::Path,
        compensate: Option<Span>,
    },
    /// `guard(choose)`.
    Guard {
        keyword: Span,
        choose: syn::Path,
    },
    Internal {
        keyword: Span,
    },
    /// `parallel(credit: Credit undo void_credit, income: Income)`.
    Parallel {
        keyword: Span,
        branches: Vec<BranchDecl>,
    },
    /// `each(lines, 4, reserve_line: Hold undo release_line)`.
    Each(EachDecl),
    /// `join(build)`: the function that builds the target from the parts' outputs.
    Join {
        keyword: Span,
        build: syn::Path,
    },
    /// `child(shipment, start)`: the module of the flow the transition runs an instance of,
    /// and the function that builds the child's initial state.
    Child {
        keyword: Span,
        flow: syn::Path,
        start: syn::Path,
    },
    /// `undo(parallel)`: the completed parts are undone all at once.
    UndoParallel {
        keyword: Span,
    },
}

/// One branch of `parallel(..)`: `credit: Credit undo void_credit retry(3, 1s..10s) timeout(5s)`.
pub(crate) struct BranchDecl {
    pub(crate) name: Ident,
    pub(crate) output: Type,
    pub(crate) undo: Option<Ident>,
    /// Its `retry(..)` and `timeout(..)`, as [`OptionDecl::Retry`] and [`OptionDecl::Timeout`].
    pub(crate) policies: Vec<OptionDecl>,
}

/// `each(field, at_most, activity: Output undo name)`.
pub(crate) struct EachDecl {
    pub(crate) keyword: Span,
    pub(crate) field: Ident,
    pub(crate) at_most: LitInt,
    pub(crate) activity: Ident,
    pub(crate) output: Type,
    pub(crate) undo: Option<Ident>,
}

impl OptionDecl {
    /// The option's keyword, as written.
    pub(crate) fn keyword(&self) -> &'static str {
        match self {
            Self::Retry { .. } => "retry",
            Self::Timeout { .. } => "timeout",
            Self::On { .. } => "on",
            Self::After { .. } => "after",
            Self::Compensate { .. } => "compensate",
            Self::Catch { .. } => "catch",
            Self::Guard { .. } => "guard",
            Self::Internal { .. } => "internal",
            Self::Parallel { .. } => "parallel",
            Self::Each(_) => "each",
            Self::Join { .. } => "join",
            Self::Child { .. } => "child",
            Self::UndoParallel { .. } => "undo",
        }
    }

    /// The span of the option's keyword.
    pub(crate) fn keyword_span(&self) -> Span {
        match self {
            Self::Retry { keyword, .. }
            | Self::Timeout { keyword, .. }
            | Self::On { keyword, .. }
            | Self::After { keyword, .. }
            | Self::Compensate { keyword }
            | Self::Catch { keyword, .. }
            | Self::Guard { keyword, .. }
            | Self::Internal { keyword }
            | Self::Parallel { keyword, .. }
            | Self::Each(EachDecl { keyword, .. })
            | Self::Join { keyword, .. }
            | Self::Child { keyword, .. }
            | Self::UndoParallel { keyword } => *keyword,
        }
    }
}

impl Parse for FlowDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let name = parse_flow_name(input)?;
        if !input.peek(syn::token::Brace) {
            return Err(
                Diagnostic::new(input.span(), "expected `{` after the flow's name")
                    .expected("the flow's body in braces: its states and transitions")
                    .help(format!("write `{name} {{ initial Start {{}} ... }}`"))
                    .into(),
            );
        }
        let body;
        braced!(body in input);
        let mut flow = FlowDecl {
            attrs,
            vis,
            name,
            states: Vec::new(),
            transitions: Vec::new(),
            errors: Vec::new(),
        };
        while !body.is_empty() {
            if let Err(error) = parse_item(&body, &mut flow) {
                flow.errors.push(error);
                skip_to_next_item(&body);
            }
        }
        if !input.is_empty() {
            return Err(
                Diagnostic::new(input.span(), "unexpected tokens after the flow's body")
                    .expected("one flow per `workflow!` block")
                    .help("declare each further flow in a `workflow! { ... }` block of its own")
                    .into(),
            );
        }
        Ok(flow)
    }
}

fn parse_flow_name(input: ParseStream) -> syn::Result<Ident> {
    if input.peek(Token![struct]) || input.peek(Token![enum]) || input.peek(Token![mod]) {
        let found: proc_macro2::TokenTree = input.parse()?;
        return Err(Diagnostic::new(
            found.span(),
            format!("found `{found}` before the flow's name"),
        )
        .expected("the flow's name right after its visibility, as in `pub Order { ... }`")
        .help(format!("remove `{found}`"))
        .into());
    }
    if input.peek(syn::Ident) {
        return input.parse();
    }
    Err(Diagnostic::new(input.span(), "expected the flow's name")
        .expected("`Name { ... }` or `pub Name { ... }`")
        .help("start the block with the flow's name, for example `pub Order {`")
        .into())
}

/// Parses one state or transition into `flow`.
fn parse_item(input: ParseStream, flow: &mut FlowDecl) -> syn::Result<()> {
    let attrs = input.call(Attribute::parse_outer)?;
    if let Some(keyword) = peek_state_keyword(input) {
        let keyword_span = input.span();
        // The keyword: `initial`, `state` or `final`.
        let _: proc_macro2::TokenTree = input.parse()?;
        return parse_state(input, flow, attrs, keyword, keyword_span);
    }
    if input.peek(syn::Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
        flow.transitions.push(parse_transition(input, attrs)?);
        return Ok(());
    }
    if input.peek(syn::Ident) && input.peek2(syn::Ident) {
        let name: Ident = input.fork().parse()?;
        return Err(Diagnostic::new(
            input.span(),
            format!("found `{name}` followed by a state name, without a colon"),
        )
        .expected("a transition: its name, a colon, its sources, `->`, its targets")
        .help(format!("write `{name}: From -> To;`"))
        .into());
    }
    Err(Diagnostic::new(input.span(), format!("found {}", describe_next(input)))
        .expected("a state (`initial Name { .. }`, `state Name { .. }`, `final Name { .. }`) or a transition (`name: From -> To;`)")
        .help("states start with `initial`, `state` or `final`; transitions with their name and a colon")
        .into())
}

fn peek_state_keyword(input: ParseStream) -> Option<StateKeyword> {
    if input.peek(kw::initial) && !input.peek2(Token![:]) {
        Some(StateKeyword::Initial)
    } else if input.peek(kw::state) && !input.peek2(Token![:]) {
        Some(StateKeyword::State)
    } else if input.peek(Token![final]) {
        Some(StateKeyword::Final)
    } else {
        None
    }
}

/// Parses a state into `flow`. A state whose name parsed is recorded even when its fields did
/// not, marked `recovered`, so transitions naming it still resolve.
fn parse_state(
    input: ParseStream,
    flow: &mut FlowDecl,
    attrs: Vec<Attribute>,
    keyword: StateKeyword,
    keyword_span: Span,
) -> syn::Result<()> {
    if !input.peek(syn::Ident) {
        return Err(
            Diagnostic::new(input.span(), format!("found {}", describe_next(input)))
                .expected("the state's name")
                .help("write `state Name { field: Type }`")
                .into(),
        );
    }
    let name: Ident = input.parse()?;
    let mut recovered = false;
    let fields = if input.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        match Punctuated::<Field, Token![,]>::parse_terminated_with(&content, Field::parse_named) {
            Ok(fields) => fields.into_iter().collect(),
            Err(error) => {
                drain(&content);
                flow.errors.push(error);
                recovered = true;
                Vec::new()
            }
        }
    } else {
        flow.errors.push(
            Diagnostic::new(
                input.span(),
                format!("found {} after state `{name}`", describe_next(input)),
            )
            .expected("the state's fields in braces")
            .help(format!(
                "write `{name} {{ field: Type }}`, or `{name} {{}}` for a state without fields"
            ))
            .into(),
        );
        if input.peek(Token![;]) {
            let _: Token![;] = input.parse()?;
        }
        recovered = true;
        Vec::new()
    };
    flow.states.push(StateDecl {
        attrs,
        keyword,
        keyword_span,
        name,
        fields,
        recovered,
    });
    Ok(())
}

fn parse_transition(input: ParseStream, attrs: Vec<Attribute>) -> syn::Result<TransitionDecl> {
    let name: Ident = input.parse()?;
    let _: Token![:] = input.parse()?;
    let sources = parse_state_list(input, &name, "source")?;
    if !input.peek(Token![->]) {
        return Err(Diagnostic::new(
            input.span(),
            format!("found {} in transition `{name}`", describe_next(input)),
        )
        .expected("`->` after the source states")
        .help(format!(
            "write `{name}: From -> To;`; several sources are separated by `|`"
        ))
        .into());
    }
    let _: Token![->] = input.parse()?;
    let mut targets = Vec::new();
    loop {
        let state = parse_state_name(input, &name, "target")?;
        let undo = parse_undo(input, &format!("{state} undo release"))?;
        targets.push(TargetDecl { state, undo });
        if input.peek(Token![|]) {
            let _: Token![|] = input.parse()?;
        } else {
            break;
        }
    }
    let mut options = Vec::new();
    while input.peek(Token![,]) {
        let _: Token![,] = input.parse()?;
        options.push(parse_option(input, &name)?);
    }
    if !input.peek(Token![;]) {
        return Err(Diagnostic::new(input.span(), format!("found {} in transition `{name}`", describe_next(input)))
            .expected("`;` at the end of the transition, or `,` before an option")
            .help("end every transition with `;`; options follow the targets, each after a comma: `, retry(3, 1s..10s)`")
            .into());
    }
    let _: Token![;] = input.parse()?;
    Ok(TransitionDecl {
        attrs,
        name,
        sources,
        targets,
        options,
    })
}

/// An optional `undo name`; `example` shows it in place, for the error message.
fn parse_undo(input: ParseStream, example: &str) -> syn::Result<Option<Ident>> {
    if !input.peek(kw::undo) {
        return Ok(None);
    }
    let _: kw::undo = input.parse()?;
    if !input.peek(syn::Ident) {
        return Err(Diagnostic::new(
            input.span(),
            format!("found {} after `undo`", describe_next(input)),
        )
        .expected("the name of the undo step")
        .help(format!(
            "write `{example}`; the name becomes a method of the flow's `Activities` trait"
        ))
        .into());
    }
    input.parse().map(Some)
}

fn parse_state_list(input: ParseStream, transition: &Ident, role: &str) -> syn::Result<Vec<Ident>> {
    let mut states = vec![parse_state_name(input, transition, role)?];
    while input.peek(Token![|]) {
        let _: Token![|] = input.parse()?;
        states.push(parse_state_name(input, transition, role)?);
    }
    Ok(states)
}

fn parse_state_name(input: ParseStream, transition: &Ident, role: &str) -> syn::Result<Ident> {
    if input.peek(syn::Ident) {
        return input.parse();
    }
    Err(Diagnostic::new(
        input.span(),
        format!(
            "found {} in transition `{transition}`",
            describe_next(input)
        ),
    )
    .expected(format!("the name of a {role} state"))
    .help(format!(
        "write `{transition}: From -> To;`, naming states declared in this flow"
    ))
    .into())
}

fn parse_option(input: ParseStream, transition: &Ident) -> syn::Result<OptionDecl> {
    let lookahead = input.lookahead1();
    if lookahead.peek(kw::retry) {
        parse_retry(input)
    } else if lookahead.peek(kw::timeout) {
        parse_timeout(input)
    } else if lookahead.peek(kw::after) {
        let keyword = input.parse::<kw::after>()?.span;
        let duration = parse_duration_arg(input, keyword, "after", "15min")?;
        Ok(OptionDecl::After { keyword, duration })
    } else if lookahead.peek(kw::on) {
        let keyword = input.parse::<kw::on>()?.span;
        if input.is_empty() || input.peek(Token![,]) || input.peek(Token![;]) {
            return Err(Diagnostic::new(input.span(), "`on` needs the event type that triggers the transition")
                .expected("a type after `on`")
                .help(format!("write `on CancelRequested` to take `{transition}` when a `CancelRequested` event arrives"))
                .into());
        }
        let event: Type = input.parse()?;
        Ok(OptionDecl::On { keyword, event })
    } else if lookahead.peek(kw::compensate) {
        let keyword = input.parse::<kw::compensate>()?.span;
        Ok(OptionDecl::Compensate { keyword })
    } else if lookahead.peek(kw::catch) {
        parse_catch(input)
    } else if lookahead.peek(kw::guard) {
        let keyword = input.parse::<kw::guard>()?.span;
        let choose = parse_function_arg(
            input,
            keyword,
            "guard",
            "`guard(choose)`",
            "write `guard(choose)` with `fn choose(from: Source) -> Outcome`, a pure function of the state",
        )?;
        Ok(OptionDecl::Guard { keyword, choose })
    } else if lookahead.peek(kw::internal) {
        let keyword = input.parse::<kw::internal>()?.span;
        Ok(OptionDecl::Internal { keyword })
    } else if lookahead.peek(kw::parallel) {
        parse_parallel(input)
    } else if lookahead.peek(kw::each) {
        parse_each(input)
    } else if lookahead.peek(kw::join) {
        let keyword = input.parse::<kw::join>()?.span;
        let build = parse_function_arg(
            input,
            keyword,
            "join",
            "`join(build)`: the function that builds the target from the source and the parts' outputs",
            "write `join(checked)` with `fn checked(from: &Source, ..the parts' outputs) -> Target`",
        )?;
        Ok(OptionDecl::Join { keyword, build })
    } else if lookahead.peek(kw::child) {
        parse_child(input)
    } else if lookahead.peek(kw::undo) {
        parse_undo_parallel(input, transition)
    } else if input.peek(syn::Ident) {
        let found: Ident = input.parse()?;
        let mut diagnostic = Diagnostic::new(
            found.span(),
            format!("unknown option `{found}` on transition `{transition}`"),
        )
        .expected(format!("one of {OPTION_LIST}"));
        if let Some(close) =
            super::diagnostic::closest(&found.to_string(), OPTION_KEYWORDS.iter().copied())
        {
            diagnostic = diagnostic.help(format!("did you mean `{close}`?"));
        }
        Err(diagnostic.into())
    } else {
        Err(Diagnostic::new(
            input.span(),
            format!(
                "found {} after `,` in transition `{transition}`",
                describe_next(input)
            ),
        )
        .expected(format!("an option: {OPTION_LIST}"))
        .help("remove the comma, or write an option after it")
        .into())
    }
}

/// What was found where the arguments of `option(..)` go: the next token (or the keyword,
/// when the parentheses are empty). The caller says what was expected.
fn found_in(args: ParseStream, keyword: Span, option: &str) -> Diagnostic {
    let at = if args.is_empty() {
        keyword
    } else {
        args.span()
    };
    Diagnostic::new(at, format!("found {} in `{option}`", describe_next(args)))
}

/// `catch(State, build)` with an optional `, compensate`.
fn parse_catch(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::catch>()?.span;
    let usage = "`catch(State, build)`: the state a failure for good lands in, and the function that builds it";
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(keyword, "`catch` needs its state and builder in parentheses")
            .expected(usage)
            .help("write `catch(ManualReview, to_review)` with `fn to_review(from: Source, failure: Failure) -> ManualReview`")
            .into());
    }
    in_parens(input, |args| {
        let part = |args: ParseStream, what: &str| {
            found_in(args, keyword, "catch")
            .expected(what.to_string())
            .help("write `catch(ManualReview, to_review)`, or `catch(ManualReview, to_review, compensate)` to compensate first")
        };
        let state: Ident = args.parse().map_err(|_| {
            syn::Error::from(part(
                args,
                "the name of the state a failure for good lands in",
            ))
        })?;
        if !args.peek(Token![,]) {
            return Err(part(
                args,
                "`,` and the function that builds the state from the failure",
            )
            .into());
        }
        let _: Token![,] = args.parse()?;
        let build: syn::Path = args.parse().map_err(|_| {
            syn::Error::from(part(args, "the path of the function that builds the state"))
        })?;
        let compensate = if args.peek(Token![,]) {
            let _: Token![,] = args.parse()?;
            let span = args
                .parse::<kw::compensate>()
                .map_err(|_| {
                    syn::Error::from(part(args, "`compensate` or nothing after the builder"))
                })?
                .span;
            Some(span)
        } else {
            None
        };
        if !args.is_empty() {
            return Err(part(
                args,
                "nothing more: `catch(State, build)` or `catch(State, build, compensate)`",
            )
            .into());
        }
        Ok(OptionDecl::Catch {
            keyword,
            state,
            build,
            compensate,
        })
    })
}

/// `child(flow, start)`: the module the child flow's `workflow!` generated, and the function
/// that builds the child's initial state from the source.
fn parse_child(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::child>()?.span;
    let usage = "`child(flow, start)`: the module of the flow to run (as `workflow!` named it), and the function that builds the child's initial state";
    let example = "write `child(shipment, to_shipment)` with `fn to_shipment(from: &Source) -> shipment::Initial`";
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(
            keyword,
            "`child` needs its flow and start function in parentheses",
        )
        .expected(usage)
        .help(example)
        .into());
    }
    in_parens(input, |args| {
        let part = |args: ParseStream, what: &str| {
            found_in(args, keyword, "child")
                .expected(what.to_string())
                .help(example)
        };
        let flow: syn::Path = args.parse().map_err(|_| {
            syn::Error::from(part(
                args,
                "the module of the child flow, such as `shipment` or `crate::shipment`",
            ))
        })?;
        if !args.peek(Token![,]) {
            return Err(part(
                args,
                "`,` and the function that builds the child's initial state",
            )
            .into());
        }
        let _: Token![,] = args.parse()?;
        let start: syn::Path = args.parse().map_err(|_| {
            syn::Error::from(part(
                args,
                "the path of the function that builds the child's initial state",
            ))
        })?;
        if !args.is_empty() {
            return Err(part(args, "nothing more: `child(flow, start)`").into());
        }
        Ok(OptionDecl::Child {
            keyword,
            flow,
            start,
        })
    })
}

/// `undo(parallel)`, among the options. An `undo name` written there belongs after a target.
fn parse_undo_parallel(input: ParseStream, transition: &Ident) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::undo>()?.span;
    let usage = "`undo(parallel)`: the completed parts of the transition are undone all at once";
    if !input.peek(syn::token::Paren) {
        let found = describe_next(input);
        return Err(Diagnostic::new(keyword, format!("found `undo` then {found} among the options of transition `{transition}`"))
            .expected(usage)
            .help("an undo of the transition's own activity goes right after its target, before the options: `Placed -> Reserved undo release, retry(..)`")
            .into());
    }
    in_parens(input, |args| {
        let mode: Ident = args.parse().map_err(|_| {
            syn::Error::from(
                found_in(args, keyword, "undo")
                    .expected("`parallel`")
                    .help("write `undo(parallel)`"),
            )
        })?;
        if mode != "parallel" || !args.is_empty() {
            let at = if mode == "parallel" {
                args.span()
            } else {
                mode.span()
            };
            return Err(Diagnostic::new(at, format!("found `{}` in `undo(..)`", if mode == "parallel" { describe_next(args) } else { mode.to_string() }))
                .expected("`parallel`: `undo(parallel)` undoes the completed parts all at once; without it they are undone one after another, newest first")
                .help("write `undo(parallel)`, or remove it")
                .into());
        }
        Ok(OptionDecl::UndoParallel { keyword })
    })
}

/// `(path)` after `guard` or `join`: the function that decides or builds.
fn parse_function_arg(
    input: ParseStream,
    keyword: Span,
    option: &str,
    usage: &str,
    help: &str,
) -> syn::Result<syn::Path> {
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(
            keyword,
            format!("`{option}` needs a function in parentheses"),
        )
        .expected(usage.to_string())
        .help(help)
        .into());
    }
    in_parens(input, |args| {
        let path: syn::Path = args.parse().map_err(|_| {
            syn::Error::from(
                found_in(args, keyword, option)
                    .expected(if option == "join" {
                        "the path of a function, such as `checked` or `rules::checked`"
                    } else {
                        "the path of a function, such as `choose` or `rules::choose`"
                    })
                    .help(help),
            )
        })?;
        if !args.is_empty() {
            return Err(Diagnostic::new(
                args.span(),
                format!(
                    "found {} after the function in `{option}`",
                    describe_next(args)
                ),
            )
            .expected(format!("a single function path in `{option}(..)`"))
            .help(help)
            .into());
        }
        Ok(path)
    })
}

/// `timeout(d)`.
fn parse_timeout(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::timeout>()?.span;
    let duration = parse_duration_arg(input, keyword, "timeout", "30s")?;
    Ok(OptionDecl::Timeout { keyword, duration })
}

/// How a branch is written, for error messages.
const BRANCH_HELP: &str = "write `parallel(credit: Credit undo void_credit, income: Income retry(3, 1s..10s) timeout(30s))`: \
                           each branch's name, its output type, then optionally `undo name`, `retry(..)` and `timeout(..)`, \
                           separated by spaces; branches separated by commas";

/// `parallel(branch, branch, ..)`.
fn parse_parallel(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::parallel>()?.span;
    if !input.peek(syn::token::Paren) {
        return Err(
            Diagnostic::new(keyword, "`parallel` needs its branches in parentheses")
                .expected("`parallel(name: Output, name: Output, ..)`: the activities that run at the same time")
                .help(BRANCH_HELP)
                .into(),
        );
    }
    in_parens(input, |args| {
        let mut branches = Vec::new();
        while !args.is_empty() {
            let branch = parse_branch(args, keyword)?;
            if !args.is_empty() && !args.peek(Token![,]) {
                let help = if args.peek(kw::undo) && branch.undo.is_some() {
                    format!(
                        "a branch has one undo: keep one of the two `undo`s of `{}`",
                        branch.name
                    )
                } else if args.peek(kw::undo) {
                    format!(
                        "write `undo ..` right after the output type, before `retry(..)` and `timeout(..)`: `{}: {} undo ..`",
                        branch.name,
                        branch.output.to_token_stream()
                    )
                } else {
                    BRANCH_HELP.to_string()
                };
                return Err(Diagnostic::new(
                    args.span(),
                    format!(
                        "found {} after branch `{}` in `parallel`",
                        describe_next(args),
                        branch.name
                    ),
                )
                .expected("`undo name`, `retry(..)` or `timeout(..)` after the branch's output type, or `,` before the next branch")
                .help(help)
                .into());
            }
            branches.push(branch);
            if !args.is_empty() {
                let _: Token![,] = args.parse()?;
            }
        }
        Ok(OptionDecl::Parallel { keyword, branches })
    })
}

/// One branch of `parallel(..)`, up to the comma before the next.
fn parse_branch(args: ParseStream, keyword: Span) -> syn::Result<BranchDecl> {
    let policy_after_comma =
        (args.peek(kw::undo) || args.peek(kw::retry) || args.peek(kw::timeout))
            && !args.peek2(Token![:]);
    if policy_after_comma {
        return Err(found_in(args, keyword, "parallel")
            .expected("the name of a branch")
            .help("a branch's `undo`, `retry(..)` and `timeout(..)` follow its output type after a space, not a comma: \
                   `credit: Credit undo void_credit retry(3, 1s..10s)`")
            .into());
    }
    if !args.peek(syn::Ident) {
        return Err(found_in(args, keyword, "parallel")
            .expected("the name of a branch: the method of the `Activities` trait that runs it")
            .help(BRANCH_HELP)
            .into());
    }
    let name: Ident = args.parse()?;
    let output = parse_activity_output(args, &name, "branch", "parallel")?;
    let undo = parse_undo(
        args,
        &format!("{name}: {} undo undo_{name}", output.to_token_stream()),
    )?;
    let mut policies = Vec::new();
    loop {
        if args.peek(kw::retry) {
            policies.push(parse_retry(args)?);
        } else if args.peek(kw::timeout) {
            policies.push(parse_timeout(args)?);
        } else {
            break;
        }
    }
    Ok(BranchDecl {
        name,
        output,
        undo,
        policies,
    })
}

/// `: Output` after the name of an activity of `parallel(..)` or `each(..)`.
fn parse_activity_output(
    args: ParseStream,
    name: &Ident,
    what: &str,
    option: &str,
) -> syn::Result<Type> {
    if !args.peek(Token![:]) || args.peek(Token![::]) {
        let found = if args.peek(Token![::]) {
            "`::`".to_string()
        } else {
            describe_next(args)
        };
        return Err(Diagnostic::new(
            args.span(),
            format!("found {found} after {what} `{name}` in `{option}`"),
        )
        .expected(format!("`:` and the type {what} `{name}` returns"))
        .help(format!("write `{name}: Output`"))
        .into());
    }
    let colon: Token![:] = args.parse()?;
    let fork = args.fork();
    let output = fork
        .parse::<Type>()
        .ok()
        .inspect(|_| args.advance_to(&fork));
    output.ok_or_else(|| {
        let at = if args.is_empty() {
            colon.span
        } else {
            args.span()
        };
        syn::Error::from(
            Diagnostic::new(
                at,
                format!(
                    "found {} after `{name}:` in `{option}`",
                    describe_next(args)
                ),
            )
            .expected(format!("the type {what} `{name}` returns"))
            .help(format!("write `{name}: Output`")),
        )
    })
}

/// How `each` is written, for error messages.
const EACH_HELP: &str = "write `each(lines, 4, reserve_line: Hold undo release_line)`: for each item of the source \
                         state's `Vec` field `lines`, at most 4 at a time, activity `reserve_line` returns a `Hold`; \
                         `undo release_line` is optional";

/// `each(field, at_most, activity: Output)` with an optional `undo name`.
fn parse_each(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::each>()?.span;
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(
            keyword,
            "`each` needs its field, limit and activity in parentheses",
        )
        .expected("`each(field, at_most, activity: Output)`")
        .help(EACH_HELP)
        .into());
    }
    in_parens(input, |args| {
        let part = |args: ParseStream, what: &str| {
            syn::Error::from(
                found_in(args, keyword, "each")
                    .expected(what.to_string())
                    .help(EACH_HELP),
            )
        };
        let comma = |args: ParseStream, what: &str| {
            if args.peek(Token![,]) {
                args.parse::<Token![,]>().map(drop)
            } else {
                Err(part(args, &format!("`,` and {what}")))
            }
        };
        if !args.peek(syn::Ident) {
            return Err(part(
                args,
                "the name of a `Vec<T>` field of the source state",
            ));
        }
        let field: Ident = args.parse()?;
        comma(args, "the most items to run at a time, such as `4`")?;
        if !args.peek(LitInt) {
            return Err(part(
                args,
                "the most items to run at a time, a whole number such as `4`",
            ));
        }
        let at_most: LitInt = args.parse()?;
        comma(args, "the activity that runs once per item: `name: Output`")?;
        if !args.peek(syn::Ident) {
            return Err(part(
                args,
                "the name of the activity that runs once per item",
            ));
        }
        let activity: Ident = args.parse()?;
        let output = parse_activity_output(args, &activity, "activity", "each")?;
        let undo = parse_undo(
            args,
            &format!(
                "{activity}: {} undo undo_{activity}",
                output.to_token_stream()
            ),
        )?;
        if !args.is_empty() {
            let help = if args.peek(kw::retry) || args.peek(kw::timeout) {
                "write the policy on the transition, after `each(..)`: `, retry(3, 1s..10s)`; it applies to every item"
            } else {
                EACH_HELP
            };
            return Err(found_in(args, keyword, "each")
                .expected("nothing more: `each(field, at_most, activity: Output)` with an optional `undo name`")
                .help(help)
                .into());
        }
        Ok(OptionDecl::Each(EachDecl {
            keyword,
            field,
            at_most,
            activity,
            output,
            undo,
        }))
    })
}

/// `retry(attempts, first..longest)` with an optional `, jitter`.
fn parse_retry(input: ParseStream) -> syn::Result<OptionDecl> {
    let keyword = input.parse::<kw::retry>()?.span;
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(keyword, "`retry` needs its policy in parentheses")
            .expected("`retry(attempts, first..longest)`")
            .help("write `retry(3, 100ms..10s)`: 3 attempts, waiting 100ms, doubling, at most 10s")
            .into());
    }
    in_parens(input, |args| parse_retry_args(args, keyword))
}

/// The inside of `retry(..)`.
fn parse_retry_args(args: ParseStream, keyword: Span) -> syn::Result<OptionDecl> {
    let attempts: LitInt = parse_retry_part(args, keyword, "the number of attempts")?;
    if !args.peek(Token![,]) {
        return Err(Diagnostic::new(
            args.span(),
            "`retry` needs a backoff range after the number of attempts",
        )
        .expected("`retry(attempts, first..longest)`")
        .help(format!(
            "write `retry({}, 100ms..10s)`: wait 100ms, doubling each time, at most 10s",
            attempts.base10_digits()
        ))
        .into());
    }
    let _: Token![,] = args.parse()?;
    let min: DurationArg = parse_retry_part(args, keyword, "the first wait, such as `100ms`")?;
    if !args.peek(Token![..]) || args.peek(Token![..=]) {
        return Err(Diagnostic::new(
            args.span(),
            if args.peek(Token![..=]) {
                "found `..=` in the backoff range".to_string()
            } else {
                format!("found {} in the backoff range", describe_next(args))
            },
        )
        .expected("`..` between the first and the longest wait: the longest is always included")
        .help("write the range as `100ms..10s`")
        .into());
    }
    let _: Token![..] = args.parse()?;
    let max: DurationArg = parse_retry_part(args, keyword, "the longest wait, such as `10s`")?;
    let jitter = if args.peek(Token![,]) {
        let _: Token![,] = args.parse()?;
        if args.is_empty() {
            None
        } else {
            Some(
                args.parse::<kw::jitter>()
                    .map_err(|_| {
                        syn::Error::from(
                            Diagnostic::new(
                                args.span(),
                                format!("found {} in `retry`", describe_next(args)),
                            )
                            .expected("`jitter` or nothing after the backoff range")
                            .help("write `retry(3, 100ms..10s, jitter)` to spread the waits"),
                        )
                    })?
                    .span,
            )
        }
    } else {
        None
    };
    if !args.is_empty() {
        return Err(Diagnostic::new(
            args.span(),
            format!("found {} in `retry`", describe_next(args)),
        )
        .expected("`retry(attempts, first..longest)` with an optional `, jitter`")
        .help("remove the extra arguments")
        .into());
    }
    Ok(OptionDecl::Retry {
        keyword,
        attempts,
        min,
        max,
        jitter,
    })
}

fn parse_retry_part<T: Parse>(args: ParseStream, keyword: Span, what: &str) -> syn::Result<T> {
    // Parsed on a fork, so that the error describes the token that did not fit, not the
    // one after it.
    let fork = args.fork();
    let parsed = fork.parse::<T>().inspect(|_| args.advance_to(&fork));
    parsed.map_err(|_| {
        let at = if args.is_empty() { keyword } else { args.span() };
        syn::Error::from(
            Diagnostic::new(at, format!("found {} in `retry`", describe_next(args)))
                .expected(what.to_string())
                .help("write `retry(3, 100ms..10s)`: 3 attempts, waiting 100ms, doubling, at most 10s"),
        )
    })
}

/// Parses `(d)` after `timeout` or `after`: a literal, or a field of the source state.
fn parse_duration_arg(
    input: ParseStream,
    keyword: Span,
    option: &str,
    example: &str,
) -> syn::Result<DurationArg> {
    if !input.peek(syn::token::Paren) {
        return Err(Diagnostic::new(
            keyword,
            format!("`{option}` needs a duration in parentheses"),
        )
        .expected(format!("`{option}(duration)`"))
        .help(format!(
            "write `{option}({example})`; units are ms, s, min, h and d; or name a field of the source state"
        ))
        .into());
    }
    in_parens(input, |args| {
        if args.peek(syn::Ident) {
            let field: Ident = args.parse()?;
            if !args.is_empty() {
                return Err(Diagnostic::new(
                    args.span(),
                    format!("found {} after the field `{field}`", describe_next(args)),
                )
                .expected(format!("a single duration or field name in `{option}(..)`"))
                .help(format!("write `{option}({field})` to read the length from field `{field}` of the source state"))
                .into());
            }
            return Ok(DurationArg::Field(field));
        }
        let duration: Lit = args.parse().map_err(|_| {
            syn::Error::from(
                found_in(args, keyword, option)
                .expected("a duration such as `500ms`, `30s`, `15min`, `2h` or `7d`, or a field of the source state")
                .help(format!("write `{option}({example})`")),
            )
        })?;
        if !args.is_empty() {
            let mut diagnostic = Diagnostic::new(
                args.span(),
                format!("found {} after the duration", describe_next(args)),
            )
            .expected(format!("a single duration in `{option}(..)`"));
            if args.peek(syn::Ident) {
                diagnostic = diagnostic.help(format!(
                    "write the unit right after the number, with no space: `{}`",
                    args.fork().parse::<Ident>().map_or_else(
                        |_| example.to_string(),
                        |unit| format!("{}{unit}", duration.to_token_stream())
                    )
                ));
            }
            return Err(diagnostic.into());
        }
        Ok(DurationArg::Literal(duration))
    })
}

/// Parses the inside of a `( .. )` group with `parse`. On error the rest of the group is
/// consumed, so syn reports our error rather than "unexpected token" for the leftovers.
fn in_parens<T>(
    input: ParseStream,
    parse: impl FnOnce(ParseStream) -> syn::Result<T>,
) -> syn::Result<T> {
    let args;
    parenthesized!(args in input);
    let parsed = parse(&args);
    if parsed.is_err() {
        drain(&args);
    }
    parsed
}

/// Consumes every token left in `input`.
fn drain(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((_, next)) = rest.token_tree() {
            rest = next;
        }
        Ok(((), rest))
    });
}

/// After a syntax error, skips to the start of the next item so parsing can go on.
fn skip_to_next_item(input: ParseStream) {
    let _ = input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tree, next)) = rest.token_tree() {
            if let proc_macro2::TokenTree::Punct(punct) = &tree
                && punct.as_char() == ';'
            {
                return Ok(((), next));
            }
            rest = next;
            if at_item_start(rest) {
                break;
            }
        }
        Ok(((), rest))
    });
}

/// Whether the cursor sits where a state or transition could begin.
fn at_item_start(cursor: syn::buffer::Cursor) -> bool {
    if let Some((punct, _)) = cursor.punct() {
        return punct.as_char() == '#';
    }
    let Some((ident, next)) = cursor.ident() else {
        return false;
    };
    let name = ident.to_string();
    if matches!(name.as_str(), "initial" | "state" | "final") && next.ident().is_some() {
        return true;
    }
    match next.punct() {
        Some((colon, after)) if colon.as_char() == ':' => {
            colon.spacing() == proc_macro2::Spacing::Alone
                || after.punct().is_none_or(|(p, _)| p.as_char() != ':')
        }
        _ => false,
    }
}

/// Names the next token for an error message: "`foo`", "end of input".
pub(crate) fn describe_next(input: ParseStream) -> String {
    if input.is_empty() {
        return "the end of the input".to_string();
    }
    input.fork().parse::<proc_macro2::TokenTree>().map_or_else(
        |_| "an unexpected token".to_string(),
        |tree| match tree {
            proc_macro2::TokenTree::Group(group) => match group.delimiter() {
                proc_macro2::Delimiter::Brace => "`{ .. }`".to_string(),
                proc_macro2::Delimiter::Parenthesis => "`( .. )`".to_string(),
                proc_macro2::Delimiter::Bracket => "`[ .. ]`".to_string(),
                proc_macro2::Delimiter::None => "a group".to_string(),
            },
            other => format!("`{other}`"),
        },
    )
}
