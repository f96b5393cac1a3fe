use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(lines, 4, reserve_line: u32 retry(3, 1s..10s)), join(reserved);
    }
}

fn main() {}
