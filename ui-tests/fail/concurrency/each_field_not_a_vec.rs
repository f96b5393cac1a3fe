use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: [Line; 3] }
        final Reserved {}
        reserve: Placed -> Reserved, each(lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
