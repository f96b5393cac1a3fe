use workflow_core::workflow;

pub struct Line;
pub struct Amend;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        state Amended { order: u32 }
        final Reserved {}
        amend: Placed -> Amended, on Amend;
        reserve: Placed | Amended -> Reserved, each(lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
