//! Opening a store file: connection settings, recognising our own files (and refusing anyone
//! else's), creating the tables in a new file.
//!
//! A store file carries SQLite's `application_id` [`APPLICATION_ID`] and its format in
//! `user_version`, so a file from another program, or from a newer version of this library,
//! is refused before anything is read or written.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::errors::store_error;
use crate::store::StoreError;

/// `application_id` of every store file: "WKFL".
pub(super) const APPLICATION_ID: i64 = 0x574B_464C;

/// The format this version writes, and the newest it reads. Older formats are upgraded
/// when the file is opened (see [`super::migrate`]).
pub(super) const FORMAT: i64 = 2;

/// The tables, created in a new file.
///
/// - `instances`: one row per instance: what it is (flow, id, definition), its status, and
///   when it next needs a worker on its own (`wake_ms`: 0 at once, a due time, or `NULL` for
///   only when a message arrives), indexed so that finding due work reads only due rows.
///   Rows are numbered in the order instances start (`num`).
/// - `journal`: one row per write to an instance, by instance number and the sequence
///   number of its last record: the records it appended, and the snapshot after them (state,
///   and the rest as JSON; an undo's state is kept once, in the row that put it on the chain).
/// - `inbox`: events and cancels posted to instances, each with its answer once decided;
///   the unanswered ones are indexed, and an instance has at most one cancel.
pub(super) const SCHEMA: &str = "
CREATE TABLE instances (
    num         INTEGER PRIMARY KEY,
    flow        TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    wake_ms     INTEGER
);
CREATE UNIQUE INDEX instances_by_id ON instances (flow, id);
CREATE INDEX instances_due ON instances (wake_ms) WHERE status = 'running' AND wake_ms IS NOT NULL;
CREATE TABLE journal (
    num        INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    first_seq  INTEGER NOT NULL,
    state_name TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    rest       TEXT    NOT NULL,
    records    TEXT    NOT NULL,
    PRIMARY KEY (num, seq)
) WITHOUT ROWID;
CREATE TABLE inbox (
    msg       INTEGER PRIMARY KEY AUTOINCREMENT,
    num       INTEGER NOT NULL,
    kind      TEXT    NOT NULL,
    name      TEXT,
    payload   TEXT,
    posted_ms INTEGER NOT NULL,
    answer    TEXT
);
CREATE INDEX inbox_open ON inbox (num, msg) WHERE answer IS NULL;
CREATE UNIQUE INDEX inbox_one_cancel ON inbox (num) WHERE kind = 'cancel';
";

const TABLES: [&str; 3] = ["inbox", "instances", "journal"];

/// A connection to the file at `path`, which it creates if missing. Nothing is written yet.
pub(super) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| store_error(e, path))?;
    if conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
        return Err(StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason: "the file cannot be opened for writing".to_string(),
        });
    }
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| store_error(e, path))?;
    Ok(conn)
}

/// Sets `conn` up for durability: write-ahead logging, and a full sync of the log at every
/// commit, so that a commit that returned is on disk.
pub(super) fn make_durable(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(|e| store_error(e, path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Backend(
            format!(
                "`{}`: SQLite refused write-ahead logging (mode `{mode}`)",
                path.display()
            )
            .into(),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| store_error(e, path))?;
    // A page cache of 64 MiB (the default is 2 MiB): the pages instances live on stay in
    // memory instead of being read back from the file at every write.
    conn.pragma_update(None, "cache_size", -65_536)
        .map_err(|e| store_error(e, path))?;
    Ok(())
}

/// Checks that `conn` is a store file of a format this version reads, creating the tables if
/// the file is new (empty). Anything else is refused, untouched.
pub(super) fn prepare(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| store_error(e, path))?;
    let application_id: i64 = tx
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| store_error(e, path))?;
    let mut format: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| store_error(e, path))?;
    let mut tables: Vec<String> = {
        let mut statement = tx
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .map_err(|e| store_error(e, path))?;
        statement
            .query_map([], |row| row.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| store_error(e, path))?
    };
    let foreign = |reason: String| StoreError::Foreign {
        path: path.to_path_buf(),
        reason,
    };
    match application_id {
        0 if tables.is_empty() => {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .and_then(|()| tx.pragma_update(None, "user_version", FORMAT))
                .and_then(|()| tx.execute_batch(SCHEMA))
                .map_err(|e| store_error(e, path))?;
            tables = TABLES.iter().map(ToString::to_string).collect();
            format = FORMAT;
        }
        0 => {
            return Err(foreign(format!(
                "it holds tables of another program ({})",
                tables.join(", ")
            )));
        }
        APPLICATION_ID => {}
        other => {
            return Err(foreign(format!(
                "its SQLite application id is {other:#x}, not {APPLICATION_ID:#x}"
            )));
        }
    }
    if format > FORMAT {
        return Err(StoreError::Version {
            path: path.to_path_buf(),
            found: format,
            supported: FORMAT,
        });
    }
    if format < FORMAT {
        // Upgraded in this transaction: all of it, or (on any error) none of it.
        super::migrate::upgrade(&tx, format, path)?;
        tx.pragma_update(None, "user_version", FORMAT)
            .map_err(|e| store_error(e, path))?;
        tables = TABLES.iter().map(ToString::to_string).collect();
    }
    if let Some(missing) = TABLES
        .iter()
        .find(|t| !tables.iter().any(|have| have == *t))
    {
        return Err(StoreError::Corrupt(format!(
            "`{}`: table `{missing}` is missing",
            path.display()
        )));
    }
    tx.commit().map_err(|e| store_error(e, path))
}

/// Checks every page of the file, so that damage is found when the store opens rather than
/// when an instance happens to be read.
pub(super) fn check_integrity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let mut statement = conn
        .prepare("PRAGMA quick_check(5)")
        .map_err(|e| store_error(e, path))?;
    let problems: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .and_then(Iterator::collect)
        .map_err(|e| store_error(e, path))?;
    if problems.len() == 1 && problems[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Corrupt(format!(
        "`{}` failed its integrity check: {}",
        path.display(),
        problems.join("; ")
    )))
}
