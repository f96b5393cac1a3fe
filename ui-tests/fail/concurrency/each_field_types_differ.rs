use workflow_core::workflow;

pub struct Line;
pub struct Amend;
pub struct Item;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        state Amended { lines: Vec<Item> }
        final Reserved {}
        amend: Placed -> Amended, on Amend;
        reserve: Placed | Amended -> Reserved, each(lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
