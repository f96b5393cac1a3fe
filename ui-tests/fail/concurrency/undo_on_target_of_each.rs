use workflow_core::workflow;

pub struct Line;
pub struct Hold;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved undo release, each(lines, 4, reserve_line: Hold), join(reserved);
    }
}

fn main() {}
