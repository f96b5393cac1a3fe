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

/// The format this version writes, and the newest it reads.
pub(super) const FORMAT: i64 = 1;

/// The tables, created in a new file.
///
/// - `instances`: one row per instance, the latest snapshot: state, compensation chain (as
///   JSON, oldest first), pending work, the `after` timer. Rows are numbered in the order
///   instances start (`num`), so the rows of running instances sit together at the end of the
///   table, and a commit writes few pages. Running instances are indexed, so resuming is one
///   query that reads no finished instance.
/// - `records`: the append-only history, by instance number and `seq`: the records of running
///   instances are appended at the end of the table too.
pub(super) const SCHEMA: &str = "
CREATE TABLE instances (
    num              INTEGER PRIMARY KEY,
    flow             TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    seq              INTEGER NOT NULL,
    at_ms            INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    state_name       TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    chain            TEXT    NOT NULL,
    fingerprint      TEXT    NOT NULL,
    timer_transition TEXT,
    timer_due_ms     INTEGER,
    pending          TEXT,
    ending           TEXT
);
CREATE UNIQUE INDEX instances_by_id ON instances (flow, id);
CREATE INDEX instances_running ON instances (flow, id) WHERE status = 'running';
CREATE TABLE records (
    num        INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    at_ms      INTEGER NOT NULL,
    state_name TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    PRIMARY KEY (num, seq)
) WITHOUT ROWID;
";

const TABLES: [&str; 2] = ["instances", "records"];

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
    let format: i64 = tx
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
