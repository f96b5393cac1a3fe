use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { order: u32, lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(line, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
