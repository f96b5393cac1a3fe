//! Upgrading a store file written by an earlier version, in the transaction that opens it:
//! the whole file is upgraded, or (on any error) left exactly as it was.
//!
//! Each step reads the old rows with the old formats (declared here, as they were written)
//! and writes them in the next format. Format 1 (the first release) kept a full snapshot per
//! instance and one row per record; format 2 keeps a journal row per write, an inbox, and a
//! wake time per instance.

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, params};
use serde::Deserialize;

use super::errors::store_error;
use super::rows;
use crate::store::{
    Cause, ChainEntry, CompensationWork, Ending, Landing, MessageId, Record, RecordKind,
    ReportLine, Snapshot, Status, StepWork, StoreError, Timer, Wake, Work,
};
use crate::{Failure, FailureKind, InstanceId};

/// Upgrades the file from format `from` to the current one.
pub(super) fn upgrade(tx: &Connection, from: i64, path: &Path) -> Result<(), StoreError> {
    if from < 1 {
        return Err(StoreError::Corrupt(format!(
            "`{}` has store format {from}, which no version wrote",
            path.display()
        )));
    }
    if from == 1 {
        v1::upgrade(tx, path)?;
    }
    tracing::info!(path = %path.display(), from, to = super::schema::FORMAT, "store file upgraded");
    Ok(())
}

/// Format 1, as the first release wrote it.
mod v1 {
    use super::{
        Arc, Cause, ChainEntry, CompensationWork, Connection, Deserialize, Ending, Failure,
        FailureKind, InstanceId, Landing, MessageId, Path, Record, RecordKind, ReportLine,
        Snapshot, Status, StepWork, StoreError, Timer, Wake, Work, params, rows, store_error,
    };

    #[derive(Deserialize)]
    struct ChainEntryV1 {
        undo: String,
        seq: u64,
        state: String,
    }

    #[derive(Deserialize)]
    enum PendingV1 {
        Step {
            transition: String,
            event: Option<String>,
            key: String,
            failed_attempts: u32,
            retry_at_ms: Option<u64>,
        },
        Compensation {
            cause: Option<(String, String)>,
            report: Vec<ReportEntryV1>,
            landing: Option<LandingV1>,
        },
    }

    #[derive(Deserialize)]
    struct LandingV1 {
        transition: String,
        attempt: u32,
        state: String,
    }

    #[derive(Deserialize)]
    struct EndingV1 {
        failure: Option<(String, String)>,
        report: Vec<ReportEntryV1>,
    }

    #[derive(Deserialize)]
    struct ReportEntryV1 {
        step: String,
        outcome: String,
        error: Option<String>,
    }

    #[derive(Deserialize)]
    enum RecordKindV1 {
        Started,
        EventAccepted {
            transition: String,
            event: String,
        },
        TimerFired {
            transition: String,
        },
        AttemptFailed {
            transition: String,
            attempt: u32,
            error: String,
        },
        Transition {
            transition: String,
            attempt: u32,
        },
        CompensationStarted {
            cause: Option<(String, String)>,
        },
        Undone {
            undo: String,
        },
        Ended {
            status: Status,
        },
    }

    /// What format 1 kept as text, as a failure: the step and its error.
    fn failure(step: String, attempt: u32, message: String) -> Failure {
        let kind = if message.starts_with("timed out after") {
            FailureKind::Timeout
        } else if message.starts_with("the activity panicked") {
            FailureKind::Panic
        } else {
            FailureKind::Activity
        };
        Failure::new(step, attempt, kind, message)
    }

    fn report(entries: Vec<ReportEntryV1>) -> Vec<ReportLine> {
        entries
            .into_iter()
            .map(|entry| match entry.outcome.as_str() {
                "undone" => ReportLine::Undone {
                    undo: entry.step.into(),
                },
                "failed" => ReportLine::UndoFailed {
                    failure: failure(entry.step.clone(), 0, entry.error.unwrap_or_default()),
                    undo: entry.step.into(),
                },
                _ => ReportLine::Skipped {
                    undo: entry.step.into(),
                },
            })
            .collect()
    }

    fn kind(old: RecordKindV1) -> RecordKind {
        match old {
            RecordKindV1::Started => RecordKind::Started,
            RecordKindV1::EventAccepted { transition, event } => RecordKind::EventAccepted {
                transition: transition.into(),
                event: event.into(),
                // Format 1 had no inbox: the event came in through memory.
                message: MessageId(0),
            },
            RecordKindV1::TimerFired { transition } => RecordKind::TimerFired {
                transition: transition.into(),
            },
            RecordKindV1::AttemptFailed {
                transition,
                attempt,
                error,
            } => RecordKind::AttemptFailed {
                failure: failure(transition, attempt, error),
                retry_at_ms: None,
            },
            RecordKindV1::Transition {
                transition,
                attempt,
            } => RecordKind::Transition {
                transition: transition.into(),
                attempt,
            },
            RecordKindV1::CompensationStarted { cause } => RecordKind::CompensationStarted {
                cause: match cause {
                    Some((step, error)) => Cause::Failed(failure(step, 0, error)),
                    None => Cause::Cancelled,
                },
            },
            RecordKindV1::Undone { undo } => RecordKind::Undone {
                undo: undo.into(),
                attempt: 1,
            },
            RecordKindV1::Ended { status } => RecordKind::Ended { status },
        }
    }

    struct InstanceV1 {
        num: i64,
        flow: String,
        id: String,
        seq: u64,
        at_ms: u64,
        status: String,
        state_name: String,
        state: String,
        chain: String,
        fingerprint: String,
        timer: Option<(String, u64)>,
        pending: Option<String>,
        ending: Option<String>,
    }

    fn bad(id: &str, what: &str, error: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!(
            "instance `{id}` cannot be upgraded from format 1: {what}: {error}"
        ))
    }

    pub(super) fn upgrade(tx: &Connection, path: &Path) -> Result<(), StoreError> {
        let sql = |e| store_error(e, path);
        tx.execute_batch(
            "ALTER TABLE instances RENAME TO v1_instances;
             ALTER TABLE records RENAME TO v1_records;
             DROP INDEX IF EXISTS instances_by_id;
             DROP INDEX IF EXISTS instances_running;",
        )
        .map_err(sql)?;
        tx.execute_batch(super::super::schema::SCHEMA)
            .map_err(sql)?;
        let old: Vec<InstanceV1> = {
            let mut statement = tx
                .prepare(
                    "SELECT num, flow, id, seq, at_ms, status, state_name, state, chain,
                         fingerprint, timer_transition, timer_due_ms, pending, ending
                     FROM v1_instances ORDER BY num",
                )
                .map_err(sql)?;
            let rows = statement
                .query_map([], |row| {
                    let timer: (Option<String>, Option<i64>) = (row.get(10)?, row.get(11)?);
                    Ok(InstanceV1 {
                        num: row.get(0)?,
                        flow: row.get(1)?,
                        id: row.get(2)?,
                        seq: row.get::<_, i64>(3)?.cast_unsigned(),
                        at_ms: row.get::<_, i64>(4)?.cast_unsigned(),
                        status: row.get(5)?,
                        state_name: row.get(6)?,
                        state: row.get(7)?,
                        chain: row.get(8)?,
                        fingerprint: row.get(9)?,
                        timer: match timer {
                            (Some(t), Some(due)) => Some((t, due.cast_unsigned())),
                            _ => None,
                        },
                        pending: row.get(12)?,
                        ending: row.get(13)?,
                    })
                })
                .map_err(sql)?;
            rows.collect::<Result<_, _>>().map_err(sql)?
        };
        for instance in old {
            convert(tx, instance, path)?;
        }
        tx.execute_batch("DROP TABLE v1_records; DROP TABLE v1_instances;")
            .map_err(sql)
    }

    fn convert(tx: &Connection, old: InstanceV1, path: &Path) -> Result<(), StoreError> {
        let id = old.id.clone();
        let status = Status::parse(&old.status).ok_or_else(|| bad(&id, "status", &old.status))?;
        let chain: Vec<ChainEntryV1> =
            serde_json::from_str(&old.chain).map_err(|e| bad(&id, "chain", e))?;
        let pending: Option<PendingV1> = old
            .pending
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad(&id, "pending", e))?;
        let ending: Option<EndingV1> = old
            .ending
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| bad(&id, "ending", e))?;
        let mut snapshot = Snapshot::new(
            old.flow,
            InstanceId::new(old.id),
            old.fingerprint
                .parse()
                .map_err(|e| bad(&id, "fingerprint", e))?,
            old.state_name,
            old.state,
        );
        snapshot.seq = old.seq;
        snapshot.at_ms = old.at_ms;
        snapshot.status = status;
        snapshot.chain = chain
            .into_iter()
            .map(|e| ChainEntry::new(e.undo, e.seq, e.state))
            .collect();
        snapshot.timer = old.timer.map(|(t, due)| Timer::new(t, due));
        let mut retry = None;
        snapshot.work = pending.map(|pending| match pending {
            PendingV1::Step {
                transition,
                event,
                key,
                failed_attempts,
                retry_at_ms,
            } => {
                retry = retry_at_ms;
                Work::Step(StepWork {
                    transition: transition.into(),
                    event: event.map(Arc::from),
                    key: key.into(),
                    started_ms: old.at_ms,
                    failed: failed_attempts,
                    retry_at_ms,
                    parts: Vec::new(),
                    given_up: None,
                    child: None,
                })
            }
            PendingV1::Compensation {
                cause,
                report: done,
                landing,
            } => Work::Compensation(CompensationWork {
                cause: match (landing, cause) {
                    (Some(landing), _) => Cause::Transition(Landing {
                        transition: landing.transition.into(),
                        attempt: landing.attempt,
                        state: landing.state.into(),
                        by: crate::store::LandedBy::Activity,
                    }),
                    (None, Some((step, error))) => Cause::Failed(failure(step, 0, error)),
                    (None, None) => Cause::Cancelled,
                },
                report: report(done),
                started_ms: old.at_ms,
                failed: 0,
                retry_at_ms: None,
                keep: 0,
                batch: Vec::new(),
            }),
        });
        snapshot.ending = ending.map(|ending| {
            Ending::new(
                ending.failure.map(|(step, error)| failure(step, 0, error)),
                report(ending.report),
            )
        });
        // Format 1 did not say when an instance without work in progress needs a worker
        // (its automatic step, if its state has one, was implied): such an instance is due at
        // once, and the first host to claim it writes its wake time.
        let wake = match (status, retry) {
            (Status::Running, Some(at)) => Wake::At(at),
            (Status::Running, None) => Wake::Now,
            _ => Wake::OnMessage,
        };
        let records = records(tx, old.num, &id, path)?;
        rows::migrate_instance(tx, old.num, &snapshot, &records, wake).map_err(|refusal| {
            match refusal {
                rows::Refusal::Store(error) => error,
                rows::Refusal::Sqlite(error) => store_error(error, path),
            }
        })
    }

    /// Instance `num`'s records, in the current format.
    fn records(
        tx: &Connection,
        num: i64,
        id: &str,
        path: &Path,
    ) -> Result<Vec<Record>, StoreError> {
        let mut statement = tx
            .prepare(
                "SELECT seq, at_ms, state_name, kind FROM v1_records WHERE num = ?1 ORDER BY seq",
            )
            .map_err(|e| store_error(e, path))?;
        let rows = statement
            .query_map(params![num], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| store_error(e, path))?;
        let mut records = Vec::new();
        for row in rows {
            let (seq, at_ms, state_name, kind_json) = row.map_err(|e| store_error(e, path))?;
            let old_kind: RecordKindV1 =
                serde_json::from_str(&kind_json).map_err(|e| bad(id, "record", e))?;
            records.push(Record::new(
                seq.cast_unsigned(),
                at_ms.cast_unsigned(),
                kind(old_kind),
                state_name,
            ));
        }
        Ok(records)
    }
}
