use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(), join(reserved);
    }
}

fn main() {}
