//! The store's tables in a PostgreSQL database, in a schema of their own (`workflow`), made
//! and upgraded by numbered migrations. Migrations run in one transaction under an advisory
//! lock, so that workers starting together wait for each other instead of racing, and a
//! database made by a newer version of the library is refused untouched.

use tokio_postgres::Client;

use super::errors::backend;
use crate::store::StoreError;

/// The key of the advisory lock migrations hold: "WKFL".
const LOCK: i64 = 0x574B_464C;

/// One step of the schema, applied once per database, in order.
struct Migration {
    version: i32,
    description: &'static str,
    sql: &'static str,
}

/// The tables:
///
/// - `instances`: one row per instance, with its latest snapshot (JSON), the columns the
///   queue is read by (status, `wake_ms`: 0 at once, a due time, or `NULL` for only when a
///   message arrives) and its claim (`worker`, `lease_until`, and `token`, drawn from the
///   sequence `claim_tokens` at every claim, so no two claims share one, and fencing every
///   write). Ids are compared as bytes (`COLLATE "C"`), as in
///   the other stores.
/// - `records`: the history, one row per record.
/// - `inbox`: events and cancels, each with its answer once decided; the open ones are
///   indexed, and an instance has at most one cancel.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "instances, records and inbox",
    sql: r#"
CREATE SEQUENCE workflow.claim_tokens;
CREATE TABLE workflow.instances (
    num         bigserial PRIMARY KEY,
    flow        text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    fingerprint text   NOT NULL,
    created_ms  bigint NOT NULL,
    status      text   NOT NULL,
    seq         bigint NOT NULL,
    state_name  text   NOT NULL,
    snapshot    text   NOT NULL,
    wake_ms     bigint,
    worker      text,
    token       bigint NOT NULL DEFAULT 0,
    lease_until bigint NOT NULL DEFAULT 0,
    UNIQUE (flow, id)
) WITH (fillfactor = 50);
CREATE INDEX instances_due ON workflow.instances (wake_ms)
    WHERE status = 'running' AND wake_ms IS NOT NULL;
CREATE INDEX instances_held ON workflow.instances (lease_until)
    WHERE worker IS NOT NULL;
CREATE TABLE workflow.records (
    num    bigint NOT NULL REFERENCES workflow.instances (num),
    seq    bigint NOT NULL,
    record text   NOT NULL,
    PRIMARY KEY (num, seq)
);
CREATE TABLE workflow.inbox (
    msg       bigserial PRIMARY KEY,
    num       bigint NOT NULL REFERENCES workflow.instances (num),
    kind      text   NOT NULL,
    name      text,
    payload   text,
    posted_ms bigint NOT NULL,
    answer    text
);
CREATE INDEX inbox_open ON workflow.inbox (num, msg) WHERE answer IS NULL;
CREATE UNIQUE INDEX inbox_one_cancel ON workflow.inbox (num) WHERE kind = 'cancel';
"#,
}];

/// The newest schema version this library knows.
pub(super) fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |m| i64::from(m.version))
}

/// Brings the database's schema to the latest version: all of the missing migrations, or
/// (on any error) none of them.
///
/// # Errors
///
/// [`StoreError::SchemaVersion`] if the database is newer than this library; a backend error.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(backend)?;
    tx.batch_execute(
        "SET LOCAL client_min_messages = warning;
         CREATE SCHEMA IF NOT EXISTS workflow;
         CREATE TABLE IF NOT EXISTS workflow.migrations (
             version     integer PRIMARY KEY,
             description text NOT NULL,
             applied_at  timestamptz NOT NULL DEFAULT now()
         );",
    )
    .await
    .map_err(backend)?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM workflow.migrations",
            &[],
        )
        .await
        .map_err(backend)?
        .get(0);
    if i64::from(current) > latest() {
        return Err(StoreError::SchemaVersion {
            found: i64::from(current),
            supported: latest(),
        });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch_execute(migration.sql).await.map_err(backend)?;
        tx.execute(
            "INSERT INTO workflow.migrations (version, description) VALUES ($1, $2)",
            &[&migration.version, &migration.description],
        )
        .await
        .map_err(backend)?;
    }
    tx.commit().await.map_err(backend)
}

/// The database's schema version (0 before the first migration).
///
/// # Errors
///
/// A backend error.
pub(super) async fn version(client: &Client) -> Result<i64, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('workflow.migrations') IS NOT NULL", &[])
        .await
        .map_err(backend)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: i32 = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM workflow.migrations",
            &[],
        )
        .await
        .map_err(backend)?
        .get(0);
    Ok(i64::from(version))
}
