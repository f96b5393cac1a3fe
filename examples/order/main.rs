//! Scenario S1, order fulfilment, run by the async driver.
//!
//! ```text
//! cargo run --example order
//! RUST_LOG=debug cargo run --example order     # more detail
//!
//! cargo run --example order -- --db order.sqlite                  # durable, in a SQLite file
//! cargo run --example order -- --db order.sqlite --crash-in pay   # dies in the middle of a payment
//! cargo run --example order -- --db order.sqlite                  # ...and resumes it
//! cargo run --example order -- --postgres "host=/run/postgresql user=postgres dbname=shop"
//! ```
//!
//! Three orders go through the flow in `shop.rs` (check inventory, pay, reserve stock, create
//! the shipping note) with an in-memory fake shop; the driver's `tracing` output shows each
//! step, attempt and undo:
//!
//! - **in stock, paid**: ends `Shipped`; nothing is undone.
//! - **out of stock** (product `out_of_stock`): ends `Cancelled` at once; nothing is paid,
//!   nothing is undone.
//! - **payment fails** (amount above 1000.00): `pay` is tried three times, as its policy says;
//!   then the stock hold is released, once, and the order ends **Failed**.
//!
//! Why Failed and not Cancelled: a declined payment is an error of the `pay` step, not a
//! decision of the flow. `Cancelled` is a state the flow chooses to land in (the warehouse has
//! no stock); a step that fails after its retries leaves the instance where it was, and the
//! driver unwinds what was done before it. The outcome names the failed step, carries its
//! error and lists every undo, so the caller can tell the customer why.
//!
//! With `--postgres URL` they live in a PostgreSQL database instead (a `postgres://` URL or
//! libpq's `key=value` pairs), where any number of processes can run them: see the `workers`
//! example and `scripts/workers-demo.sh` for several at once.
//!
//! With `--db FILE` the orders live in a SQLite file: run again, the example resumes what
//! the last run left unfinished, and shows the orders that already ended as they were stored.
//! `--crash-in STEP` makes the process die (abort) in the middle of the first call to `STEP`,
//! after the payment provider charged and before the flow heard of it; the next run resumes
//! that order from its last record and calls `pay` again with the same idempotency key, which
//! the provider uses to recognise the charge it already made.

mod shop;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use shop::{Shop, order, request};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use workflow_core::InstanceId;
use workflow_core::runtime::{Outcome, Runtime, RuntimeError};
use workflow_core::store::{PostgresStore, SqliteStore, Store};
use workflow_core::testing::CallLog;

/// Logs each event with the step and attempt it happened in. Every span also carries the flow,
/// instance and state (for log aggregation); the headings below already say those.
fn init_logging() {
    let fields =
        tracing_subscriber::fmt::format::debug_fn(|writer, field, value| match field.name() {
            "flow" | "instance" | "state" => Ok(()),
            "message" => write!(writer, "{value:?}"),
            name => write!(writer, "{name}={value:?}"),
        })
        .delimited(" ");
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .without_time()
        .fmt_fields(fields)
        .compact()
        .init();
}

/// `--db FILE`, `--postgres URL` and `--crash-in STEP`.
struct Options {
    db: Option<PathBuf>,
    postgres: Option<String>,
    crash_in: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        db: None,
        postgres: None,
        crash_in: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("`{arg}` needs a value"));
        match arg.as_str() {
            "--db" => options.db = Some(PathBuf::from(value()?)),
            "--postgres" => options.postgres = Some(value()?),
            "--crash-in" => options.crash_in = Some(value()?),
            other => {
                return Err(format!(
                    "unknown argument `{other}`; expected `--db FILE`, `--postgres URL` or \
                     `--crash-in STEP`"
                ));
            }
        }
    }
    Ok(options)
}

fn print_outcome(finished: &Outcome<order::State>) {
    match finished {
        Outcome::Completed(order::State::Shipped(shipped)) => {
            println!("=> Shipped, tracking {}", shipped.tracking);
        }
        Outcome::Completed(order::State::Cancelled(cancelled)) => {
            println!("=> Cancelled: {}", cancelled.reason);
        }
        Outcome::Completed(other) => println!("=> ended in {}", other.name()),
        Outcome::Failed {
            failure, report, ..
        } => println!(
            "=> Failed at `{}` (attempt {}, {}): {}; compensation: {report}",
            failure.step(),
            failure.attempt(),
            failure.kind(),
            failure.message()
        ),
        Outcome::Cancelled { report, .. } => {
            println!("=> Cancelled by request; compensation: {report}");
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    init_logging();
    let mut shop = Shop::new(CallLog::new());
    if let Some(step) = &options.crash_in {
        shop = shop.crash_in(step);
    }
    let store: Option<(Arc<dyn Store>, String)> = match (&options.db, &options.postgres) {
        (Some(_), Some(_)) => return Err("`--db` or `--postgres`, not both".into()),
        (Some(path), None) => Some((
            Arc::new(SqliteStore::open(path)?),
            path.display().to_string(),
        )),
        (None, Some(url)) => Some((
            Arc::new(PostgresStore::connect(url).await?),
            "the PostgreSQL database".to_string(),
        )),
        (None, None) => None,
    };
    let runtime = match store {
        None => Runtime::<order::Flow, _>::new(shop),
        Some((store, place)) => {
            let runtime = Runtime::<order::Flow, _>::with_store(shop, store);
            let resumed = runtime.resume().await?;
            if !resumed.instances.is_empty() {
                println!(
                    "\n== resuming {} unfinished order(s) from {place}",
                    resumed.instances.len(),
                );
            }
            for refused in &resumed.refused {
                println!("== not resumed: {refused}");
            }
            for id in resumed.instances {
                println!("\n== {id} (resumed)");
                print_outcome(&runtime.outcome(&id).await?);
            }
            runtime
        }
    };
    let orders = [
        (
            "order-1",
            "in stock, paid",
            request("order-1", "espresso-machine", 1, 49_900),
        ),
        (
            "order-2",
            "out of stock",
            request("order-2", "out_of_stock", 2, 1_990),
        ),
        (
            "order-3",
            "payment fails",
            request("order-3", "grand-piano", 1, 1_250_000),
        ),
    ];
    for (id, case, placed) in orders {
        println!(
            "\n== {id} ({case}): {} x {}, {}",
            placed.order.quantity, placed.order.product, placed.order.amount
        );
        let id = match runtime.start_with_id(id, placed).await {
            Ok(id) => id,
            Err(rejected) if matches!(rejected.error, RuntimeError::Duplicate(_)) => {
                println!("(already in the store, from an earlier run)");
                InstanceId::new(id)
            }
            Err(rejected) => return Err(rejected.error.into()),
        };
        print_outcome(&runtime.outcome(&id).await?);
    }
    println!(
        "\nThe shop was called {} times.",
        runtime.activities().log().calls().len()
    );
    println!(
        "\nThe flow as a diagram (paste into any Mermaid renderer):\n\n{}",
        order::MERMAID
    );
    Ok(())
}
