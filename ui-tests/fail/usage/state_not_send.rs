use std::rc::Rc;
use workflow_core::workflow;

workflow! {
    pub Order {
        initial Placed { note: Rc<String> }
        final Shipped {}
        ship: Placed -> Shipped;
    }
}

fn main() {}
