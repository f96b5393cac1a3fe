//! The category laws of steps, as properties of observable behaviour: the output (or the
//! failure, with its report) and the ordered log of effects, forward and undo.
//!
//! - identity: `identity().then(f)` and `f.then(identity())` behave as `f`;
//! - associativity: `(f.then(g)).then(h)` behaves as `f.then(g.then(h))`;
//! - compensation of `then`: when step k of a chain fails, steps k-1..1 are undone, newest
//!   first, each once, and an undo that fails skips the older ones;
//! - compensation of `par`: when one side fails, the other side's completed work is undone.

use std::sync::Mutex;

use proptest::prelude::*;
use workflow_core::combinators::identity;
use workflow_core::{Aborted, Arrow, Report, Step, StepExt};

/// The context: the log every step writes to.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A step that adds `add` to its input, logging `do name`, and undoes by logging `undo name`.
/// It fails forward when `fails`, and fails its undo when `undo_fails`.
#[derive(Debug, Clone, Copy)]
struct Op {
    name: &'static str,
    add: u64,
    fails: bool,
    undo_fails: bool,
}

impl Arrow for Op {
    type In = u64;
    type Out = u64;
}

impl Step<Log> for Op {
    type Error = String;
    type Memo = u64;

    async fn run(&self, log: &Log, input: u64) -> Result<(u64, u64), Aborted<u64, String>> {
        log.push(format!("do {}", self.name));
        if self.fails {
            return Err(Aborted::new(
                self.name,
                format!("{} failed", self.name),
                Some(input),
            ));
        }
        Ok((input + self.add, input))
    }

    async fn undo(&self, log: &Log, _: u64, memo: u64, report: &mut Report<String>) -> Option<u64> {
        log.push(format!("undo {}", self.name));
        if self.undo_fails {
            report.undo_failed(self.name, format!("undo {} failed", self.name));
            return None;
        }
        report.undone(self.name);
        Some(memo)
    }

    fn skip(&self, _: u64, report: &mut Report<String>) {
        report.skipped(self.name);
    }
}

/// Everything a caller can observe of running a step on `input` and, if it succeeded,
/// undoing it.
#[derive(Debug, PartialEq)]
struct Observed {
    result: Result<u64, Aborted<u64, String>>,
    undo: Option<(Option<u64>, Report<String>)>,
    log: Vec<String>,
}

fn observe<S: Step<Log, In = u64, Out = u64, Error = String>>(step: &S, input: u64) -> Observed {
    futures::executor::block_on(async {
        let log = Log::default();
        let (result, undo) = match step.run(&log, input).await {
            Ok((out, memo)) => {
                let mut report = Report::new();
                let back = step.undo(&log, out, memo, &mut report).await;
                (Ok(out), Some((back, report)))
            }
            Err(aborted) => (Err(aborted), None),
        };
        Observed {
            result,
            undo,
            log: log.lines(),
        }
    })
}

const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

fn op() -> impl Strategy<Value = Op> {
    (
        0..NAMES.len(),
        0..100u64,
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(name, add, fails, undo_fails)| Op {
            name: NAMES[name],
            add,
            fails,
            undo_fails,
        })
}

proptest! {
    #[test]
    fn left_identity(f in op(), input in 0..1000u64) {
        prop_assert_eq!(observe(&identity().then(f), input), observe(&f, input));
    }

    #[test]
    fn right_identity(f in op(), input in 0..1000u64) {
        prop_assert_eq!(observe(&f.then(identity()), input), observe(&f, input));
    }

    #[test]
    fn then_is_associative(f in op(), g in op(), h in op(), input in 0..1000u64) {
        prop_assert_eq!(observe(&f.then(g).then(h), input), observe(&f.then(g.then(h)), input));
    }

    #[test]
    fn a_failing_step_undoes_the_earlier_ones_newest_first(
        ops in prop::array::uniform5(op()),
        fail_at in 0..6usize,
        input in 0..1000u64,
    ) {
        // Five steps, `fail_at` failing (5: none fails, and the whole chain is undone).
        let mut ops = ops;
        for (i, op) in ops.iter_mut().enumerate() {
            op.name = NAMES[i];
            op.fails = i == fail_at;
        }
        let chain = ops[0].then(ops[1]).then(ops[2]).then(ops[3]).then(ops[4]);
        let observed = observe(&chain, input);
        let ran = fail_at.min(5);
        let mut log: Vec<String> = ops[..(fail_at + 1).min(5)].iter().map(|op| format!("do {}", op.name)).collect();
        let mut report = Report::new();
        let mut undo_failed = false;
        for op in ops[..ran].iter().rev() {
            if undo_failed {
                report.skipped(op.name);
                continue;
            }
            log.push(format!("undo {}", op.name));
            if op.undo_fails {
                report.undo_failed(op.name, format!("undo {} failed", op.name));
                undo_failed = true;
            } else {
                report.undone(op.name);
            }
        }
        let back = (!undo_failed).then_some(input);
        if fail_at < 5 {
            let failed = ops[fail_at].name;
            let aborted = Aborted { step: failed, error: format!("{failed} failed"), input: back, report };
            prop_assert_eq!(observed.result, Err(aborted));
        } else {
            prop_assert_eq!(observed.result, Ok(input + ops.iter().map(|op| op.add).sum::<u64>()));
            prop_assert_eq!(observed.undo, Some((back, report)));
        }
        prop_assert_eq!(observed.log, log);
    }

    #[test]
    fn when_one_side_of_par_fails_the_other_is_undone(left in op(), right in op(), a in 0..1000u64, b in 0..1000u64) {
        let (mut left, mut right) = (left, right);
        left.name = "left";
        right.name = "right";
        let observed = futures::executor::block_on(async {
            let log = Log::default();
            let result = left.par(right).run(&log, (a, b)).await;
            (result, log.lines())
        });
        let (result, log) = observed;
        match (left.fails, right.fails) {
            (false, false) => prop_assert_eq!(result.map(|(out, _)| out).ok(), Some((a + left.add, b + right.add))),
            (true, true) => {
                let aborted = result.unwrap_err();
                prop_assert_eq!(aborted.step, "left");
                prop_assert_eq!(aborted.input, Some((a, b)));
                prop_assert!(!log.iter().any(|line| line.starts_with("undo")));
            }
            (left_fails, _) => {
                let (failed, other) = if left_fails { (left, right) } else { (right, left) };
                let aborted = result.unwrap_err();
                prop_assert_eq!(aborted.step, failed.name);
                let undo = format!("undo {}", other.name);
                prop_assert_eq!(log.iter().filter(|line| **line == undo).count(), 1, "the other side is undone once");
                prop_assert_eq!(aborted.input.is_some(), !other.undo_fails);
            }
        }
    }
}
