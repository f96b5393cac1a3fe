//! Retry waits (exponential backoff with a deterministic jitter) and wall-clock time for stores.

use core::time::Duration;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::RetryPolicy;

/// The wait after failed attempt `failed` of the step with idempotency key `key`.
///
/// With `jitter`, the wait is spread between half and all of the backoff, by a fraction
/// derived from the key and the attempt: a replay, or a resumed instance, computes the same
/// wait.
pub(crate) fn retry_wait(policy: RetryPolicy, failed: u32, key: &str) -> Duration {
    let backoff = policy.backoff(failed);
    if !policy.jitter() {
        return backoff;
    }
    let hash = fnv1a(key.as_bytes().iter().copied().chain(failed.to_le_bytes()));
    // A fraction in [0, 1) from the hash's top 53 bits, exactly representable in an f64.
    #[allow(
        clippy::cast_precision_loss,
        reason = "53 bits fit an f64 mantissa exactly"
    )]
    let fraction = (hash >> 11) as f64 / (1_u64 << 53) as f64;
    backoff.mul_f64(0.5 + 0.5 * fraction)
}

fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Milliseconds since the Unix epoch, for what a store keeps (timer due times, when an
/// attempt started).
///
/// Read from the system clock once per tokio runtime, then advanced by that runtime's clock:
/// due times stay consistent with the timers the driver sets, a wall-clock jump does not
/// move them, and under a paused test clock they follow virtual time, so that a restart can
/// be tested in it.
pub(crate) fn now_ms() -> u64 {
    type Origins = HashMap<Option<tokio::runtime::Id>, (u64, Instant)>;
    static ORIGINS: OnceLock<Mutex<Origins>> = OnceLock::new();
    thread_local! {
        /// The origin last used on this thread: a worker thread serves one runtime.
        static LAST: std::cell::Cell<Option<(Option<tokio::runtime::Id>, u64, Instant)>> =
            const { std::cell::Cell::new(None) };
    }
    let runtime = tokio::runtime::Handle::try_current()
        .ok()
        .map(|handle| handle.id());
    let now = Instant::now();
    let (wall_ms, origin) = match LAST.get() {
        Some((id, wall, origin)) if id == runtime => (wall, origin),
        _ => {
            let (wall, origin) = *ORIGINS
                .get_or_init(Mutex::default)
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(runtime)
                .or_insert_with(|| {
                    let wall = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
                    (wall, now)
                });
            LAST.set(Some((runtime, wall, origin)));
            (wall, origin)
        }
    };
    let elapsed = now.saturating_duration_since(origin);
    wall_ms.saturating_add(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// `now_ms` plus `wait`, saturating: when a timer armed now for `wait` is due.
pub(crate) fn due_in(now_ms: u64, wait: Duration) -> u64 {
    now_ms.saturating_add(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
}

/// The tokio instant of wall-clock time `at_ms` (see [`now_ms`]): at once if it has passed.
pub(crate) fn instant_of(at_ms: u64) -> Instant {
    let now = now_ms();
    Instant::now() + Duration::from_millis(at_ms.saturating_sub(now))
}

/// `15min`, `30s`, `1500ms`: a duration in the largest unit that divides it.
pub(crate) fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        ms if ms != 0 && ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        ms if ms != 0 && ms % 60_000 == 0 => format!("{}min", ms / 60_000),
        ms if ms != 0 && ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_jitter_the_wait_is_the_backoff() {
        let policy = RetryPolicy::new(5, Duration::from_secs(1), Duration::from_mins(1), false);
        assert_eq!(retry_wait(policy, 1, "k"), Duration::from_secs(1));
        assert_eq!(retry_wait(policy, 2, "k"), Duration::from_secs(2));
        assert_eq!(retry_wait(policy, 3, "k"), Duration::from_secs(4));
    }

    #[test]
    fn jitter_is_deterministic_and_within_half_to_all_of_the_backoff() {
        let policy = RetryPolicy::new(5, Duration::from_secs(8), Duration::from_mins(1), true);
        for failed in 1..5 {
            for key in ["order-1/3/pay", "order-2/3/pay", "x"] {
                let wait = retry_wait(policy, failed, key);
                assert_eq!(
                    wait,
                    retry_wait(policy, failed, key),
                    "the same inputs give the same wait"
                );
                let backoff = policy.backoff(failed);
                assert!(
                    wait >= backoff / 2 && wait <= backoff,
                    "{wait:?} outside {backoff:?}/2..={backoff:?}"
                );
            }
        }
        assert_ne!(
            retry_wait(policy, 1, "order-1/3/pay"),
            retry_wait(policy, 1, "order-2/3/pay")
        );
    }
}
