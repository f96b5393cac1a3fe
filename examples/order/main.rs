//! Scenario S1, order fulfilment, run by the async driver.
//!
//! ```text
//! cargo run --example order
//! RUST_LOG=debug cargo run --example order     # more detail
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

mod shop;

use std::io::IsTerminal;

use shop::{Shop, order, request};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::MakeExt;
use workflow_core::runtime::{Finished, Runtime};
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

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    init_logging();
    let runtime = Runtime::<order::Flow, _>::new(Shop::new(CallLog::new()));
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
        let id = runtime
            .start_with_id(id, placed)
            .await
            .map_err(|rejected| rejected.error)?;
        match runtime.outcome(&id).await? {
            Finished::Completed(order::State::Shipped(shipped)) => {
                println!("=> Shipped, tracking {}", shipped.tracking);
            }
            Finished::Completed(order::State::Cancelled(cancelled)) => {
                println!("=> Cancelled: {}", cancelled.reason);
            }
            Finished::Completed(other) => println!("=> ended in {}", other.name()),
            Finished::Failed {
                step,
                error,
                report,
                ..
            } => println!("=> Failed at `{step}`: {error}; compensation: {report}"),
            Finished::Cancelled { report, .. } => {
                println!("=> Cancelled by request; compensation: {report}");
            }
        }
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
