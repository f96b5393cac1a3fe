use workflow_core::workflow;

workflow! {
    Loop {
        initial Left {}
        state Right {}
        final Done {}

        go_right: Left -> Right | Done, guard(right);
        go_left: Right -> Left | Done, guard(left);
    }
}

fn main() {}
