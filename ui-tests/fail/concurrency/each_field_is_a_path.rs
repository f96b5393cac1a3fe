use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, each(self.lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
