//! The read queries' two shapes (every row, the one row) over the store's storage seam
//! (`event_store::db`): the SQL is written once, with `$1`-style parameters, for both backends.

use event_store::Pool;
pub(crate) use event_store::db::Value;
use event_store::db::{Row, query};

/// Every row of `sql`.
pub(crate) async fn rows<T: Row>(
    pool: &Pool,
    sql: &str,
    values: &[Value],
) -> Result<Vec<T>, sqlx::Error> {
    query(sql)
        .bind_all(values.iter().cloned())
        .fetch_all(pool)
        .await
}

/// The one row of `sql`.
pub(crate) async fn row<T: Row>(
    pool: &Pool,
    sql: &str,
    values: &[Value],
) -> Result<T, sqlx::Error> {
    query(sql)
        .bind_all(values.iter().cloned())
        .fetch_one(pool)
        .await
}
