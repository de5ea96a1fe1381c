//! The one storage seam: a statement written once runs on either backend. SQL is written with
//! Postgres's `$1`-style parameters (SQLite reads them as `?1`); sums and counts are cast to
//! `BIGINT` so both backends decode them to `i64`. Code whose SQL really differs per backend
//! (the append path, `COPY`, advisory locks, catalog queries) matches on [`Pool`] or [`Tx`];
//! everything else goes through [`query`] (docs/architecture.md, "Storage").
//!
//! ```no_run
//! # async fn example(store: &event_store::EventStore, after: i64) -> Result<(), sqlx::Error> {
//! use event_store::db;
//! let rows: Vec<(String, i64)> =
//!     db::query("SELECT name, position FROM checkpoints WHERE position > $1")
//!         .bind(after)
//!         .fetch_all(store.pool())
//!         .await?;
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, PgConnection, PgPool, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::BackendKind;

/// The store's connection pool, shared with the read models that live in the same database
/// (the projector writes them, the query API reads them).
#[derive(Debug, Clone)]
pub enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

impl Pool {
    pub fn kind(&self) -> BackendKind {
        match self {
            Pool::Postgres(_) => BackendKind::Postgres,
            Pool::Sqlite(_) => BackendKind::Sqlite,
        }
    }

    /// Starts a transaction. On SQLite it takes the write lock first (`BEGIN IMMEDIATE`): a
    /// transaction that reads and then writes could not upgrade its lock later.
    pub async fn begin(&self, durability: Durability) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Pool::Postgres(p) => Tx::Postgres(match durability {
                Durability::Flushed => p.begin().await?,
                Durability::Replayable => {
                    p.begin_with("BEGIN; SET LOCAL synchronous_commit = off")
                        .await?
                }
            }),
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    pub async fn close(&self) {
        match self {
            Pool::Postgres(p) => p.close().await,
            Pool::Sqlite(p) => p.close().await,
        }
    }
}

/// Whether a commit waits for the write-ahead log to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The commit is on disk when it returns (the log, keys, checkpoints of record).
    Flushed,
    /// Derived data that commits with its checkpoint: a commit lost in a database crash rolls
    /// back data and checkpoint together, and the events come again, so the commit need not
    /// wait for the flush (Postgres `synchronous_commit = off`; docs/decisions/0007).
    Replayable,
}

/// A transaction on either backend.
#[derive(Debug)]
pub enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    pub fn kind(&self) -> BackendKind {
        match self {
            Tx::Postgres(_) => BackendKind::Postgres,
            Tx::Sqlite(_) => BackendKind::Sqlite,
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Postgres(tx) => tx.commit().await,
            Tx::Sqlite(tx) => tx.commit().await,
        }
    }
}

/// Where a statement runs: a pool (any free connection) or an open transaction.
#[derive(Debug)]
pub enum On<'c> {
    PgPool(&'c PgPool),
    SqlitePool(&'c SqlitePool),
    Pg(&'c mut PgConnection),
    Sqlite(&'c mut SqliteConnection),
}

impl<'c> From<&'c Pool> for On<'c> {
    fn from(pool: &'c Pool) -> On<'c> {
        match pool {
            Pool::Postgres(p) => On::PgPool(p),
            Pool::Sqlite(p) => On::SqlitePool(p),
        }
    }
}

impl<'c> From<&'c mut Tx> for On<'c> {
    fn from(tx: &'c mut Tx) -> On<'c> {
        match tx {
            Tx::Postgres(t) => On::Pg(t),
            Tx::Sqlite(t) => On::Sqlite(t),
        }
    }
}

/// One bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
    Uuid(Option<Uuid>),
}

macro_rules! value_from {
    ($variant:ident: $($t:ty => $conv:expr),+ $(,)?) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(Some(($conv)(v)))
            }
        }
        impl From<Option<$t>> for Value {
            fn from(v: Option<$t>) -> Value {
                Value::$variant(v.map($conv))
            }
        }
    )+};
}

value_from!(Int: i64 => |v| v, u32 => i64::from, i32 => i64::from);
value_from!(Float: f64 => |v| v);
value_from!(Bool: bool => |v| v);
value_from!(Text: String => |v| v, &str => str::to_owned, &String => String::clone);
value_from!(Bytes: Vec<u8> => |v| v, &[u8] => <[u8]>::to_vec);
value_from!(Date: NaiveDate => |v| v);
value_from!(Time: DateTime<Utc> => |v| v);
value_from!(Uuid: Uuid => |v| v);

/// What a row decodes into on both backends (a tuple, or a `FromRow` struct).
pub trait Row: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin {}
impl<T> Row for T where T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{}

/// A statement and its parameters, not yet run.
#[derive(Debug, Clone)]
#[must_use = "a query does nothing until it is run"]
pub struct Query<'q> {
    sql: Cow<'q, str>,
    values: Vec<Value>,
}

/// A statement written once for both backends, with `$1`-style parameters.
pub fn query<'q>(sql: impl Into<Cow<'q, str>>) -> Query<'q> {
    Query {
        sql: sql.into(),
        values: Vec::new(),
    }
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                Value::Int(x) => q.bind(x),
                Value::Float(x) => q.bind(x),
                Value::Bool(x) => q.bind(x),
                Value::Text(x) => q.bind(x),
                Value::Bytes(x) => q.bind(x),
                Value::Date(x) => q.bind(x),
                Value::Time(x) => q.bind(x),
                Value::Uuid(x) => q.bind(x),
            };
        }
        q
    }};
}

/// Runs `$method` of a sqlx query built by `$make` from the SQL, on whichever backend `$on` is,
/// and maps each backend's result with `$then`.
macro_rules! run {
    ($self:ident, $on:ident, $make:expr, $method:ident, $then:expr) => {{
        let Query { sql, values } = $self;
        match $on.into() {
            On::PgPool(p) => bind_all!($make(&*sql), values).$method(p).await.map($then),
            On::Pg(c) => bind_all!($make(&*sql), values)
                .$method(&mut *c)
                .await
                .map($then),
            On::SqlitePool(p) => {
                let sql = sqlite_sql(&sql);
                bind_all!($make(&*sql), values).$method(p).await.map($then)
            }
            On::Sqlite(c) => {
                let sql = sqlite_sql(&sql);
                bind_all!($make(&*sql), values)
                    .$method(&mut *c)
                    .await
                    .map($then)
            }
        }
    }};
}

impl<'q> Query<'q> {
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Binds each of `values` in turn.
    pub fn bind_all(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.values.extend(values);
        self
    }

    /// Runs a statement; the number of rows it changed.
    pub async fn execute<'c>(self, on: impl Into<On<'c>>) -> Result<u64, sqlx::Error> {
        run!(self, on, sqlx::query, execute, |done| done.rows_affected())
    }

    pub async fn fetch_all<'c, T: Row>(self, on: impl Into<On<'c>>) -> Result<Vec<T>, sqlx::Error> {
        run!(self, on, sqlx::query_as, fetch_all, |rows| rows)
    }

    pub async fn fetch_optional<'c, T: Row>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<T>, sqlx::Error> {
        run!(self, on, sqlx::query_as, fetch_optional, |rows| rows)
    }

    pub async fn fetch_one<'c, T: Row>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error> {
        run!(self, on, sqlx::query_as, fetch_one, |rows| rows)
    }

    /// The first column of the one row.
    pub async fn scalar<'c, T>(self, on: impl Into<On<'c>>) -> Result<T, sqlx::Error>
    where
        (T,): Row,
    {
        Ok(self.fetch_one::<(T,)>(on).await?.0)
    }

    /// The first column of the first row, if there is one.
    pub async fn optional_scalar<'c, T>(
        self,
        on: impl Into<On<'c>>,
    ) -> Result<Option<T>, sqlx::Error>
    where
        (T,): Row,
    {
        Ok(self.fetch_optional::<(T,)>(on).await?.map(|(v,)| v))
    }

    /// The first column of every row.
    pub async fn scalars<'c, T>(self, on: impl Into<On<'c>>) -> Result<Vec<T>, sqlx::Error>
    where
        (T,): Row,
    {
        Ok(self
            .fetch_all::<(T,)>(on)
            .await?
            .into_iter()
            .map(|(v,)| v)
            .collect())
    }
}

/// `$n` parameters as SQLite's `?n`. SQL whose parameters are already plain `?` (the
/// projector's multi-row inserts, bound in order) is left as it is.
fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// `$from, $from+1, …` for `n` values: the parameter list of an `IN (…)`.
pub fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_reads_numbered_parameters_and_leaves_plain_ones() {
        assert_eq!(sqlite_sql("a = $1 AND b = $12"), "a = ?1 AND b = ?12");
        assert!(matches!(sqlite_sql("VALUES (?, ?)"), Cow::Borrowed(_)));
    }

    #[test]
    fn placeholders_count_from_where_they_start() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
