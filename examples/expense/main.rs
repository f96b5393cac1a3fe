//! Scenario S5, expense approval with a timeout, run by the driver in virtual time (tokio's
//! paused clock), so the 10-second wait and the hour-late answer take no real time.
//!
//! ```text
//! cargo run --example expense
//! ```
//!
//! Three claims: one approved in time and paid, one rejected, one that nobody answers, which
//! times out after 10 seconds. An approval that arrives an hour late finds it `TimedOut`.

mod flow;

use std::time::Duration;

use flow::{Approve, Expenses, Reject, created, expense};
use workflow_core::runtime::Runtime;

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::<expense::Flow, _>::new(Expenses::default());
    let ann = runtime
        .start_with_id("ann", created("ann", 12_000))
        .await
        .map_err(|r| r.error)?;
    let bob = runtime
        .start_with_id("bob", created("bob", 99_000))
        .await
        .map_err(|r| r.error)?;
    let cat = runtime
        .start_with_id("cat", created("cat", 4_500))
        .await
        .map_err(|r| r.error)?;

    tokio::time::sleep(Duration::from_secs(3)).await;
    runtime.send(&ann, Approve { by: "dana".into() }).await?;
    runtime
        .send(
            &bob,
            Reject {
                by: "dana".into(),
                reason: "no receipt".into(),
            },
        )
        .await?;

    for id in [&ann, &bob, &cat] {
        println!("{id}: {}", runtime.outcome(id).await?.state().name());
    }

    tokio::time::sleep(Duration::from_hours(1)).await;
    match runtime.send(&cat, Approve { by: "dana".into() }).await {
        Ok(_) => println!("cat's late approval was accepted?!"),
        Err(refused) => println!("an hour late: {refused}"),
    }
    Ok(())
}
