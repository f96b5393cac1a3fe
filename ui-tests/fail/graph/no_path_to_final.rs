use workflow_core::workflow;

workflow! {
    Order {
        initial Placed {}
        state Ping {}
        state Pong {}
        final Shipped {}
        begin: Placed -> Ping | Shipped;
        ping: Ping -> Pong;
        pong: Pong -> Ping;
    }
}

fn main() {}
