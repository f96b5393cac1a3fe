use workflow_core::prelude::*;

pub struct Cancel;

workflow! {
    pub Order {
        initial Placed {}
        state Reserved {}
        state Paid {}
        final Shipped {}
        final Cancelled {}
        reserve: Placed -> Reserved | Cancelled;
        pay: Reserved -> Paid;
        ship: Paid -> Shipped;
        cancel: Placed | Reserved | Paid -> Cancelled, on Cancel;
    }
}

fn main() {
    // `reserve` lands in `Reserved` or `Cancelled`; `ship` starts from `Paid`.
    let _ = order::Reserve.then(order::Ship);
}
