use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        state Checked { lines: Vec<Line> }
        final Reserved {}
        check: Placed -> Checked, parallel(stock: u32, price: u32), join(checked);
        reserve: Checked -> Reserved, each(lines, 4, stock: u32), join(reserved);
    }
}

fn main() {}
