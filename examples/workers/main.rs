//! Scenario S14 by hand: worker processes on one PostgreSQL database run orders, and you kill
//! one of them to watch the others carry on.
//!
//! ```text
//! cargo run --example workers -- worker --postgres URL --effects outside.sqlite --name w-1
//! cargo run --example workers -- orders --postgres URL --effects outside.sqlite --count 300
//! ```
//!
//! `worker` hosts the fulfilment flow of `fulfilment.rs` until it is killed, or until its
//! standard input closes (it then shuts down and hands its claims back at once). `orders`
//! starts `--count` orders from a process that runs no flow, confirms the address of each
//! paid order that should be confirmed, waits until every order has ended, and checks each
//! against a one-worker run: its end, and the effects the outside systems made for it (once
//! each, by idempotency key). `scripts/workers-demo.sh` does all of it on a throwaway cluster
//! and kills a worker in the middle.

#[allow(dead_code, reason = "the S14 test uses more of it")]
mod fulfilment;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fulfilment::{Outside, check, run_orders};

type Error = Box<dyn std::error::Error>;

/// The command line: a command, then `--flag value` pairs.
struct Args {
    command: String,
    postgres: String,
    effects: PathBuf,
    name: String,
    count: usize,
    lease: Duration,
}

fn args() -> Result<Args, String> {
    let mut raw = std::env::args().skip(1);
    let command = raw
        .next()
        .ok_or("usage: workers (worker|orders) --postgres URL ...")?;
    let mut args = Args {
        command,
        postgres: String::new(),
        effects: PathBuf::from("outside.sqlite"),
        name: "worker".into(),
        count: 300,
        lease: Duration::from_secs(5),
    };
    while let Some(flag) = raw.next() {
        let value = raw.next().ok_or(format!("`{flag}` needs a value"))?;
        match flag.as_str() {
            "--postgres" => args.postgres = value,
            "--effects" => args.effects = value.into(),
            "--name" => args.name = value,
            "--count" => args.count = value.parse().map_err(|e| format!("--count: {e}"))?,
            "--lease-ms" => {
                args.lease =
                    Duration::from_millis(value.parse().map_err(|e| format!("--lease-ms: {e}"))?);
            }
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    if args.postgres.is_empty() {
        return Err("--postgres URL is required".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let args = args()?;
    match args.command.as_str() {
        "worker" => {
            let outside = Outside::open(&args.effects, &args.name)?;
            fulfilment::work(&args.postgres, outside, &args.name, args.lease).await
        }
        "orders" => orders(&args).await,
        other => Err(format!("unknown command `{other}`: worker or orders").into()),
    }
}

async fn orders(args: &Args) -> Result<(), Error> {
    Outside::open(&args.effects, "orders")?;
    let started = Instant::now();
    let mut last = usize::MAX;
    let ended = run_orders(
        &args.postgres,
        &args.effects,
        args.count,
        Duration::from_mins(10),
        |ended, made| {
            if ended / 50 != last / 50 || last == usize::MAX {
                println!(
                    "{:>6.1}s  {ended:>5} of {} orders ended, {made} effects made",
                    started.elapsed().as_secs_f64(),
                    args.count
                );
                last = ended;
            }
        },
    )
    .await?;
    let mut by_end = std::collections::BTreeMap::new();
    for (status, state) in ended.values() {
        *by_end
            .entry((format!("{status:?}"), state.clone()))
            .or_insert(0) += 1;
    }
    println!(
        "\nall {} orders ended in {:.1}s:",
        args.count,
        started.elapsed().as_secs_f64()
    );
    for ((status, state), n) in &by_end {
        println!("  {n:>5}  {status} in {state}");
    }
    let effects = Outside::effects(&args.effects)?;
    let wrong = check(&ended, &effects, args.count);
    let repeated: u32 = effects
        .values()
        .flat_map(|steps| steps.iter())
        .map(|((step, applied), calls)| {
            calls.saturating_sub(if step == "pay" && !applied { 3 } else { 1 })
        })
        .sum();
    if wrong.is_empty() {
        println!(
            "every order ended as with one worker; each effect was made once ({repeated} calls \
             repeated after a fault were recognised by their idempotency key)"
        );
        Ok(())
    } else {
        for line in &wrong {
            println!("  wrong: {line}");
        }
        Err(format!("{} orders went wrong", wrong.len()).into())
    }
}
