//! Writes: creating instances, committing under a claim, posting messages, each one
//! statement, atomic on its own, with the notification for other processes in it.
//!
//! A post locks the instance's row, so that posts to one instance follow each other: their
//! message numbers become visible in the order they were drawn, and a worker that has read up
//! to one number never misses a lower one committed later.
//!
//! An ending commit answers the instance's open messages [`Answer::Ended`]. A message posted
//! at that very moment is either refused (the post waits for the instance's row, then sees
//! it ended) or, if its statement read the instance before the ending committed, left
//! unanswered: readers answer it `Ended` from the instance's status (see
//! [`reads::answer`](super::reads::answer)).

use deadpool_postgres::{Client, GenericClient};

use super::errors::{backend, int, is_unique_violation, json};
use super::notify::{Kind, payload};
use super::sql;
use crate::store::{
    Answer, Claim, Commit, Committed, Lease, Message, MessageId, Record, Snapshot, Status,
    StoreError, Wake,
};

fn wake_column(wake: Wake) -> Result<Option<i64>, StoreError> {
    wake.due_ms().map(|at| int("a due time of", at)).transpose()
}

/// Creates an instance, claimed by `lease` if given; returns its claim token, or `None` if
/// it exists already.
pub(super) async fn create(
    client: &impl GenericClient,
    origin: u64,
    snapshot: &Snapshot,
    record: &Record,
    wake: Wake,
    lease: Option<&Lease>,
) -> Result<Option<i64>, StoreError> {
    const CREATE: &str = "
        WITH i AS (
             INSERT INTO workflow.instances (flow, id, fingerprint, created_ms, status, seq,
                 state_name, snapshot, wake_ms, worker, token, lease_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text,
                 CASE WHEN $10::text IS NULL THEN 0 ELSE nextval('workflow.claim_tokens') END, $11)
             ON CONFLICT (flow, id) DO NOTHING
             RETURNING num, token
         ), r AS (
             INSERT INTO workflow.records (num, seq, record) SELECT num, $12, $13 FROM i
         ), n AS (
             SELECT pg_notify('workflow', $14::text) FROM i WHERE $14::text IS NOT NULL
         )
         SELECT token, (SELECT count(*) FROM n) FROM i";
    let note = match lease {
        None => payload(origin, Kind::Created, &snapshot.flow, snapshot.id.as_str()),
        Some(_) => None,
    };
    let row = sql::query_opt(
        client,
        CREATE,
        &[
            &&*snapshot.flow,
            &snapshot.id.as_str(),
            &snapshot.fingerprint.to_string(),
            &int("a time of", snapshot.at_ms)?,
            &snapshot.status.as_str(),
            &int("a sequence number", snapshot.seq)?,
            &&*snapshot.state_name,
            &json(snapshot)?,
            &wake_column(wake)?,
            &lease.map(|l| l.worker.as_str()),
            &lease.map_or(Ok(0), |l| int("a time of", l.until_ms))?,
            &int("a sequence number", record.seq)?,
            &json(record)?,
            &note,
        ],
    )
    .await?;
    Ok(row.map(|row| row.get(0)))
}

/// Why a fenced write changed nothing: the claim is gone, or the records do not follow.
async fn refusal(
    client: &impl GenericClient,
    claim: &Claim,
    expected: u64,
) -> Result<StoreError, StoreError> {
    let row = sql::query_opt(
        client,
        "SELECT token, worker, seq FROM workflow.instances WHERE flow = $1 AND id = $2",
        &[&&*claim.flow, &claim.id.as_str()],
    )
    .await?;
    let lost = || StoreError::ClaimLost {
        flow: claim.flow.clone(),
        id: claim.id.clone(),
    };
    let Some(row) = row else { return Ok(lost()) };
    let (token, worker, seq): (i64, Option<&str>, i64) = (row.get(0), row.get(1), row.get(2));
    if u64::try_from(token).ok() != Some(claim.token) || worker != Some(claim.worker.as_str()) {
        return Ok(lost());
    }
    Ok(StoreError::Conflict {
        id: claim.id.clone(),
        expected,
        found: u64::try_from(seq).unwrap_or_default(),
    })
}

/// Writes a commit, fenced by the claim's token and the stored sequence number. Parameters:
/// flow, id, token, worker; seq, status, state name, snapshot, wake, whether the claim ends;
/// the sequence number it follows; records (seqs, JSON); answers (messages, JSON); the
/// notification; for an ending, the answer every other open message gets; the posts (flows,
/// ids, kinds, names, payloads), when they are posted, and their notifications; the new
/// fingerprint of a migration. A post goes only to an instance that runs, and a second cancel
/// is dropped (see `Post`).
const COMMIT: &str = "
WITH i AS (
    UPDATE workflow.instances
    SET seq = $5, status = $6, state_name = $7, snapshot = $8, wake_ms = $9,
        worker = CASE WHEN $10 THEN NULL ELSE worker END,
        fingerprint = coalesce($25::text, fingerprint)
    WHERE flow = $1 AND id = $2 AND token = $3 AND worker = $4 AND seq = $11
    RETURNING num
), r AS (
    INSERT INTO workflow.records (num, seq, record)
    SELECT i.num, x.seq, x.record FROM i, unnest($12::bigint[], $13::text[]) AS x (seq, record)
), a AS (
    UPDATE workflow.inbox b
    SET answer = coalesce(
        (SELECT x.answer FROM unnest($14::bigint[], $15::text[]) AS x (msg, answer)
         WHERE x.msg = b.msg LIMIT 1),
        $17::text)
    FROM i
    WHERE b.num = i.num AND b.answer IS NULL AND (b.msg = ANY($14) OR $17::text IS NOT NULL)
), n AS (
    SELECT pg_notify('workflow', $16::text) FROM i WHERE $16::text IS NOT NULL
), t AS (
    SELECT t.num, x.kind, x.name, x.payload
    FROM i, unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::text[])
        AS x (flow, id, kind, name, payload)
    JOIN workflow.instances t ON t.flow = x.flow AND t.id = x.id
    WHERE t.status = 'running'
    FOR NO KEY UPDATE OF t
), p AS (
    INSERT INTO workflow.inbox (num, kind, name, payload, posted_ms)
    SELECT num, kind, name, payload, $23 FROM t
    ON CONFLICT DO NOTHING
), pn AS (
    SELECT pg_notify('workflow', x.note) FROM i, unnest($24::text[]) AS x (note)
    WHERE x.note IS NOT NULL
)
SELECT num, (SELECT count(*) FROM n), (SELECT count(*) FROM pn) FROM i";

/// A commit's values as the statement takes them.
struct Columns {
    token: i64,
    seq: i64,
    snapshot: String,
    wake: Option<i64>,
    ends_claim: bool,
    after: i64,
    seqs: Vec<i64>,
    records: Vec<String>,
    msgs: Vec<i64>,
    answers: Vec<String>,
    note: Option<String>,
    ended: Option<String>,
    posts: Posts,
}

/// A commit's posts, one array per column.
#[derive(Default)]
struct Posts {
    flows: Vec<String>,
    ids: Vec<String>,
    kinds: Vec<String>,
    names: Vec<Option<String>>,
    payloads: Vec<Option<String>>,
    notes: Vec<Option<String>>,
}

impl Posts {
    fn of(origin: u64, commit: &Commit) -> Self {
        let mut posts = Self::default();
        for post in &commit.posts {
            let (kind, name, text) = post.message.columns();
            posts.flows.push(post.flow.to_string());
            posts.ids.push(post.id.as_str().to_string());
            posts.kinds.push(kind.to_string());
            posts.names.push(name.map(str::to_string));
            posts.payloads.push(text.map(str::to_string));
            let note = payload(origin, Kind::Posted, &post.flow, post.id.as_str());
            posts.notes.push(note);
        }
        posts
    }
}

impl Columns {
    /// The columns of `commit` under `claim`; `after` is the sequence number it follows.
    fn of(origin: u64, claim: &Claim, commit: &Commit, after: u64) -> Result<Self, StoreError> {
        let snapshot = &commit.snapshot;
        let ending = snapshot.status.is_finished();
        let told = Committed::of(commit);
        let kind = if told.released_due {
            Some(Kind::Released)
        } else if told.wakes {
            Some(Kind::Changed)
        } else {
            None
        };
        Ok(Self {
            token: int("a claim token", claim.token)?,
            seq: int("a sequence number", snapshot.seq)?,
            snapshot: json(&**snapshot)?,
            wake: if ending {
                None
            } else {
                wake_column(commit.wake)?
            },
            ends_claim: commit.release || ending,
            after: int("a sequence number", after)?,
            seqs: commit
                .records
                .iter()
                .map(|r| int("a sequence number", r.seq))
                .collect::<Result<_, _>>()?,
            records: commit.records.iter().map(json).collect::<Result<_, _>>()?,
            msgs: commit
                .answers
                .iter()
                .map(|(m, _)| int("a message number", m.0))
                .collect::<Result<_, _>>()?,
            answers: commit
                .answers
                .iter()
                .map(|(_, a)| json(a))
                .collect::<Result<_, _>>()?,
            note: kind.and_then(|kind| payload(origin, kind, &claim.flow, claim.id.as_str())),
            ended: ending
                .then(|| {
                    json(&Answer::Ended {
                        status: snapshot.status,
                        state: snapshot.state_name.clone(),
                    })
                })
                .transpose()?,
            posts: Posts::of(origin, commit),
        })
    }
}

/// The sequence number `commit`'s records follow, if they are numbered one after another
/// up to its snapshot.
fn follows(commit: &Commit) -> Option<u64> {
    let snapshot = &commit.snapshot;
    let after = commit
        .records
        .first()
        .map_or(snapshot.seq, |r| r.seq.saturating_sub(1));
    let consecutive = (after + 1..).zip(&commit.records).all(|(n, r)| r.seq == n);
    let reaches = commit.records.last().is_none_or(|r| r.seq == snapshot.seq);
    (consecutive && reaches).then_some(after)
}

/// Writes `commit` under `claim`, in one statement.
pub(super) async fn commit(
    client: &Client,
    origin: u64,
    claim: &Claim,
    commit: &Commit,
) -> Result<(), StoreError> {
    let snapshot = &commit.snapshot;
    let Some(after) = follows(commit) else {
        return Err(StoreError::Conflict {
            id: snapshot.id.clone(),
            expected: commit
                .records
                .first()
                .map_or(0, |r| r.seq.saturating_sub(1)),
            found: snapshot.seq,
        });
    };
    let c = Columns::of(origin, claim, commit, after)?;
    let at_ms = int("a time of", snapshot.at_ms)?;
    let migrated = commit.migrated.then(|| snapshot.fingerprint.to_string());
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 25] = [
        &&*claim.flow,
        &claim.id.as_str(),
        &c.token,
        &claim.worker.as_str(),
        &c.seq,
        &snapshot.status.as_str(),
        &&*snapshot.state_name,
        &c.snapshot,
        &c.wake,
        &c.ends_claim,
        &c.after,
        &c.seqs,
        &c.records,
        &c.msgs,
        &c.answers,
        &c.note,
        &c.ended,
        &c.posts.flows,
        &c.posts.ids,
        &c.posts.kinds,
        &c.posts.names,
        &c.posts.payloads,
        &at_ms,
        &c.posts.notes,
        &migrated,
    ];
    let row = sql::query_opt(client, COMMIT, &params).await?;
    match row {
        Some(_) => Ok(()),
        None => Err(refusal(client, claim, after).await?),
    }
}

/// Posts `message` to instance `id` of `flow`.
pub(super) async fn post(
    client: &impl GenericClient,
    origin: u64,
    flow: &str,
    id: &crate::InstanceId,
    message: &Message,
    at_ms: u64,
) -> Result<MessageId, StoreError> {
    const POST: &str = "
        WITH i AS (
             SELECT num, status FROM workflow.instances WHERE flow = $1 AND id = $2
             FOR NO KEY UPDATE
         ), m AS (
             INSERT INTO workflow.inbox (num, kind, name, payload, posted_ms)
             SELECT num, $3, $4, $5, $6 FROM i WHERE status = 'running'
             RETURNING msg
         ), n AS (
             SELECT pg_notify('workflow', $7::text) FROM m WHERE $7::text IS NOT NULL
         )
         SELECT (SELECT msg FROM m), (SELECT status FROM i), (SELECT count(*) FROM n)";
    let (kind, name, text) = message.columns();
    let note = payload(origin, Kind::Posted, flow, id.as_str());
    let statement = client.prepare_cached(POST).await.map_err(backend)?;
    let row = client
        .query_one(
            &statement,
            &[
                &flow,
                &id.as_str(),
                &kind,
                &name,
                &text,
                &int("a time of", at_ms)?,
                &note,
            ],
        )
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::CancelPosted {
                    flow: flow.to_string().into(),
                    id: id.clone(),
                }
            } else {
                backend(error)
            }
        })?;
    let (msg, status): (Option<i64>, Option<&str>) = (row.get(0), row.get(1));
    match (msg, status.map(Status::parse)) {
        (Some(msg), _) => Ok(MessageId(u64::try_from(msg).unwrap_or_default())),
        (None, None) => Err(StoreError::NotFound {
            flow: flow.to_string().into(),
            id: id.clone(),
        }),
        (None, Some(Some(status))) => Err(StoreError::Ended {
            flow: flow.to_string().into(),
            id: id.clone(),
            status,
        }),
        (None, Some(None)) => Err(crate::store::error::corrupt(
            flow,
            id.as_str(),
            "status",
            status.unwrap_or_default(),
        )),
    }
}
