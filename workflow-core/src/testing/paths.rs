//! Paths through a flow, generated from its [`Definition`]: a set that takes every move at
//! least once ([`paths`]), every path up to a loop bound ([`paths_up_to`]), and what each
//! must end in and undo.
//!
//! A move is one thing that can happen in a state: a transition lands in one of its targets
//! (automatically, on an event, after a timer, or by a guard), fails for good (caught, or
//! failing the instance after its compensation), or a cancel arrives.
//! [`PathRunner`](crate::testing::PathRunner) runs paths against fake activities.

use core::fmt;
use std::collections::{HashSet, VecDeque};

use crate::definition::{Definition, Parts, Trigger};

/// One thing that happens to an instance in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Move {
    /// Transition `transition` leaves state `from` and lands in state `to`.
    Lands {
        /// The state it leaves (an index into [`Definition::states`]).
        from: usize,
        /// The transition (an index into [`Definition::transitions`]).
        transition: usize,
        /// The state it lands in.
        to: usize,
    },
    /// Transition `transition` fails for good in state `from`: it is caught into `caught`, or,
    /// with no `catch`, the compensation chain unwinds and the instance ends failed.
    Fails {
        /// The state it fails in.
        from: usize,
        /// The transition.
        transition: usize,
        /// Where its `catch` lands, if it has one.
        caught: Option<usize>,
    },
    /// A cancel arrives in state `from`: the chain unwinds and the instance ends cancelled.
    Cancelled {
        /// The state it is cancelled in.
        from: usize,
    },
}

impl Move {
    /// The state the move happens in.
    #[must_use]
    pub const fn from(self) -> usize {
        match self {
            Self::Lands { from, .. } | Self::Fails { from, .. } | Self::Cancelled { from } => from,
        }
    }

    /// The state the instance is in after the move, if it goes on (or ends completed).
    #[must_use]
    pub const fn to(self) -> Option<usize> {
        match self {
            Self::Lands { to, .. } => Some(to),
            Self::Fails { caught, .. } => caught,
            Self::Cancelled { .. } => None,
        }
    }

    /// The transition the move takes, if it takes one.
    #[must_use]
    pub const fn transition(self) -> Option<usize> {
        match self {
            Self::Lands { transition, .. } | Self::Fails { transition, .. } => Some(transition),
            Self::Cancelled { .. } => None,
        }
    }
}

/// How a path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// In final state `state`.
    Completed {
        /// The final state.
        state: &'static str,
    },
    /// Failed in `state`, by transition `step` failing for good.
    Failed {
        /// The state it failed in.
        state: &'static str,
        /// The transition that failed.
        step: &'static str,
    },
    /// Cancelled in `state`.
    Cancelled {
        /// The state it was cancelled in.
        state: &'static str,
    },
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Completed { state } => write!(f, "completed in {state}"),
            Self::Failed { state, step } => write!(f, "failed in {state} ({step} failed)"),
            Self::Cancelled { state } => write!(f, "cancelled in {state}"),
        }
    }
}

/// An undo a path expects to run, in the order they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpectedUndo {
    /// The undo of this name, once.
    One(&'static str),
    /// The undos of a transition made of parts: any number of calls to these undos (one per
    /// completed part, so it depends on the data: the items of an `each`).
    Parts(Vec<&'static str>),
}

/// A path from the initial state to an end: the moves in order.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::testing::{End, paths};
///
/// workflow! {
///     Door {
///         initial Closed {}
///         final   Open {}
///         open: Closed -> Open;
///     }
/// }
///
/// let paths = paths(&door::DEFINITION);
/// let names: Vec<String> = paths.iter().map(ToString::to_string).collect();
/// assert_eq!(
///     names,
///     [
///         "Closed -open-> Open: completed in Open",
///         "Closed -open fails-> failed in Closed (open failed)",
///     ]
/// );
/// assert_eq!(paths[0].end(), End::Completed { state: "Open" });
/// ```
#[derive(Clone)]
pub struct Path {
    def: &'static Definition,
    moves: Vec<Move>,
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({self})")
    }
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        core::ptr::eq(self.def, other.def) && self.moves == other.moves
    }
}

impl Eq for Path {}

impl core::hash::Hash for Path {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.moves.hash(state);
    }
}

impl Path {
    /// The path made of `moves` through `def`'s flow.
    #[must_use]
    pub const fn new(def: &'static Definition, moves: Vec<Move>) -> Self {
        Self { def, moves }
    }

    /// The flow's definition.
    #[must_use]
    pub const fn definition(&self) -> &'static Definition {
        self.def
    }

    /// The moves, in order.
    #[must_use]
    pub fn moves(&self) -> &[Move] {
        &self.moves
    }

    /// Whether transition `transition` lands in state `state` somewhere on the path: what a
    /// test's start data reads to steer a transition with several targets.
    #[must_use]
    pub fn takes(&self, transition: &str, state: &str) -> bool {
        self.moves.iter().any(|m| match *m {
            Move::Lands {
                transition: t, to, ..
            } => {
                self.def.transitions()[t].name() == transition
                    && self.def.states()[to].name() == state
            }
            _ => false,
        })
    }

    /// Whether transition `transition` fails for good somewhere on the path.
    #[must_use]
    pub fn fails(&self, transition: &str) -> bool {
        self.moves.iter().any(|m| match *m {
            Move::Fails { transition: t, .. } => self.def.transitions()[t].name() == transition,
            _ => false,
        })
    }

    /// Whether the instance is ever in state `state` on the path.
    #[must_use]
    pub fn visits(&self, state: &str) -> bool {
        let initial = self.def.initial().name() == state;
        initial
            || self
                .moves
                .iter()
                .filter_map(|m| m.to())
                .any(|to| self.def.states()[to].name() == state)
    }

    /// How the path ends.
    ///
    /// # Panics
    ///
    /// For an empty path (none is generated).
    #[must_use]
    pub fn end(&self) -> End {
        let states = self.def.states();
        let last = *self.moves.last().expect("a path has at least one move");
        match last {
            Move::Lands { to, .. }
            | Move::Fails {
                caught: Some(to), ..
            } => End::Completed {
                state: states[to].name(),
            },
            Move::Fails {
                from,
                transition,
                caught: None,
            } => End::Failed {
                state: states[from].name(),
                step: self.def.transitions()[transition].name(),
            },
            Move::Cancelled { from } => End::Cancelled {
                state: states[from].name(),
            },
        }
    }

    /// The undos the path runs, in order: the compensation chain built by its landings,
    /// unwound newest first by a failure, a cancel, a compensating transition or a
    /// compensating catch.
    #[must_use]
    pub fn expected_undos(&self) -> Vec<ExpectedUndo> {
        let def = self.def;
        let mut chain: Vec<ExpectedUndo> = Vec::new();
        let mut undone = Vec::new();
        let mut unwind = |chain: &mut Vec<ExpectedUndo>| undone.extend(chain.drain(..).rev());
        for &m in &self.moves {
            match m {
                Move::Lands { transition, to, .. } => {
                    let t = &def.transitions()[transition];
                    if t.compensate() {
                        unwind(&mut chain);
                    }
                    if let Some(parts) = t.parts() {
                        let names = part_undos(def, parts);
                        if !names.is_empty() {
                            chain.push(ExpectedUndo::Parts(names));
                        }
                    } else if let Some(undo) = def.undo_for(transition, to) {
                        chain.push(ExpectedUndo::One(def.undos()[undo].name()));
                    }
                }
                Move::Fails {
                    transition, caught, ..
                } => match caught {
                    Some(_) => {
                        let catch = def.catch(transition);
                        if catch.is_some_and(|c| c.compensate()) {
                            unwind(&mut chain);
                        }
                    }
                    None => unwind(&mut chain),
                },
                Move::Cancelled { .. } => unwind(&mut chain),
            }
        }
        undone
    }

    /// The landings the path makes, as `transition -> state` (`pay fails -> Review` for a
    /// caught failure): what the instance's history must show.
    #[must_use]
    pub fn landings(&self) -> Vec<String> {
        let def = self.def;
        self.moves
            .iter()
            .filter_map(|m| match *m {
                Move::Lands { transition, to, .. } => Some(format!(
                    "{} -> {}",
                    def.transitions()[transition].name(),
                    def.states()[to].name()
                )),
                Move::Fails {
                    transition,
                    caught: Some(to),
                    ..
                } => Some(format!(
                    "{} fails -> {}",
                    def.transitions()[transition].name(),
                    def.states()[to].name()
                )),
                _ => None,
            })
            .collect()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let def = self.def;
        f.write_str(def.initial().name())?;
        for m in &self.moves {
            match *m {
                Move::Lands { transition, to, .. } => write!(
                    f,
                    " -{}-> {}",
                    def.transitions()[transition].name(),
                    def.states()[to].name()
                )?,
                Move::Fails {
                    transition,
                    caught: Some(to),
                    ..
                } => write!(
                    f,
                    " -{} fails-> {}",
                    def.transitions()[transition].name(),
                    def.states()[to].name()
                )?,
                Move::Fails { transition, .. } => {
                    write!(f, " -{} fails->", def.transitions()[transition].name())?;
                }
                Move::Cancelled { .. } => f.write_str(" -cancel->")?,
            }
        }
        let end = self.end();
        match end {
            End::Completed { .. } => write!(f, ": {end}"),
            _ => write!(f, " {end}"),
        }
    }
}

/// The undos of a transition's parts, by name, each once.
fn part_undos(def: &'static Definition, parts: Parts) -> Vec<&'static str> {
    let count = match parts {
        Parts::Branches(branches) => branches.len(),
        Parts::Each(_) => 1,
    };
    let mut names: Vec<&'static str> = (0..count)
        .filter_map(|part| parts.undo(part))
        .map(|undo| def.undos()[undo].name())
        .collect();
    names.dedup();
    names
}

/// The moves that can happen in state `state`: each transition from it landing in each of its
/// targets, each failing for good (a transition with an activity: not a guard, not a child
/// flow), and a cancel (in any state that is not final).
#[must_use]
pub fn moves_from(def: &'static Definition, state: usize) -> Vec<Move> {
    let mut moves = Vec::new();
    if def.states()[state].is_final() {
        return moves;
    }
    for (index, t) in def.transitions().iter().enumerate() {
        if !t.sources().contains(&state) {
            continue;
        }
        for target in t.targets() {
            moves.push(Move::Lands {
                from: state,
                transition: index,
                to: target.state(),
            });
        }
        if !t.is_guarded() && t.child().is_none() {
            moves.push(Move::Fails {
                from: state,
                transition: index,
                caught: t.catch().map(|c| c.state()),
            });
        }
    }
    moves.push(Move::Cancelled { from: state });
    moves
}

/// Whether the instance rests in `state` (it waits there for an event or a timer) rather
/// than leaving it at once by an automatic transition.
pub(crate) fn rests_in(def: &'static Definition, state: usize) -> bool {
    def.automatic(state).is_none()
}

/// Whether a cancel in `state`, reached by `prefix`, can be delivered there: the instance
/// rests there, or the move into it calls an activity (the cancel is posted while that
/// activity runs, and read as it lands). An initial state left at once by an automatic
/// transition cannot be cancelled in: the first step has started when the instance exists.
fn cancel_reachable(def: &'static Definition, state: usize, prefix: &[Move]) -> bool {
    if rests_in(def, state) {
        return true;
    }
    match prefix.last() {
        None => false,
        Some(m) => m.transition().is_some_and(|t| {
            let t = &def.transitions()[t];
            !t.is_guarded() && t.child().is_none() && matches!(m, Move::Lands { .. })
        }),
    }
}

/// The shortest way from the initial state to every state, over moves that go on.
fn shortest_prefixes(def: &'static Definition) -> Vec<Option<Vec<Move>>> {
    let initial = initial_of(def);
    let mut prefixes: Vec<Option<Vec<Move>>> = vec![None; def.states().len()];
    prefixes[initial] = Some(Vec::new());
    let mut queue = VecDeque::from([initial]);
    while let Some(state) = queue.pop_front() {
        let prefix = prefixes[state].clone().unwrap_or_default();
        for m in moves_from(def, state) {
            if let Some(to) = m.to()
                && prefixes[to].is_none()
            {
                let mut longer = prefix.clone();
                longer.push(m);
                prefixes[to] = Some(longer);
                queue.push_back(to);
            }
        }
    }
    prefixes
}

/// The shortest way from every state to a final state, over landings (no failures).
fn shortest_endings(def: &'static Definition) -> Vec<Option<Vec<Move>>> {
    let count = def.states().len();
    let moves: Vec<Vec<Move>> = (0..count).map(|state| moves_from(def, state)).collect();
    let mut endings: Vec<Option<Vec<Move>>> = vec![None; count];
    let mut queue = VecDeque::new();
    for (index, state) in def.states().iter().enumerate() {
        if state.is_final() {
            endings[index] = Some(Vec::new());
            queue.push_back(index);
        }
    }
    while let Some(reached) = queue.pop_front() {
        let rest = endings[reached].clone().unwrap_or_default();
        for from in 0..count {
            if endings.get(from).is_some_and(Option::is_some) {
                continue;
            }
            let into = moves[from]
                .iter()
                .copied()
                .find(|m| matches!(m, Move::Lands { to, .. } if *to == reached));
            if let Some(m) = into {
                let mut longer = vec![m];
                longer.extend(rest.iter().copied());
                endings[from] = Some(longer);
                queue.push_back(from);
            }
        }
    }
    endings
}

/// A set of paths that makes every move of the flow at least once: every landing of every
/// transition, every failure for good with its compensation or its catch, every timer and
/// every event, and a cancel in each state where one can be delivered (not an initial state
/// the first step leaves at once). Each path is the
/// shortest way to a move not yet covered, then the shortest way from there to a final state
/// (a path that ends by failing or being cancelled ends there).
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::testing::paths;
///
/// workflow! {
///     Door {
///         initial Closed {}
///         state   Open {}
///         final   Shut {}
///         open: Closed -> Open undo close;
///         shut: Open -> Shut;
///     }
/// }
///
/// let names: Vec<String> = paths(&door::DEFINITION).iter().map(ToString::to_string).collect();
/// assert_eq!(
///     names,
///     [
///         "Closed -open-> Open -shut-> Shut: completed in Shut",
///         "Closed -open fails-> failed in Closed (open failed)",
///         "Closed -open-> Open -shut fails-> failed in Open (shut failed)",
///         "Closed -open-> Open -cancel-> cancelled in Open",
///     ]
/// );
/// ```
#[must_use]
pub fn paths(def: &'static Definition) -> Vec<Path> {
    let prefixes = shortest_prefixes(def);
    let endings = shortest_endings(def);
    let mut covered: HashSet<Move> = HashSet::new();
    let mut paths = Vec::new();
    for (state, prefix) in prefixes.iter().enumerate() {
        let Some(prefix) = prefix else { continue };
        for m in moves_from(def, state) {
            if covered.contains(&m) {
                continue;
            }
            if matches!(m, Move::Cancelled { .. }) && !cancel_reachable(def, state, prefix) {
                continue;
            }
            let mut moves = prefix.clone();
            moves.push(m);
            match m.to().map(|to| endings[to].as_ref()) {
                Some(Some(rest)) => moves.extend(rest.iter().copied()),
                // A state with no way to a final one: the path ends with a cancel there.
                Some(None) => moves.push(Move::Cancelled {
                    from: m.to().unwrap_or(state),
                }),
                None => {}
            }
            covered.extend(moves.iter().copied());
            paths.push(Path::new(def, moves));
        }
    }
    paths
}

/// Every path from the initial state to an end in which no state is entered more than
/// `loops` times after the first (so `0` gives the simple paths), at most `limit` of them, in
/// depth-first order.
///
/// ```
/// use workflow_core::prelude::*;
/// use workflow_core::testing::paths_up_to;
///
/// workflow! {
///     Door {
///         initial Closed {}
///         state   Open {}
///         final   Shut {}
///         open: Closed -> Open undo close;
///         shut: Open -> Shut;
///     }
/// }
///
/// // `open` fails, or lands; then `shut` lands or fails, or a cancel comes.
/// assert_eq!(paths_up_to(&door::DEFINITION, 0, 100).len(), 4);
/// ```
#[must_use]
pub fn paths_up_to(def: &'static Definition, loops: usize, limit: usize) -> Vec<Path> {
    let initial = initial_of(def);
    let mut entered = vec![0usize; def.states().len()];
    entered[initial] = 1;
    let mut paths = Vec::new();
    let mut moves = Vec::new();
    walk_all(
        def,
        initial,
        loops,
        limit,
        &mut entered,
        &mut moves,
        &mut paths,
    );
    paths
}

fn walk_all(
    def: &'static Definition,
    state: usize,
    loops: usize,
    limit: usize,
    entered: &mut [usize],
    moves: &mut Vec<Move>,
    paths: &mut Vec<Path>,
) {
    for m in moves_from(def, state) {
        if paths.len() >= limit {
            return;
        }
        if matches!(m, Move::Cancelled { .. }) && !cancel_reachable(def, state, moves) {
            continue;
        }
        moves.push(m);
        match m.to() {
            Some(to) if def.states()[to].is_final() => paths.push(Path::new(def, moves.clone())),
            Some(to) => {
                if entered[to] <= loops {
                    entered[to] += 1;
                    walk_all(def, to, loops, limit, entered, moves, paths);
                    entered[to] -= 1;
                }
            }
            None => paths.push(Path::new(def, moves.clone())),
        }
        moves.pop();
    }
}

/// A walk through the flow chosen by `choices`: in each state, the move `choice % count` of
/// those that can happen there, for at most `length` moves, then the shortest way to a final
/// state. What `walks` (feature `proptest`) draws from.
#[must_use]
pub fn walk(def: &'static Definition, choices: &[u32], length: usize) -> Path {
    let endings = shortest_endings(def);
    let mut state = initial_of(def);
    let mut moves = Vec::new();
    for &choice in choices.iter().take(length) {
        let possible: Vec<Move> = moves_from(def, state)
            .into_iter()
            .filter(|m| {
                !matches!(m, Move::Cancelled { .. }) || cancel_reachable(def, state, &moves)
            })
            .collect();
        if possible.is_empty() {
            break;
        }
        let m = possible[choice as usize % possible.len()];
        moves.push(m);
        match m.to() {
            Some(to) if !def.states()[to].is_final() => state = to,
            _ => return Path::new(def, moves),
        }
    }
    match &endings[state] {
        Some(rest) if !def.states()[state].is_final() => moves.extend(rest.iter().copied()),
        Some(_) => {}
        None => moves.push(Move::Cancelled { from: state }),
    }
    Path::new(def, moves)
}

/// A [proptest](https://docs.rs/proptest) strategy for random walks through a flow: at most
/// `length` moves chosen at random (landings, failures, events, timers and cancels
/// interleaved as the flow allows), then the shortest way to a final state. Shrinking makes
/// the walk shorter and its choices smaller (earlier moves in declaration order). Run each
/// walk with [`PathRunner::run`](crate::testing::PathRunner::run), which checks the driver's
/// rules on it: the landings, the end and the undos, newest first. With the `proptest`
/// feature.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use workflow_core::prelude::*;
/// use workflow_core::testing::walks;
///
/// workflow! {
///     Door {
///         initial Closed {}
///         state   Open {}
///         final   Shut {}
///         open: Closed -> Open undo close;
///         shut: Open -> Shut;
///     }
/// }
///
/// let mut runner = TestRunner::deterministic();
/// let walk = walks(&door::DEFINITION, 4).new_tree(&mut runner).unwrap().current();
/// assert!(!walk.moves().is_empty());
/// ```
#[cfg(feature = "proptest")]
#[cfg_attr(docsrs, doc(cfg(feature = "proptest")))]
pub fn walks(
    def: &'static Definition,
    length: usize,
) -> impl proptest::strategy::Strategy<Value = Path> {
    use proptest::strategy::Strategy as _;
    proptest::collection::vec(proptest::num::u32::ANY, 0..=length)
        .prop_map(move |choices| walk(def, &choices, length))
}

/// The index of the initial state.
fn initial_of(def: &'static Definition) -> usize {
    def.state_index(def.initial().name()).unwrap_or(0)
}

/// Whether transition `transition` waits for an event, and which.
pub(crate) fn event_of(def: &'static Definition, transition: usize) -> Option<usize> {
    match def.transitions()[transition].trigger() {
        Trigger::On { event } => Some(event),
        _ => None,
    }
}

/// The activities a transition's attempt calls: its own, or its parts'.
pub(crate) fn activities_of(def: &'static Definition, transition: usize) -> Vec<&'static str> {
    let t = &def.transitions()[transition];
    match t.parts() {
        Some(Parts::Branches(branches)) => branches
            .iter()
            .map(crate::definition::BranchDef::name)
            .collect(),
        Some(Parts::Each(each)) => vec![each.activity()],
        None => vec![t.name()],
    }
}
