//! Every duration unit, and retry with and without jitter, land in the definition exactly.

use std::time::Duration;

use workflow_core::{RetryPolicy, Trigger, Wait, workflow};

pub struct Go;

workflow! {
    pub Timing {
        initial A {}
        state B {}
        state C {}
        final D {}
        a: A -> B, retry(5, 250ms..3s), timeout(2min);
        b: B -> C, retry(2, 1min..1h, jitter);
        c: C -> D, after(36h);
        d: A | B | C -> D, on Go;
    }
}

fn main() {
    let t = timing::DEFINITION.transitions();
    assert_eq!(t[0].retry(), Some(RetryPolicy::new(5, Duration::from_millis(250), Duration::from_secs(3), false)));
    assert_eq!(t[0].timeout(), Some(Wait::Fixed(Duration::from_secs(120))));
    assert_eq!(t[1].retry(), Some(RetryPolicy::new(2, Duration::from_secs(60), Duration::from_secs(3600), true)));
    assert_eq!(t[2].trigger(), Trigger::After(Wait::Fixed(Duration::from_secs(36 * 3600))));
    assert_eq!(t[3].trigger(), Trigger::On { event: 0 });
}
