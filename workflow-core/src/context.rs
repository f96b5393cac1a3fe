//! What an activity learns about the call it serves: instance, step, attempt, idempotency key.

use core::fmt;
use std::sync::Arc;

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
#[derive(Clone)]
pub struct InstanceId(Text);

/// Text that is either static (no allocation) or shared.
#[derive(Clone)]
enum Text {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Text {
    fn as_str(&self) -> &str {
        match self {
            Self::Static(text) => text,
            Self::Shared(text) => text,
        }
    }
}

impl InstanceId {
    /// Wraps a caller-chosen identifier.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Self(Text::Shared(id.into()))
    }

    /// Wraps a static identifier without allocating.
    ///
    /// ```
    /// use workflow_core::InstanceId;
    ///
    /// assert_eq!(InstanceId::from_static("local"), InstanceId::new("local"));
    /// ```
    #[must_use]
    pub const fn from_static(id: &'static str) -> Self {
        Self(Text::Static(id))
    }

    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for InstanceId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for InstanceId {}

impl PartialOrd for InstanceId {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InstanceId {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl core::hash::Hash for InstanceId {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for InstanceId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for InstanceId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

impl InstanceId {
    /// A new unique identifier, for instances the caller does not name: a UUID of version 7,
    /// random but ordered by time, so the instances started together sit together in a
    /// store's index (a write touches the index's last pages instead of any of them).
    ///
    /// ```
    /// use workflow_core::InstanceId;
    ///
    /// assert_ne!(InstanceId::random(), InstanceId::random());
    /// ```
    #[must_use]
    pub fn random() -> Self {
        Self::new(uuid::Uuid::now_v7().to_string())
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
/// Under the driver (and a saga given an instance id) the idempotency key is the same for
/// every attempt of a step, and with a durable store across restarts too, so an activity can
/// pass it to an external system and have a repeated call recognised instead of performed
/// twice. A typestate method called directly has no instance, no retries and no restarts:
/// its context carries no key, and says so with `None`.
///
/// ```
/// use workflow_core::{InstanceId, StepCtx};
///
/// let ctx = StepCtx::new(InstanceId::new("order-7"), "pay", 2, "order-7/3/pay");
/// assert_eq!(ctx.instance().as_str(), "order-7");
/// assert_eq!(ctx.step(), "pay");
/// assert_eq!(ctx.attempt(), 2);
/// assert_eq!(ctx.idempotency_key(), Some("order-7/3/pay"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepCtx {
    instance: InstanceId,
    step: &'static str,
    attempt: u32,
    key: Option<Arc<str>>,
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
            key: Some(idempotency_key.into()),
        }
    }

    /// The context of a step called directly through a typestate method, outside any driver
    /// or saga: instance `local`, attempt 1, no idempotency key. It is a constant, so the
    /// generated methods keep one in a `static` and pay nothing for it.
    ///
    /// ```
    /// use workflow_core::StepCtx;
    ///
    /// static CTX: StepCtx = StepCtx::local("reserve");
    /// assert_eq!(CTX.instance().as_str(), "local");
    /// assert_eq!(CTX.attempt(), 1);
    /// assert_eq!(CTX.idempotency_key(), None);
    /// ```
    #[must_use]
    pub const fn local(step: &'static str) -> Self {
        Self {
            instance: InstanceId::from_static("local"),
            step,
            attempt: 1,
            key: None,
        }
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

    /// A key that is the same for every attempt of this step of this instance; `None` for a
    /// typestate method called directly, which has nothing to be idempotent across.
    #[must_use]
    pub fn idempotency_key(&self) -> Option<&str> {
        self.key.as_deref()
    }
}
