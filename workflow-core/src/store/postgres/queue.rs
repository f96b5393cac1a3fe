//! The queue: claiming one instance or whatever is due (`FOR UPDATE SKIP LOCKED`, so workers
//! asking at the same moment take different instances and never wait on each other),
//! renewing leases, handing claims back.
//!
//! A claim is the instance row's `worker`, `lease_until` and `token`: taking it sets the
//! worker and the lease and draws a new token, in the same statement that finds it free
//! (nobody holds it, or the holder's lease ended before the asking worker's now).

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use super::errors::int;
use super::notify::{Kind, payload};
use super::reads::{inbox_item, inboxes, snapshot};
use super::sql;
use crate::InstanceId;
use crate::store::{Claim, Claimed, Due, FlowVersion, Lease, Name, StoreError};

/// An instance claimed, before its snapshot is read: `(num, flow, id, token, snapshot)`.
struct Taken {
    num: i64,
    claim: Claim,
    snapshot: String,
}

fn taken(row: &Row, lease: &Lease) -> Taken {
    let flow: String = row.get(1);
    let id: &str = row.get(2);
    let token: i64 = row.get(3);
    Taken {
        num: row.get(0),
        claim: Claim::new(
            Name::Owned(flow),
            InstanceId::new(id),
            lease.worker.clone(),
            u64::try_from(token).unwrap_or_default(),
        ),
        snapshot: row.get(4),
    }
}

/// Reads the snapshots and inboxes of `taken` into `due`.
async fn read_into(
    client: &impl GenericClient,
    taken: Vec<Taken>,
    due: &mut Due,
) -> Result<(), StoreError> {
    let nums: Vec<i64> = taken.iter().map(|t| t.num).collect();
    let mut messages = inboxes(client, &nums).await?;
    for one in taken {
        let (flow, id) = (&*one.claim.flow, one.claim.id.as_str());
        let inbox: Result<Vec<_>, _> = messages
            .iter()
            .filter(|(num, _)| *num == one.num)
            .map(|(_, row)| inbox_item(flow, id, row, 1))
            .collect();
        match snapshot(flow, id, &one.snapshot).and_then(|s| inbox.map(|i| (s, i))) {
            Ok((snapshot, inbox)) => due.claimed.push(Claimed::new(one.claim, snapshot, inbox)),
            Err(error) => due.unreadable.push((one.claim, error)),
        }
    }
    messages.clear();
    Ok(())
}

/// Claims instance `id` of `flow` for `lease`, if it runs and is free. Run in a
/// transaction: an instance whose data cannot be read is not claimed (the caller rolls back
/// on the error).
pub(super) async fn claim(
    client: &impl GenericClient,
    flow: &str,
    id: &InstanceId,
    lease: &Lease,
) -> Result<Option<Claimed>, StoreError> {
    let row = sql::query_opt(client, "UPDATE workflow.instances SET worker = $3, token = nextval('workflow.claim_tokens'), lease_until = $5
             WHERE flow = $1 AND id = $2 AND status = 'running'
               AND (worker IS NULL OR lease_until < $4)
             RETURNING num, flow, id, token, snapshot", &[
                &flow,
                &id.as_str(),
                &lease.worker.as_str(),
                &int("a time of", lease.now_ms)?,
                &int("a time of", lease.until_ms)?,
            ],).await?;
    let Some(row) = row else {
        let exists = sql::query_opt(
            client,
            "SELECT 1 FROM workflow.instances WHERE flow = $1 AND id = $2",
            &[&flow, &id.as_str()],
        )
        .await?;
        return match exists {
            Some(_) => Ok(None),
            None => Err(StoreError::NotFound {
                flow: flow.to_string().into(),
                id: id.clone(),
            }),
        };
    };
    let mut due = Due::default();
    read_into(client, vec![taken(&row, lease)], &mut due).await?;
    if let Some((_, error)) = due.unreadable.pop() {
        return Err(error);
    }
    Ok(due.claimed.pop())
}

/// Claims up to `limit` instances of `flows` that are due: their wake time has come (earliest
/// first), then those with unanswered messages. Run in a transaction: on an error, nothing
/// is claimed.
pub(super) async fn claim_due(
    client: &impl GenericClient,
    flows: &[FlowVersion],
    lease: &Lease,
    limit: usize,
) -> Result<Due, StoreError> {
    let names: Vec<&str> = flows.iter().map(|v| &*v.name).collect();
    let fingerprints: Vec<String> = flows.iter().map(|v| v.fingerprint.to_string()).collect();
    let now = int("a time of", lease.now_ms)?;
    let until = int("a time of", lease.until_ms)?;
    let worker = lease.worker.as_str();
    let mut due = Due::default();
    let mut taken_rows = Vec::new();
    for sql in [DUE_BY_TIME, DUE_BY_MESSAGE] {
        let room = limit.saturating_sub(taken_rows.len());
        if room == 0 {
            break;
        }
        let rows = sql::query(
            client,
            sql,
            &[
                &now,
                &names,
                &fingerprints,
                &i64::try_from(room).unwrap_or(i64::MAX),
                &worker,
                &until,
            ],
        )
        .await?;
        taken_rows.extend(rows.iter().map(|row| taken(row, lease)));
    }
    read_into(client, taken_rows, &mut due).await?;
    due.next_ms = next_ms(client, &names, &fingerprints, now, worker).await?;
    Ok(due)
}

/// Claims instances whose wake time has come. Parameters: now, flow names, fingerprints,
/// limit, worker, lease end.
const DUE_BY_TIME: &str = "
WITH due AS (
    SELECT num FROM workflow.instances
    WHERE status = 'running' AND wake_ms <= $1
      AND (worker IS NULL OR lease_until < $1)
      AND (flow, fingerprint) IN (SELECT * FROM unnest($2::text[], $3::text[]))
    ORDER BY wake_ms
    LIMIT $4
    FOR UPDATE SKIP LOCKED
)
UPDATE workflow.instances i SET worker = $5, token = nextval('workflow.claim_tokens'), lease_until = $6
FROM due WHERE i.num = due.num
RETURNING i.num, i.flow, i.id, i.token, i.snapshot";

/// Claims instances with unanswered messages; parameters as [`DUE_BY_TIME`].
const DUE_BY_MESSAGE: &str = "
WITH due AS (
    SELECT i.num FROM workflow.instances i
    WHERE i.num IN (SELECT num FROM workflow.inbox WHERE answer IS NULL)
      AND i.status = 'running'
      AND (i.worker IS NULL OR i.lease_until < $1)
      AND (i.flow, i.fingerprint) IN (SELECT * FROM unnest($2::text[], $3::text[]))
    LIMIT $4
    FOR UPDATE OF i SKIP LOCKED
)
UPDATE workflow.instances i SET worker = $5, token = nextval('workflow.claim_tokens'), lease_until = $6
FROM due WHERE i.num = due.num
RETURNING i.num, i.flow, i.id, i.token, i.snapshot";

/// When the next instance this worker may run comes due: the earliest future wake time of
/// a free instance, or the end of another worker's lease on one with a wake time.
async fn next_ms(
    client: &impl GenericClient,
    names: &[&str],
    fingerprints: &[String],
    now: i64,
    worker: &str,
) -> Result<Option<u64>, StoreError> {
    let row = sql::query_one(
        client,
        "SELECT least(
                 (SELECT wake_ms FROM workflow.instances
                  WHERE status = 'running' AND wake_ms > $1
                    AND (worker IS NULL OR lease_until < $1)
                    AND (flow, fingerprint) IN (SELECT * FROM unnest($2::text[], $3::text[]))
                  ORDER BY wake_ms LIMIT 1),
                 (SELECT min(lease_until) + 1 FROM workflow.instances
                  WHERE worker IS NOT NULL AND worker <> $4 AND lease_until >= $1
                    AND status = 'running' AND wake_ms IS NOT NULL
                    AND flow = ANY($2))),
             pg_notification_queue_usage()",
        &[&now, &names, &fingerprints, &worker],
    )
    .await?;
    // Notifications are sent inside every write: a process that listens but stops reading
    // (paused, hung) keeps the server's queue from emptying, and once it is full, writes fail.
    let usage: f64 = row.get(1);
    if usage > 0.5 {
        tracing::warn!(
            usage = format!("{:.0}%", usage * 100.0),
            "PostgreSQL's notification queue is filling: a listening process has stopped \
             reading (see pg_stat_activity for a LISTEN connection idle for long)"
        );
    }
    Ok(row
        .get::<_, Option<i64>>(0)
        .and_then(|at| u64::try_from(at).ok()))
}

/// The instances `worker` holds that have unanswered messages: a notification about them
/// may have been lost.
pub(super) async fn held_with_messages(
    client: &Client,
    lease: &Lease,
) -> Result<Vec<(Name, InstanceId)>, StoreError> {
    let rows = sql::query(
        client,
        "SELECT DISTINCT i.flow, i.id FROM workflow.inbox b JOIN workflow.instances i USING (num)
             WHERE b.answer IS NULL AND i.worker = $1 AND i.lease_until >= $2
               AND i.status = 'running'",
        &[&lease.worker.as_str(), &int("a time of", lease.now_ms)?],
    )
    .await?;
    Ok(rows
        .iter()
        .map(|row| {
            (
                Name::Owned(row.get::<_, String>(0)),
                InstanceId::new(row.get::<_, &str>(1)),
            )
        })
        .collect())
}

/// Extends `claims` to `lease.until_ms`; returns the lost ones.
pub(super) async fn renew(
    client: &Client,
    claims: &[Claim],
    lease: &Lease,
) -> Result<Vec<Claim>, StoreError> {
    const RENEW: &str = "UPDATE workflow.instances i SET lease_until = $4
             FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x (flow, id, token)
             WHERE i.flow = x.flow AND i.id = x.id AND i.token = x.token AND i.worker = $5
             RETURNING i.flow, i.id, i.token";
    let flows: Vec<&str> = claims.iter().map(|c| &*c.flow).collect();
    let ids: Vec<&str> = claims.iter().map(|c| c.id.as_str()).collect();
    let tokens = claims
        .iter()
        .map(|c| int("a claim token", c.token))
        .collect::<Result<Vec<_>, _>>()?;
    let rows = sql::query(
        client,
        RENEW,
        &[
            &flows,
            &ids,
            &tokens,
            &int("a time of", lease.until_ms)?,
            &lease.worker.as_str(),
        ],
    )
    .await?;
    let kept: std::collections::HashSet<(&str, &str, i64)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    Ok(claims
        .iter()
        .filter(|c| {
            let token = i64::try_from(c.token).unwrap_or(-1);
            c.worker != lease.worker || !kept.contains(&(&*c.flow, c.id.as_str(), token))
        })
        .cloned()
        .collect())
}

/// Hands `claim` back; `true` if the instance has work due at once, which other processes
/// are told about (the store `origin` tells its own watch).
pub(super) async fn release(
    client: &Client,
    origin: u64,
    claim: &Claim,
) -> Result<bool, StoreError> {
    const RELEASE: &str = "WITH i AS (
                 UPDATE workflow.instances SET worker = NULL
                 WHERE flow = $1 AND id = $2 AND token = $3 AND worker = $4
                 RETURNING status, wake_ms
             ), n AS (
                 SELECT pg_notify('workflow', $5::text) FROM i
                 WHERE status = 'running' AND wake_ms = 0 AND $5::text IS NOT NULL
             )
             SELECT (SELECT count(*) FROM n), (SELECT count(*) FROM i
                 WHERE status = 'running' AND wake_ms = 0)";
    let note = payload(origin, Kind::Released, &claim.flow, claim.id.as_str());
    let row = sql::query_one(
        client,
        RELEASE,
        &[
            &&*claim.flow,
            &claim.id.as_str(),
            &int("a claim token", claim.token)?,
            &claim.worker.as_str(),
            &note,
        ],
    )
    .await?;
    Ok(row.get::<_, i64>(1) > 0)
}
