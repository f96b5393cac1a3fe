//! PostgreSQL's errors as the store's: a full disk gets its own [`StoreError`] variant; a
//! lost connection or a server being restarted is a backend error, which the host retries.

use tokio_postgres::error::SqlState;

use crate::store::StoreError;

/// `error`, from the server or the connection to it.
pub(super) fn backend(error: tokio_postgres::Error) -> StoreError {
    match error.code() {
        Some(code) if *code == SqlState::DISK_FULL || *code == SqlState::OUT_OF_MEMORY => {
            StoreError::Full(error.to_string())
        }
        // Text PostgreSQL cannot hold (a NUL character, an invalid encoding), or a row too
        // large for an index (an id of kilobytes): this write fails, and retrying cannot help.
        Some(code)
            if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || *code == SqlState::UNTRANSLATABLE_CHARACTER
                || *code == SqlState::PROGRAM_LIMIT_EXCEEDED =>
        {
            StoreError::Unstorable(error.to_string())
        }
        _ => StoreError::Backend(Box::new(error)),
    }
}

/// `error`, from the pool: no connection could be had.
pub(super) fn pool(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => backend(error),
        error => StoreError::Backend(Box::new(error)),
    }
}

/// Whether `error` is a unique constraint refusing a row.
pub(super) fn is_unique_violation(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// A `u64` as PostgreSQL's `bigint`; too large a value fails the write alone.
pub(super) fn int(what: &str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        StoreError::Unstorable(format!(
            "{what} {value}, beyond the largest integer PostgreSQL holds"
        ))
    })
}

/// A value as JSON text.
pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Unstorable(format!("a value: {e}")))
}
