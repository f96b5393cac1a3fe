//! Instances, their journal and their inbox as rows: written inside a commit's transaction,
//! read back on a reader connection.
//!
//! Each write to an instance is one row of `journal`: the records it appends and the
//! snapshot after them (the state in a column of its own, the rest as JSON, the compensation
//! chain as references to the rows holding each undo's state). The instance's own row in
//! `instances` changes only when its status or its wake time does, so a run of automatic
//! transitions writes one row each.
//!
//! A write's first statement decides whether it may go ahead; when it may not, nothing of it
//! has been written, and each write runs in a savepoint of its own, so a refused write never
//! disturbs the others committed with it.

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::errors::corrupt;
use crate::store::{
    Answer, ChainEntry, Commit, Ending, InboxItem, Message, MessageId, Name, Parent, Record,
    Snapshot, Status, StoreError, Summary, Timer, Wake, Work,
};
use crate::{Fingerprint, InstanceId};

/// Why a write did not happen: the store's answer (the write alone is undone), or SQLite
/// failing (the whole commit is).
pub(super) enum Refusal {
    Store(StoreError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Refusal {
    fn from(error: rusqlite::Error) -> Self {
        match error {
            // A value that does not fit a column fails this write, not its commit.
            rusqlite::Error::ToSqlConversionFailure(why) => {
                Self::Store(StoreError::Unstorable(why.to_string()))
            }
            error => Self::Sqlite(error),
        }
    }
}

/// What the writer knows of an instance's row, so that a write needs no read first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) num: i64,
    pub(super) seq: u64,
    pub(super) wake: Option<i64>,
    pub(super) status: Status,
}

/// A `u64` as SQLite's signed integer; too large a value fails the write alone.
fn int(what: &str, value: u64) -> Result<i64, Refusal> {
    i64::try_from(value).map_err(|_| {
        Refusal::Store(StoreError::Unstorable(format!(
            "{what} {value}, beyond the largest integer SQLite holds"
        )))
    })
}

fn wake_column(wake: Wake) -> Result<Option<i64>, Refusal> {
    wake.due_ms().map(|at| int("a due time of", at)).transpose()
}

/// A value as JSON text.
fn json<T: Serialize>(value: &T) -> Result<String, Refusal> {
    serde_json::to_string(value)
        .map_err(|e| Refusal::Store(StoreError::Unstorable(format!("a value: {e}"))))
}

/// An undo on the chain, by reference: its state is in the journal row that holds record
/// `seq`.
#[derive(Debug, Serialize, Deserialize)]
struct ChainRef {
    undo: Name,
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    child: Option<InstanceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    together: Option<Arc<str>>,
}

/// The state an undo receives, kept in the row of the write that put it on the chain when
/// it differs from that row's state.
#[derive(Debug, Serialize, Deserialize)]
struct Landed {
    seq: u64,
    state: Arc<str>,
}

/// The snapshot after a journal row, but for what has columns of its own.
#[derive(Debug, Serialize, Deserialize)]
struct Rest {
    at_ms: u64,
    status: Status,
    chain: Vec<ChainRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    timer: Option<Timer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    work: Option<Work>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ending: Option<Ending>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    landed: Vec<Landed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<Parent>,
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    paused: bool,
}

/// Appends the journal row of a write whose records start at `first_seq`.
fn insert_journal(
    tx: &Connection,
    num: i64,
    first_seq: u64,
    records: &[Record],
    snapshot: &Snapshot,
) -> Result<(), Refusal> {
    let landed = snapshot
        .chain
        .iter()
        .filter(|entry| entry.seq >= first_seq && *entry.state != *snapshot.state)
        .map(|entry| Landed {
            seq: entry.seq,
            state: Arc::clone(&entry.state),
        })
        .collect();
    let rest = Rest {
        at_ms: snapshot.at_ms,
        status: snapshot.status,
        chain: snapshot
            .chain
            .iter()
            .map(|entry| ChainRef {
                undo: entry.undo.clone(),
                seq: entry.seq,
                child: entry.child.clone(),
                together: entry.together.clone(),
            })
            .collect(),
        timer: snapshot.timer.clone(),
        work: snapshot.work.clone(),
        ending: snapshot.ending.clone(),
        landed,
        parent: snapshot.parent.clone(),
        paused: snapshot.paused,
    };
    tx.prepare_cached(
        "INSERT INTO journal (num, seq, first_seq, state_name, state, rest, records)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        num,
        int("a sequence number", snapshot.seq)?,
        int("a sequence number", first_seq)?,
        &*snapshot.state_name,
        &*snapshot.state,
        json(&rest)?,
        json(&records)?,
    ])?;
    Ok(())
}

/// Creates an instance: its row and its first journal row.
pub(super) fn create(
    tx: &Connection,
    snapshot: &Snapshot,
    record: &Record,
    wake: Wake,
) -> Result<Head, Refusal> {
    let wake = wake_column(wake)?;
    let inserted = tx
        .prepare_cached(
            "INSERT INTO instances (flow, id, fingerprint, created_ms, status, wake_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            &*snapshot.flow,
            snapshot.id.as_str(),
            snapshot.fingerprint.to_string(),
            int("a time of", snapshot.at_ms)?,
            snapshot.status.as_str(),
            wake,
        ]);
    if let Err(error) = &inserted
        && error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
    {
        return Err(Refusal::Store(StoreError::Duplicate {
            flow: snapshot.flow.clone(),
            id: snapshot.id.clone(),
        }));
    }
    inserted?;
    let num = tx.last_insert_rowid();
    insert_journal(tx, num, record.seq, std::slice::from_ref(record), snapshot)?;
    Ok(Head {
        num,
        seq: snapshot.seq,
        wake,
        status: snapshot.status,
    })
}

/// Writes an instance upgraded from an older format: its row, numbered `num`, and one
/// journal row holding its whole history and its snapshot.
pub(super) fn migrate_instance(
    tx: &Connection,
    num: i64,
    snapshot: &Snapshot,
    records: &[Record],
    wake: Wake,
) -> Result<(), Refusal> {
    tx.prepare_cached(
        "INSERT INTO instances (num, flow, id, fingerprint, created_ms, status, wake_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        num,
        &*snapshot.flow,
        snapshot.id.as_str(),
        snapshot.fingerprint.to_string(),
        int(
            "a time of",
            records.first().map_or(snapshot.at_ms, |r| r.at_ms)
        )?,
        snapshot.status.as_str(),
        wake_column(wake)?,
    ])?;
    insert_journal(tx, num, 1, records, snapshot)
}

/// Writes `commit` after `head`; returns the head after it.
pub(super) fn commit(tx: &Connection, head: &Head, commit: &Commit) -> Result<Head, Refusal> {
    let snapshot = &commit.snapshot;
    let first = commit.records.first().map_or(head.seq + 1, |r| r.seq);
    let last = commit.records.last().map_or(head.seq, |r| r.seq);
    if first != head.seq + 1 || last != snapshot.seq {
        return Err(Refusal::Store(StoreError::Conflict {
            id: snapshot.id.clone(),
            expected: first.saturating_sub(1),
            found: head.seq,
        }));
    }
    let wake = if snapshot.status.is_finished() {
        None
    } else {
        wake_column(commit.wake)?
    };
    if !commit.records.is_empty() {
        insert_journal(tx, head.num, first, &commit.records, snapshot)?;
    }
    for (message, answer) in &commit.answers {
        tx.prepare_cached(
            "UPDATE inbox SET answer = ?2 WHERE msg = ?1 AND num = ?3 AND answer IS NULL",
        )?
        .execute(params![
            int("a message number", message.0)?,
            json(answer)?,
            head.num
        ])?;
    }
    if snapshot.status.is_finished() {
        let ended = Answer::Ended {
            status: snapshot.status,
            state: snapshot.state_name.clone(),
        };
        tx.prepare_cached("UPDATE inbox SET answer = ?2 WHERE num = ?1 AND answer IS NULL")?
            .execute(params![head.num, json(&ended)?])?;
    }
    for sent in &commit.posts {
        match post(tx, &sent.flow, &sent.id, &sent.message, snapshot.at_ms) {
            // Only to an instance that runs; a second cancel is dropped (see `Post`).
            Ok(_)
            | Err(Refusal::Store(
                StoreError::NotFound { .. }
                | StoreError::Ended { .. }
                | StoreError::CancelPosted { .. },
            )) => {}
            Err(refusal) => return Err(refusal),
        }
    }
    if commit.migrated {
        tx.prepare_cached("UPDATE instances SET fingerprint = ?2 WHERE num = ?1")?
            .execute(params![head.num, snapshot.fingerprint.to_string()])?;
    }
    // Indexed columns are written only when they change: an index left alone is a page
    // less to sync.
    if wake != head.wake || snapshot.status != head.status {
        tx.prepare_cached("UPDATE instances SET status = ?2, wake_ms = ?3 WHERE num = ?1")?
            .execute(params![head.num, snapshot.status.as_str(), wake])?;
    }
    Ok(Head {
        num: head.num,
        seq: last,
        wake,
        status: snapshot.status,
    })
}

/// Posts `message` to instance `id`'s inbox.
pub(super) fn post(
    tx: &Connection,
    flow: &str,
    id: &InstanceId,
    message: &Message,
    at_ms: u64,
) -> Result<MessageId, Refusal> {
    let found = tx
        .prepare_cached("SELECT num, status FROM instances WHERE flow = ?1 AND id = ?2")?
        .query_row(params![flow, id.as_str()], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
        })
        .optional()?;
    let refuse = |error| Err(Refusal::Store(error));
    let Some((num, status)) = found else {
        return refuse(StoreError::NotFound {
            flow: flow.to_string().into(),
            id: id.clone(),
        });
    };
    match Status::parse(&status) {
        Some(Status::Running) => {}
        Some(status) => {
            return refuse(StoreError::Ended {
                flow: flow.to_string().into(),
                id: id.clone(),
                status,
            });
        }
        None => return refuse(corrupt(flow, id.as_str(), "status", &status)),
    }
    let (kind, name, payload) = message.columns();
    let inserted = tx
        .prepare_cached(
            "INSERT INTO inbox (num, kind, name, payload, posted_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![num, kind, name, payload, int("a time of", at_ms)?]);
    if let Err(error) = &inserted
        && error.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
    {
        return refuse(StoreError::CancelPosted {
            flow: flow.to_string().into(),
            id: id.clone(),
        });
    }
    inserted?;
    Ok(MessageId(
        u64::try_from(tx.last_insert_rowid()).unwrap_or_default(),
    ))
}

/// A failed read: SQLite failed, or what it returned is not a valid row.
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

fn number(flow: &str, id: &str, what: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt(flow, id, what, e))
}

fn status(flow: &str, id: &str, text: &str) -> Result<Status, StoreError> {
    Status::parse(text)
        .ok_or_else(|| corrupt(flow, id, "status", format!("`{text}` is not a status")))
}

fn fingerprint(flow: &str, id: &str, text: &str) -> Result<Fingerprint, StoreError> {
    text.parse()
        .map_err(|e| corrupt(flow, id, "fingerprint", e))
}

/// An instance's row.
struct InstanceRow {
    num: i64,
    fingerprint: String,
    status: String,
    wake: Option<i64>,
}

/// Instance `id` of `flow`: what the writer needs of it, and its snapshot.
pub(super) fn load(
    conn: &Connection,
    flow: &str,
    id: &str,
) -> Result<Option<(Head, Snapshot)>, ReadError> {
    let row = conn
        .prepare_cached(
            "SELECT num, fingerprint, status, wake_ms FROM instances WHERE flow = ?1 AND id = ?2",
        )?
        .query_row(params![flow, id], |row| {
            Ok(InstanceRow {
                num: row.get(0)?,
                fingerprint: row.get(1)?,
                status: row.get(2)?,
                wake: row.get(3)?,
            })
        })
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let (seq, first_seq, state_name, state, rest): (i64, i64, String, String, String) = conn
        .prepare_cached(
            "SELECT seq, first_seq, state_name, state, rest FROM journal WHERE num = ?1
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![row.num], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?
        .ok_or_else(|| corrupt(flow, id, "journal", "the instance has no journal"))?;
    let rest: Rest = serde_json::from_str(&rest).map_err(|e| corrupt(flow, id, "journal", e))?;
    let seq = number(flow, id, "seq", seq)?;
    let first_seq = number(flow, id, "seq", first_seq)?;
    let state: Arc<str> = state.into();
    let mut chain = Vec::with_capacity(rest.chain.len());
    for link in rest.chain {
        let state = if link.seq >= first_seq {
            rest.landed
                .iter()
                .find(|landed| landed.seq == link.seq)
                .map_or_else(|| Arc::clone(&state), |landed| Arc::clone(&landed.state))
        } else {
            chain_state(conn, flow, id, row.num, link.seq)?
        };
        let mut entry = ChainEntry::new(link.undo, link.seq, state);
        entry.child = link.child;
        entry.together = link.together;
        chain.push(entry);
    }
    let head = Head {
        num: row.num,
        seq,
        wake: row.wake,
        status: status(flow, id, &row.status)?,
    };
    let mut snapshot = Snapshot::new(
        flow.to_string(),
        InstanceId::new(id),
        fingerprint(flow, id, &row.fingerprint)?,
        state_name,
        state,
    );
    snapshot.seq = seq;
    snapshot.at_ms = rest.at_ms;
    snapshot.status = rest.status;
    snapshot.chain = chain;
    snapshot.timer = rest.timer;
    snapshot.work = rest.work;
    snapshot.parent = rest.parent;
    snapshot.paused = rest.paused;
    snapshot.ending = rest.ending;
    Ok(Some((head, snapshot)))
}

/// The state of the undo recorded by record `seq`: in the journal row holding that record.
fn chain_state(
    conn: &Connection,
    flow: &str,
    id: &str,
    num: i64,
    seq: u64,
) -> Result<Arc<str>, ReadError> {
    let seq = i64::try_from(seq).map_err(|e| corrupt(flow, id, "chain", e))?;
    let (state, rest): (String, String) = conn
        .prepare_cached(
            "SELECT state, rest FROM journal WHERE num = ?1 AND seq >= ?2 AND first_seq <= ?2
             ORDER BY seq LIMIT 1",
        )?
        .query_row(params![num, seq], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or_else(|| {
            corrupt(
                flow,
                id,
                "chain",
                format!("no journal row holds record {seq}"),
            )
        })?;
    let rest: Rest = serde_json::from_str(&rest).map_err(|e| corrupt(flow, id, "journal", e))?;
    let landed = rest
        .landed
        .into_iter()
        .find(|landed| i64::try_from(landed.seq) == Ok(seq));
    Ok(landed.map_or_else(|| state.into(), |landed| landed.state))
}

fn inbox_item(
    flow: &str,
    id: &str,
    row: &Row<'_>,
) -> rusqlite::Result<Result<InboxItem, StoreError>> {
    let msg: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let name: Option<String> = row.get(2)?;
    let payload: Option<String> = row.get(3)?;
    let posted: i64 = row.get(4)?;
    Ok((|| {
        let message = Message::from_columns(&kind, name, payload)
            .ok_or_else(|| corrupt(flow, id, "inbox", format!("message {msg} of kind `{kind}`")))?;
        Ok(InboxItem::new(
            MessageId(number(flow, id, "message", msg)?),
            message,
            number(flow, id, "posted", posted)?,
        ))
    })())
}

/// Instance `num`'s unanswered messages, oldest first.
pub(super) fn inbox(
    conn: &Connection,
    flow: &str,
    id: &str,
    num: i64,
) -> Result<Vec<InboxItem>, ReadError> {
    let mut statement = conn.prepare_cached(
        "SELECT msg, kind, name, payload, posted_ms FROM inbox
         WHERE num = ?1 AND answer IS NULL ORDER BY msg",
    )?;
    let rows = statement.query_map(params![num], |row| inbox_item(flow, id, row))?;
    let mut items = Vec::new();
    for row in rows {
        items.push(row??);
    }
    Ok(items)
}

/// Instance `id`'s unanswered messages, oldest first.
pub(super) fn inbox_of(
    conn: &Connection,
    flow: &str,
    id: &str,
) -> Result<Vec<InboxItem>, ReadError> {
    let num: Option<i64> = conn
        .prepare_cached("SELECT num FROM instances WHERE flow = ?1 AND id = ?2")?
        .query_row(params![flow, id], |row| row.get(0))
        .optional()?;
    match num {
        Some(num) => inbox(conn, flow, id, num),
        None => Ok(Vec::new()),
    }
}

/// How instance `id` answered message `msg`, if it has; `NotFound` if it has no such message.
pub(super) fn answer(
    conn: &Connection,
    flow: &str,
    id: &str,
    msg: MessageId,
) -> Result<Option<Answer>, ReadError> {
    let msg_number = i64::try_from(msg.0).map_err(|e| corrupt(flow, id, "message", e))?;
    let answer: Option<Option<String>> = conn
        .prepare_cached(
            "SELECT b.answer FROM inbox b JOIN instances i USING (num)
             WHERE b.msg = ?3 AND i.flow = ?1 AND i.id = ?2",
        )?
        .query_row(params![flow, id, msg_number], |row| row.get(0))
        .optional()?;
    match answer {
        None => Err(ReadError::Store(StoreError::NotFound {
            flow: flow.to_string().into(),
            id: InstanceId::new(id),
        })),
        Some(None) => Ok(None),
        Some(Some(text)) => Ok(Some(
            serde_json::from_str(&text).map_err(|e| corrupt(flow, id, "answer", e))?,
        )),
    }
}

fn summaries(conn: &Connection, flow: &str, running_only: bool) -> Result<Vec<Summary>, ReadError> {
    let sql = format!(
        "SELECT i.id, i.status, i.fingerprint, j.state_name, j.seq
         FROM instances i JOIN journal j ON j.num = i.num
             AND j.seq = (SELECT max(seq) FROM journal WHERE num = i.num)
         WHERE i.flow = ?1 {} ORDER BY i.id",
        if running_only {
            "AND i.status = 'running'"
        } else {
            ""
        }
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![flow], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, status_text, fingerprint_text, state_name, seq) = row?;
        let mut summary = Summary::of(&Snapshot::new(
            flow.to_string(),
            InstanceId::new(id.as_str()),
            fingerprint(flow, &id, &fingerprint_text)?,
            state_name,
            "",
        ));
        summary.status = status(flow, &id, &status_text)?;
        summary.seq = number(flow, &id, "seq", seq)?;
        out.push(summary);
    }
    Ok(out)
}

/// Every instance of `flow`, by id.
pub(super) fn list(conn: &Connection, flow: &str) -> Result<Vec<Summary>, ReadError> {
    summaries(conn, flow, false)
}

/// Every running instance of `flow`, by id.
pub(super) fn unfinished(conn: &Connection, flow: &str) -> Result<Vec<Summary>, ReadError> {
    summaries(conn, flow, true)
}

/// Instance `id`'s records, in order.
pub(super) fn history(conn: &Connection, flow: &str, id: &str) -> Result<Vec<Record>, ReadError> {
    let mut statement = conn.prepare_cached(
        "SELECT j.records FROM instances i JOIN journal j USING (num)
         WHERE i.flow = ?1 AND i.id = ?2 ORDER BY j.seq",
    )?;
    let rows = statement.query_map(params![flow, id], |row| row.get::<_, String>(0))?;
    let mut records = Vec::new();
    for row in rows {
        let batch: Vec<Record> =
            serde_json::from_str(&row?).map_err(|e| corrupt(flow, id, "record", e))?;
        records.extend(batch);
    }
    Ok(records)
}

/// A running instance that may need a worker.
pub(super) struct Candidate {
    pub(super) num: i64,
    pub(super) flow: String,
    pub(super) id: String,
    pub(super) fingerprint: String,
    pub(super) wake: Option<i64>,
}

fn candidates(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Candidate>, ReadError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |row| {
        Ok(Candidate {
            num: row.get(0)?,
            flow: row.get(1)?,
            id: row.get(2)?,
            fingerprint: row.get(3)?,
            wake: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Running instances whose wake time has come (earliest first), and those with unanswered
/// messages.
pub(super) fn due(conn: &Connection, now_ms: i64) -> Result<[Vec<Candidate>; 2], ReadError> {
    let now = candidates(
        conn,
        "SELECT num, flow, id, fingerprint, wake_ms FROM instances
         WHERE status = 'running' AND wake_ms IS NOT NULL AND wake_ms <= ?1 ORDER BY wake_ms",
        params![now_ms],
    )?;
    let messages = candidates(
        conn,
        "SELECT num, flow, id, fingerprint, wake_ms FROM instances
         WHERE num IN (SELECT num FROM inbox WHERE answer IS NULL) AND status = 'running'",
        params![],
    )?;
    Ok([now, messages])
}

/// The next `limit` running instances to come due after `after_ms` (and, at `after_ms`
/// itself, after instance number `after_num`), earliest first.
pub(super) fn later(
    conn: &Connection,
    after_ms: i64,
    after_num: i64,
    limit: usize,
) -> Result<Vec<Candidate>, ReadError> {
    candidates(
        conn,
        "SELECT num, flow, id, fingerprint, wake_ms FROM instances
         WHERE status = 'running' AND wake_ms IS NOT NULL
           AND (wake_ms > ?1 OR (wake_ms = ?1 AND num > ?2))
         ORDER BY wake_ms, num LIMIT ?3",
        params![
            after_ms,
            after_num,
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
    )
}
