use workflow_core::prelude::*;

pub struct Line;
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Hold;

workflow! {
    pub Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(lines, 4, reserve_line: Hold), join(reserved);
    }
}

fn reserved(_: &order::Placed, _: Vec<Line>) -> order::Reserved {
    order::Reserved {}
}

struct Warehouse;

impl order::Activities for Warehouse {
    type Error = String;
    async fn reserve_line(&self, _: &order::Placed, _: &Line, _: &StepCtx) -> Result<Hold, String> {
        Ok(Hold)
    }
}

fn main() {}
