//! Running the read queries on either backend. The SQL is written once with `$1`-style
//! parameters (SQLite reads them as `?1`); sums are cast to `BIGINT` so both decode to `i64`.

use chrono::NaiveDate;
use event_store::Pool;
use sqlx::FromRow;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

/// One bound parameter.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    I(i64),
    T(String),
    D(NaiveDate),
}

macro_rules! bind_all {
    ($q:expr, $binds:expr) => {{
        let mut q = $q;
        for b in $binds {
            q = match b {
                Bind::I(x) => q.bind(*x),
                Bind::T(x) => q.bind(x.clone()),
                Bind::D(x) => q.bind(*x),
            };
        }
        q
    }};
}

/// Every row of `sql`.
pub(crate) async fn rows<T>(pool: &Pool, sql: &str, binds: &[Bind]) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    match pool {
        Pool::Postgres(p) => {
            bind_all!(sqlx::query_as::<_, T>(sql), binds)
                .fetch_all(p)
                .await
        }
        Pool::Sqlite(p) => {
            let sql = sql.replace('$', "?");
            bind_all!(sqlx::query_as::<_, T>(&sql), binds)
                .fetch_all(p)
                .await
        }
    }
}

/// The one row of `sql`.
pub(crate) async fn row<T>(pool: &Pool, sql: &str, binds: &[Bind]) -> Result<T, sqlx::Error>
where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
{
    rows(pool, sql, binds)
        .await?
        .into_iter()
        .next()
        .ok_or(sqlx::Error::RowNotFound)
}
