use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        final Refused {}
        reserve: Placed -> Reserved | Refused, each(lines, 4, reserve_line: u32), guard(choose), join(reserved);
    }
}

fn main() {}
