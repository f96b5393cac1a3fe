use workflow_core::workflow;

pub struct Line;

workflow! {
    Order {
        initial Placed { lines: Vec<Line> }
        final Reserved {}
        reserve: Placed -> Reserved, parallel(stock: u32, price: u32), each(lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
