use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        final Reserved {}
        reserve: Placed -> Reserved, each(lines, 4, reserve_line: u32), join(reserved);
    }
}

fn main() {}
