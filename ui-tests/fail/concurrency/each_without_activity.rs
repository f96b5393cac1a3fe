use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(lines, 4), join(reserved);
    }
}

fn main() {}
