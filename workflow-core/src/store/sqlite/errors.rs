//! SQLite's errors as the store's: a full disk, a read-only file and a damaged file each get
//! their own [`StoreError`] variant, so a caller can tell them apart without parsing text.

use std::path::Path;

use rusqlite::ErrorCode;

use crate::store::StoreError;

/// `error`, met while using the store at `path`.
pub(super) fn store_error(error: rusqlite::Error, path: &Path) -> StoreError {
    classify(&error, path).unwrap_or_else(|| StoreError::Backend(Box::new(error)))
}

/// `error`, which failed several writes at once (a commit): each gets the same variant.
pub(super) fn shared_error(error: &rusqlite::Error, path: &Path) -> StoreError {
    classify(error, path).unwrap_or_else(|| StoreError::Backend(error.to_string().into()))
}

/// The variant for the errors a caller can act on; `None` for any other.
fn classify(error: &rusqlite::Error, path: &Path) -> Option<StoreError> {
    Some(match error.sqlite_error_code()? {
        ErrorCode::DiskFull => StoreError::Full(format!("`{}`: {error}", path.display())),
        ErrorCode::ReadOnly => StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: error.to_string(),
        },
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
            StoreError::Corrupt(format!("`{}`: {error}", path.display()))
        }
        _ => return None,
    })
}

pub(super) use crate::store::error::corrupt;
