//! Snapshots and records as rows: written inside a commit's transaction, read back on a
//! reader connection.
//!
//! A write's first statement decides whether it may go ahead (the instance is new, or its
//! stored `seq` is the one it follows); when it may not, nothing of it has been written, so a
//! refused write never disturbs the others committed with it.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::errors::corrupt;
use crate::InstanceId;
use crate::store::{ChainEntry, Record, RecordKind, Snapshot, Status, StoreError, Summary, Timer};

/// Why a write did not happen: the store's answer, or SQLite failing (which aborts the
/// whole commit).
pub(super) enum Refusal {
    Store(StoreError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Refusal {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

/// A `u64` as SQLite's signed integer.
fn int(value: u64) -> Result<i64, rusqlite::Error> {
    i64::try_from(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// A value as JSON text.
fn json<T: serde::Serialize>(value: &T) -> Result<String, rusqlite::Error> {
    serde_json::to_string(value).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

/// Creates an instance: its row and its first record.
pub(super) fn create(tx: &Connection, snapshot: &Snapshot, record: &Record) -> Result<(), Refusal> {
    let inserted = insert_instance(tx, snapshot);
    if let Err(error) = &inserted
        && error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
    {
        return Err(Refusal::Store(StoreError::Duplicate {
            flow: snapshot.flow.clone(),
            id: snapshot.id.clone(),
        }));
    }
    inserted?;
    insert_record(tx, tx.last_insert_rowid(), record)?;
    Ok(())
}

/// Replaces an instance's snapshot and appends its record, if its stored `seq` is the one
/// before `snapshot.seq`.
pub(super) fn save(tx: &Connection, snapshot: &Snapshot, record: &Record) -> Result<(), Refusal> {
    let expected = snapshot.seq.saturating_sub(1);
    let stored = tx
        .prepare_cached("SELECT num, seq, status FROM instances WHERE flow = ?1 AND id = ?2")?
        .query_row(params![snapshot.flow, snapshot.id.as_str()], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((num, seq, status)) = stored else {
        return Err(Refusal::Store(StoreError::NotFound {
            flow: snapshot.flow.clone(),
            id: snapshot.id.clone(),
        }));
    };
    if seq != int(expected)? {
        return Err(Refusal::Store(StoreError::Conflict {
            id: snapshot.id.clone(),
            expected,
            found: u64::try_from(seq).unwrap_or_default(),
        }));
    }
    update_instance(tx, num, snapshot)?;
    // The status is indexed: it is written only when it changes, an index untouched being a
    // page less to sync.
    if status != snapshot.status.as_str() {
        tx.prepare_cached("UPDATE instances SET status = ?2 WHERE num = ?1")?
            .execute(params![num, snapshot.status.as_str()])?;
    }
    insert_record(tx, num, record)?;
    Ok(())
}

fn insert_instance(tx: &Connection, s: &Snapshot) -> Result<usize, rusqlite::Error> {
    let (timer_transition, timer_due_ms) = timer_columns(s)?;
    tx.prepare_cached(
        "INSERT INTO instances (flow, id, seq, at_ms, status, state_name, state, chain,
             fingerprint, timer_transition, timer_due_ms, pending, ending)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        s.flow,
        s.id.as_str(),
        int(s.seq)?,
        int(s.at_ms)?,
        s.status.as_str(),
        s.state_name,
        s.state,
        json(&s.chain)?,
        fingerprint_text(s.fingerprint),
        timer_transition,
        timer_due_ms,
        s.pending.as_ref().map(json).transpose()?,
        s.ending.as_ref().map(json).transpose()?,
    ])
}

fn update_instance(tx: &Connection, num: i64, s: &Snapshot) -> Result<usize, rusqlite::Error> {
    let (timer_transition, timer_due_ms) = timer_columns(s)?;
    tx.prepare_cached(
        "UPDATE instances SET seq = ?2, at_ms = ?3, state_name = ?4, state = ?5, chain = ?6,
             fingerprint = ?7, timer_transition = ?8, timer_due_ms = ?9, pending = ?10,
             ending = ?11
         WHERE num = ?1",
    )?
    .execute(params![
        num,
        int(s.seq)?,
        int(s.at_ms)?,
        s.state_name,
        s.state,
        json(&s.chain)?,
        fingerprint_text(s.fingerprint),
        timer_transition,
        timer_due_ms,
        s.pending.as_ref().map(json).transpose()?,
        s.ending.as_ref().map(json).transpose()?,
    ])
}

fn timer_columns(s: &Snapshot) -> Result<(Option<&str>, Option<i64>), rusqlite::Error> {
    Ok(match &s.timer {
        Some(timer) => (Some(timer.transition.as_str()), Some(int(timer.due_ms)?)),
        None => (None, None),
    })
}

fn insert_record(tx: &Connection, num: i64, record: &Record) -> Result<(), rusqlite::Error> {
    tx.prepare_cached(
        "INSERT INTO records (num, seq, at_ms, state_name, kind) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        num,
        int(record.seq)?,
        int(record.at_ms)?,
        record.state_name,
        json(&record.kind)?,
    ])?;
    Ok(())
}

fn fingerprint_text(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

/// The columns of an `instances` row, in the order [`INSTANCE_COLUMNS`] selects them.
struct InstanceRow {
    id: String,
    seq: i64,
    at_ms: i64,
    status: String,
    state_name: String,
    state: String,
    chain: String,
    fingerprint: String,
    timer_transition: Option<String>,
    timer_due_ms: Option<i64>,
    pending: Option<String>,
    ending: Option<String>,
}

const INSTANCE_COLUMNS: &str = "id, seq, at_ms, status, state_name, state, chain, \
     fingerprint, timer_transition, timer_due_ms, pending, ending";

impl InstanceRow {
    fn read(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            seq: row.get(1)?,
            at_ms: row.get(2)?,
            status: row.get(3)?,
            state_name: row.get(4)?,
            state: row.get(5)?,
            chain: row.get(6)?,
            fingerprint: row.get(7)?,
            timer_transition: row.get(8)?,
            timer_due_ms: row.get(9)?,
            pending: row.get(10)?,
            ending: row.get(11)?,
        })
    }

    /// The snapshot this row holds, or why it holds none.
    fn into_snapshot(self, flow: &str) -> Result<Snapshot, StoreError> {
        let id = self.id.as_str();
        let number =
            |what: &str, value: i64| u64::try_from(value).map_err(|e| corrupt(flow, id, what, e));
        let timer = match (self.timer_transition, self.timer_due_ms) {
            (Some(transition), Some(due)) => Some(Timer {
                transition,
                due_ms: number("timer_due_ms", due)?,
            }),
            _ => None,
        };
        let chain: Vec<ChainEntry> =
            serde_json::from_str(&self.chain).map_err(|e| corrupt(flow, id, "chain", e))?;
        let pending = self
            .pending
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(flow, id, "pending", e))?;
        let ending = self
            .ending
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| corrupt(flow, id, "ending", e))?;
        Ok(Snapshot {
            flow: flow.to_string(),
            fingerprint: u64::from_str_radix(&self.fingerprint, 16)
                .map_err(|e| corrupt(flow, id, "fingerprint", e))?,
            seq: number("seq", self.seq)?,
            at_ms: number("at_ms", self.at_ms)?,
            status: parse_status(&self.status).ok_or_else(|| {
                corrupt(
                    flow,
                    id,
                    "status",
                    format!("`{}` is not a status", self.status),
                )
            })?,
            state_name: self.state_name,
            state: self.state,
            chain,
            timer,
            pending,
            ending,
            id: InstanceId::from(self.id),
        })
    }
}

fn parse_status(text: &str) -> Option<Status> {
    [
        Status::Running,
        Status::Completed,
        Status::Failed,
        Status::Cancelled,
    ]
    .into_iter()
    .find(|status| status.as_str() == text)
}

/// A failed read: SQLite failed, or what it returned is not a valid snapshot or record.
pub(super) enum ReadError {
    Sqlite(rusqlite::Error),
    Store(StoreError),
}

impl From<rusqlite::Error> for ReadError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Sqlite(error)
    }
}

impl From<StoreError> for ReadError {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// Instance `id`'s snapshot.
pub(super) fn load(conn: &Connection, flow: &str, id: &str) -> Result<Option<Snapshot>, ReadError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE flow = ?1 AND id = ?2"
        ))?
        .query_row(params![flow, id], InstanceRow::read)
        .optional()?;
    match row {
        None => Ok(None),
        Some(row) => Ok(Some(row.into_snapshot(flow)?)),
    }
}

fn unfinished_query() -> String {
    format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances
         WHERE flow = ?1 AND status = 'running' ORDER BY id"
    )
}

/// Every unfinished instance of `flow`, by id.
pub(super) fn unfinished(conn: &Connection, flow: &str) -> Result<Vec<Snapshot>, ReadError> {
    let rows: Vec<InstanceRow> = conn
        .prepare_cached(&unfinished_query())?
        .query_map(params![flow], InstanceRow::read)?
        .collect::<Result<_, _>>()?;
    let mut snapshots = Vec::with_capacity(rows.len());
    for row in rows {
        snapshots.push(row.into_snapshot(flow)?);
    }
    Ok(snapshots)
}

/// Every instance of `flow`, by id.
pub(super) fn list(conn: &Connection, flow: &str) -> Result<Vec<Summary>, ReadError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, state_name, status, seq FROM instances WHERE flow = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map(params![flow], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, i64>(3)?,
        ))
    })?;
    let mut summaries = Vec::new();
    for row in rows {
        let (id, state_name, status, seq) = row?;
        summaries.push(Summary {
            status: parse_status(&status).ok_or_else(|| {
                corrupt(flow, &id, "status", format!("`{status}` is not a status"))
            })?,
            seq: u64::try_from(seq).map_err(|e| corrupt(flow, &id, "seq", e))?,
            id: InstanceId::from(id),
            state_name,
        });
    }
    Ok(summaries)
}

/// Instance `id`'s records, in order.
pub(super) fn history(conn: &Connection, flow: &str, id: &str) -> Result<Vec<Record>, ReadError> {
    let mut statement = conn.prepare_cached(
        "SELECT r.seq, r.at_ms, r.state_name, r.kind FROM instances i JOIN records r USING (num)
         WHERE i.flow = ?1 AND i.id = ?2 ORDER BY r.seq",
    )?;
    let rows = statement.query_map(params![flow, id], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut records = Vec::new();
    for row in rows {
        let (seq, at_ms, state_name, kind) = row?;
        records.push(Record {
            seq: u64::try_from(seq).map_err(|e| corrupt(flow, id, "record seq", e))?,
            at_ms: u64::try_from(at_ms).map_err(|e| corrupt(flow, id, "record time", e))?,
            kind: serde_json::from_str::<RecordKind>(&kind)
                .map_err(|e| corrupt(flow, id, "record", e))?,
            state_name,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// Resuming reads the running instances through their index, however many ended
    /// instances the file holds.
    #[test]
    fn unfinished_instances_are_read_through_their_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(super::super::schema::SCHEMA).unwrap();
        let plan: String = conn
            .query_row(
                &format!("EXPLAIN QUERY PLAN {}", super::unfinished_query()),
                ["Order"],
                |row| row.get(3),
            )
            .unwrap();
        assert_eq!(
            plan,
            "SEARCH instances USING INDEX instances_running (flow=?)"
        );
    }
}
