//! Running a statement: prepared once per connection (the pool keeps each connection's
//! statements), its errors as the store's.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::errors::backend;
use crate::store::StoreError;

/// Parameters of a statement.
pub(super) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The rows `sql` returns.
pub(super) async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query(&statement, params).await.map_err(backend)
}

/// The row `sql` returns, if any.
pub(super) async fn query_opt(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query_opt(&statement, params).await.map_err(backend)
}

/// The one row `sql` returns.
pub(super) async fn query_one(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Row, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(backend)?;
    client.query_one(&statement, params).await.map_err(backend)
}
