//! Throughput: 100,000 instances of scenario S1 (order fulfilment, 4 steps each) started at
//! once on a multi-thread runtime, in memory, with activities that do nothing: how many
//! instances and steps the driver completes per second.
//!
//! ```text
//! cargo run --release --example load [instances]
//! ```

#[path = "order/shop.rs"]
#[allow(dead_code, reason = "the load uses the flow, not the narrating shop")]
mod shop;

use std::convert::Infallible;
use std::time::Instant;

use shop::{order, request};
use workflow_core::StepCtx;
use workflow_core::runtime::{Outcome, Runtime};

/// S1's activities, doing nothing: what is measured is the driver.
struct Lean;

impl order::Activities for Lean {
    type Error = Infallible;

    async fn check_inventory(
        &self,
        from: &order::Placed,
        _: &StepCtx,
    ) -> Result<order::CheckInventoryTo, Infallible> {
        Ok(order::InStock {
            order: from.order.clone(),
            hold: "h".into(),
        }
        .into())
    }
    async fn release_hold(&self, _: &order::InStock, _: &StepCtx) -> Result<(), Infallible> {
        Ok(())
    }
    async fn pay(&self, from: &order::InStock, _: &StepCtx) -> Result<order::Paid, Infallible> {
        Ok(order::Paid {
            order: from.order.clone(),
            hold: from.hold.clone(),
            charge: "c".into(),
        })
    }
    async fn refund(&self, _: &order::Paid, _: &StepCtx) -> Result<(), Infallible> {
        Ok(())
    }
    async fn reserve_stock(
        &self,
        from: &order::Paid,
        _: &StepCtx,
    ) -> Result<order::Reserved, Infallible> {
        Ok(order::Reserved {
            order: from.order.clone(),
            charge: from.charge.clone(),
            reservation: "r".into(),
        })
    }
    async fn unreserve_stock(&self, _: &order::Reserved, _: &StepCtx) -> Result<(), Infallible> {
        Ok(())
    }
    async fn create_shipping_note(
        &self,
        from: &order::Reserved,
        _: &StepCtx,
    ) -> Result<order::Shipped, Infallible> {
        Ok(order::Shipped {
            order: from.order.clone(),
            tracking: "t".into(),
        })
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let instances: u32 = std::env::args().nth(1).map_or(Ok(100_000), |n| n.parse())?;
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let runtime = Runtime::<order::Flow, _>::new(Lean);
        let start = Instant::now();
        let mut ids = Vec::with_capacity(instances as usize);
        for n in 0..instances {
            ids.push(
                runtime
                    .start(request(&format!("order-{n}"), "lamp", 1, 4_990))
                    .await
                    .map_err(|r| r.error)?,
            );
        }
        let started = start.elapsed();
        for id in &ids {
            let finished = runtime.outcome(id).await?;
            assert!(matches!(
                finished,
                Outcome::Completed(order::State::Shipped(_))
            ));
        }
        let elapsed = start.elapsed();
        let steps = f64::from(instances) * 4.0;
        println!("{instances} S1 instances on {workers} worker threads, in memory");
        println!("  all started in     {:>8.3} s", started.as_secs_f64());
        println!("  all completed in   {:>8.3} s", elapsed.as_secs_f64());
        println!(
            "  instances/s        {:>8.0}",
            f64::from(instances) / elapsed.as_secs_f64()
        );
        println!(
            "  steps/s            {:>8.0}",
            steps / elapsed.as_secs_f64()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
