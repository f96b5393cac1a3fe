//! What an activity learns about the call it serves: instance, step, attempt, idempotency key.

use core::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The identity of one flow instance (one order, one approval).
///
/// Cheap to clone. Callers usually choose it from their own domain (`"order-1042"`).
///
/// ```
/// use workflow_core::InstanceId;
///
/// let id = InstanceId::new("order-1042");
/// assert_eq!(id.as_str(), "order-1042");
/// assert_eq!(id.to_string(), "order-1042");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(Arc<str>);

impl InstanceId {
    /// Wraps a caller-chosen identifier.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(id.into())
    }

    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for InstanceId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for InstanceId {
    fn from(id: String) -> Self {
        Self::new(id)
    }
}

/// The context of one attempt of one step, handed to every activity method.
///
/// The idempotency key is the same for every attempt of a step (and, with a durable store,
/// across restarts), so an activity can pass it to an external system and have a repeated
/// call recognised instead of performed twice.
///
/// ```
/// use workflow_core::{InstanceId, StepCtx};
///
/// let ctx = StepCtx::new(InstanceId::new("order-7"), "pay", 2, "order-7/3/pay");
/// assert_eq!(ctx.instance().as_str(), "order-7");
/// assert_eq!(ctx.step(), "pay");
/// assert_eq!(ctx.attempt(), 2);
/// assert_eq!(ctx.idempotency_key(), "order-7/3/pay");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCtx {
    instance: InstanceId,
    step: &'static str,
    attempt: u32,
    key: Arc<str>,
}

impl StepCtx {
    /// A context for attempt `attempt` (counting from 1) of `step` in `instance`.
    pub fn new(
        instance: InstanceId,
        step: &'static str,
        attempt: u32,
        idempotency_key: impl Into<Arc<str>>,
    ) -> Self {
        Self {
            instance,
            step,
            attempt,
            key: idempotency_key.into(),
        }
    }

    /// The context of a step called directly through a typestate method, outside any driver
    /// or saga: instance `local`, attempt 1, and a key unique within this process.
    ///
    /// ```
    /// use workflow_core::StepCtx;
    ///
    /// let a = StepCtx::local("reserve");
    /// let b = StepCtx::local("reserve");
    /// assert_eq!(a.instance().as_str(), "local");
    /// assert_ne!(a.idempotency_key(), b.idempotency_key());
    /// ```
    #[must_use]
    pub fn local(step: &'static str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self::new(
            InstanceId::new("local"),
            step,
            1,
            format!("local/{n}/{step}"),
        )
    }

    /// The instance this step belongs to.
    #[must_use]
    pub fn instance(&self) -> &InstanceId {
        &self.instance
    }

    /// The transition or undo being run, as named in the `workflow!` block.
    #[must_use]
    pub fn step(&self) -> &'static str {
        self.step
    }

    /// Which attempt this is, counting from 1.
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// A key that is the same for every attempt of this step of this instance.
    #[must_use]
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }
}
