//! Reading instances back: snapshots, inboxes, answers, lists and histories.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::sql;
use crate::store::error::corrupt;
use crate::store::{
    Answer, InboxItem, Message, MessageId, Record, Snapshot, Status, StoreError, Summary,
};
use crate::{Fingerprint, InstanceId};

fn number(flow: &str, id: &str, what: &str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|e| corrupt(flow, id, what, e))
}

/// A snapshot from its JSON text.
pub(super) fn snapshot(flow: &str, id: &str, text: &str) -> Result<Snapshot, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(flow, id, "snapshot", e))
}

/// An inbox row (`msg, kind, name, payload, posted_ms`, from column `at`) as a message.
pub(super) fn inbox_item(
    flow: &str,
    id: &str,
    row: &Row,
    at: usize,
) -> Result<InboxItem, StoreError> {
    let msg: i64 = row.get(at);
    let kind: &str = row.get(at + 1);
    let name: Option<String> = row.get(at + 2);
    let payload: Option<String> = row.get(at + 3);
    let posted: i64 = row.get(at + 4);
    let message = Message::from_columns(kind, name, payload)
        .ok_or_else(|| corrupt(flow, id, "inbox", format!("message {msg} of kind `{kind}`")))?;
    Ok(InboxItem::new(
        MessageId(number(flow, id, "message", msg)?),
        message,
        number(flow, id, "posted", posted)?,
    ))
}

/// Instance `id`'s snapshot.
pub(super) async fn load(
    client: &impl GenericClient,
    flow: &str,
    id: &str,
) -> Result<Option<Snapshot>, StoreError> {
    let row = sql::query_opt(
        client,
        "SELECT snapshot FROM workflow.instances WHERE flow = $1 AND id = $2",
        &[&flow, &id],
    )
    .await?;
    row.map(|row| snapshot(flow, id, row.get(0))).transpose()
}

/// Instance `id`'s unanswered messages, oldest first.
pub(super) async fn inbox(
    client: &impl GenericClient,
    flow: &str,
    id: &str,
) -> Result<Vec<InboxItem>, StoreError> {
    let rows = sql::query(
        client,
        "SELECT b.msg, b.kind, b.name, b.payload, b.posted_ms
             FROM workflow.inbox b JOIN workflow.instances i USING (num)
             WHERE i.flow = $1 AND i.id = $2 AND b.answer IS NULL AND i.status = 'running'
             ORDER BY b.msg",
        &[&flow, &id],
    )
    .await?;
    rows.iter()
        .map(|row| inbox_item(flow, id, row, 0))
        .collect()
}

/// The unanswered messages of instances `nums`, oldest first, with the number of the
/// instance each is for.
pub(super) async fn inboxes(
    client: &impl GenericClient,
    nums: &[i64],
) -> Result<Vec<(i64, Row)>, StoreError> {
    if nums.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sql::query(
        client,
        "SELECT num, msg, kind, name, payload, posted_ms FROM workflow.inbox
             WHERE num = ANY($1) AND answer IS NULL ORDER BY msg",
        &[&nums],
    )
    .await?;
    Ok(rows.into_iter().map(|row| (row.get(0), row)).collect())
}

/// How instance `id` answered message `msg`; `NotFound` if it has no such message. A message
/// left open by an instance that has ended (posted as it ended) is answered `Ended`.
pub(super) async fn answer(
    client: &impl GenericClient,
    flow: &str,
    id: &InstanceId,
    msg: MessageId,
) -> Result<Option<Answer>, StoreError> {
    let Ok(number) = i64::try_from(msg.0) else {
        return Err(StoreError::NotFound {
            flow: flow.to_string().into(),
            id: id.clone(),
        });
    };
    let row = sql::query_opt(
        client,
        "SELECT b.answer, i.status, i.state_name
             FROM workflow.inbox b JOIN workflow.instances i USING (num)
             WHERE b.msg = $3 AND i.flow = $1 AND i.id = $2",
        &[&flow, &id.as_str(), &number],
    )
    .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound {
            flow: flow.to_string().into(),
            id: id.clone(),
        });
    };
    if let Some(text) = row.get::<_, Option<&str>>(0) {
        return serde_json::from_str(text)
            .map(Some)
            .map_err(|e| corrupt(flow, id.as_str(), "answer", e));
    }
    let status_text: &str = row.get(1);
    match Status::parse(status_text) {
        Some(Status::Running) => Ok(None),
        Some(status) => Ok(Some(Answer::Ended {
            status,
            state: row.get::<_, String>(2).into(),
        })),
        None => Err(corrupt(flow, id.as_str(), "status", status_text)),
    }
}

/// Every instance of `flow` (or only the running ones), by id.
pub(super) async fn summaries(
    client: &impl GenericClient,
    flow: &str,
    running_only: bool,
) -> Result<Vec<Summary>, StoreError> {
    let rows = sql::query(
        client,
        "SELECT id, status, fingerprint, state_name, seq FROM workflow.instances
             WHERE flow = $1 AND (status = 'running' OR NOT $2) ORDER BY id",
        &[&flow, &running_only],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let id: &str = row.get(0);
            let status_text: &str = row.get(1);
            let fingerprint: Fingerprint = row
                .get::<_, &str>(2)
                .parse()
                .map_err(|e| corrupt(flow, id, "fingerprint", e))?;
            let mut summary = Summary::of(&Snapshot::new(
                flow.to_string(),
                InstanceId::new(id),
                fingerprint,
                row.get::<_, String>(3),
                "",
            ));
            summary.status = Status::parse(status_text).ok_or_else(|| {
                corrupt(
                    flow,
                    id,
                    "status",
                    format!("`{status_text}` is not a status"),
                )
            })?;
            summary.seq = number(flow, id, "seq", row.get(4))?;
            Ok(summary)
        })
        .collect()
}

/// Instance `id`'s records, in order.
pub(super) async fn history(
    client: &impl GenericClient,
    flow: &str,
    id: &str,
) -> Result<Vec<Record>, StoreError> {
    let rows = sql::query(
        client,
        "SELECT r.record FROM workflow.records r JOIN workflow.instances i USING (num)
             WHERE i.flow = $1 AND i.id = $2 ORDER BY r.seq",
        &[&flow, &id],
    )
    .await?;
    rows.iter()
        .map(|row| serde_json::from_str(row.get(0)).map_err(|e| corrupt(flow, id, "record", e)))
        .collect()
}
