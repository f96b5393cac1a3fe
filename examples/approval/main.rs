//! Scenario S4, multi-level approval with a threshold, run by the driver.
//!
//! ```text
//! cargo run --example approval
//! ```
//!
//! Two requests wait for approvers, who answer with events. 5,000.00 goes from the supervisor
//! straight to finance; 50,000.00 also needs the department manager. Sending an approval while
//! the flow waits for someone else is refused with a clear error, and changes nothing.

mod flow;

use flow::{Approvals, FinanceApproval, ManagerApproval, SupervisorApproval, approval, submitted};
use workflow_core::runtime::{Outcome, Runtime};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Runtime::<approval::Flow, _>::new(Approvals::default());

    let small = runtime
        .start_with_id("laptop", submitted("laptop", 500_000))
        .await
        .map_err(|r| r.error)?;
    let large = runtime
        .start_with_id("fleet", submitted("delivery vans", 5_000_000))
        .await
        .map_err(|r| r.error)?;

    runtime
        .send(&small, SupervisorApproval { by: "sam".into() })
        .await?;
    runtime
        .send(&small, FinanceApproval { by: "fiona".into() })
        .await?;

    runtime
        .send(&large, SupervisorApproval { by: "sam".into() })
        .await?;
    println!("fleet waits for: {}", runtime.state(&large).await?.name());
    // Finance cannot approve before the manager: refused, nothing changes.
    if let Err(refused) = runtime
        .send(&large, FinanceApproval { by: "fiona".into() })
        .await
    {
        println!("refused: {refused}");
    }
    runtime
        .send(&large, ManagerApproval { by: "maya".into() })
        .await?;
    runtime
        .send(&large, FinanceApproval { by: "fiona".into() })
        .await?;

    for id in [&small, &large] {
        if let Outcome::Completed(approval::State::Approved(approved)) = runtime.outcome(id).await?
        {
            let trail: Vec<String> = approved
                .history
                .iter()
                .map(|d| format!("{} ({})", d.by, d.role))
                .collect();
            println!("{id}: approved by {}", trail.join(", then "));
        }
    }
    Ok(())
}
