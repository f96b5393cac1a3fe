//! The did-you-mean and list helpers of error messages.

use crate::compiler::diagnostic::{closest, list};

#[test]
fn closest_finds_typos_and_ignores_strangers() {
    let states = ["Placed", "Reserved", "Paid"];
    assert_eq!(closest("Reservd", states), Some("Reserved"));
    assert_eq!(closest("Piad", states), Some("Paid"));
    assert_eq!(closest("Warehouse", states), None);
    let options = ["retry", "timeout", "on", "after", "compensate"];
    assert_eq!(closest("retries", options), Some("retry"));
}

#[test]
fn list_reads_as_prose() {
    assert_eq!(list([]), "none");
    assert_eq!(list(["a"]), "`a`");
    assert_eq!(list(["a", "b", "c"]), "`a`, `b` and `c`");
}
