//! Writing [`crate::model::Changes`] into the read tables: one multi-row upsert per table (rows
//! merged by key first), the same SQL on Postgres and SQLite but for placeholders and the
//! NULL-aware min/max. Tables get a suffix during a rebuild (`_rebuild`). Each table's row type
//! is in `tables.rs`, `COPY`'s text format in `copy.rs`, the keys a rebuild has written in
//! `fresh.rs`.

mod copy;
mod fresh;
mod tables;

use chrono::NaiveDate;
use event_store::Pool;
use event_store::db::Value;

pub(crate) use fresh::FreshKeys;
pub(crate) use tables::{Sealing, USER_TABLES, upserts};

/// How a column merges into an existing row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    /// Part of the primary key.
    Key,
    Add,
    /// The earliest non-null.
    Min,
    /// The latest non-null.
    Max,
    /// The new value when it is not null.
    Latest,
    /// The day of the earliest `first_seen_us` (users only).
    FirstSeenDay,
    /// The new value, even when null (a running state written whole).
    Replace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    pub(crate) fn of(pool: &Pool) -> Dialect {
        match pool {
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// The `n`th bound value. SQLite's are plain `?`, bound in order of appearance: sqlx
    /// looks numbered ones up by name, which is quadratic in a multi-row insert. So a statement
    /// uses each value once, in order.
    pub(crate) fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => "?".to_owned(),
        }
    }
}

/// A multi-row upsert into one table.
#[derive(Debug)]
pub(crate) struct Upsert {
    pub table: &'static str,
    pub columns: &'static [(&'static str, Merge)],
    pub rows: Vec<Vec<Value>>,
    /// Plain inserts, no `ON CONFLICT` (rows known to be new, possibly into a table whose key
    /// is not built yet).
    pub insert_only: bool,
    /// Rows whose keys the table cannot hold yet (see [`FreshKeys`]), written with `COPY`
    /// before `rows` are upserted (Postgres).
    pub new_rows: Vec<Vec<Value>>,
}

/// Most bound values in one statement (SQLite allows 32766, Postgres 65535).
const MAX_BINDS: usize = 30_000;

/// One column's values for an `UNNEST` bind (Postgres).
#[derive(Debug)]
enum Column {
    I(Vec<Option<i64>>),
    T(Vec<Option<String>>),
    D(Vec<Option<NaiveDate>>),
}

/// On Postgres: every upsert of a batch in one statement (a data-modifying CTE per table, one
/// round trip), each with one array bind per column (`INSERT … SELECT * FROM UNNEST($1::text[],
/// …) ON CONFLICT …`). The SQL text depends only on which tables have rows, so the server plans
/// it once per connection; a `VALUES` list with a bind per value is parsed and planned anew for
/// every row count, which cost more than writing the rows (docs/decisions/0007).
pub(crate) async fn write_pg(
    conn: &mut sqlx::PgConnection,
    upserts: Vec<Upsert>,
    suffix: &str,
) -> Result<(), sqlx::Error> {
    let mut ctes = Vec::new();
    let mut binds: Vec<Column> = Vec::new();
    for (i, mut upsert) in upserts.into_iter().enumerate() {
        if upsert.insert_only {
            upsert.new_rows.append(&mut upsert.rows);
        }
        if !upsert.new_rows.is_empty() {
            let rows = std::mem::take(&mut upsert.new_rows);
            upsert.copy(conn, suffix, rows).await?;
        }
        if upsert.rows.is_empty() {
            continue;
        }
        let (sql, columns) = upsert.unnest(suffix, binds.len())?;
        ctes.push(format!("w{i} AS ({sql})"));
        binds.extend(columns);
    }
    if ctes.is_empty() {
        return Ok(());
    }
    let sql = format!("WITH {} SELECT 1", ctes.join(", "));
    let mut q = sqlx::query(&sql);
    for c in binds {
        q = match c {
            Column::I(x) => q.bind(x),
            Column::T(x) => q.bind(x),
            Column::D(x) => q.bind(x),
        };
    }
    q.execute(conn).await?;
    Ok(())
}

/// Bytes sent per `COPY` message.
const COPY_CHUNK: usize = 1 << 20;

impl Upsert {
    /// Plain inserts with `COPY … FROM STDIN` (text format): the cheapest way into a table for
    /// Postgres, about half the work of an `INSERT … SELECT` per row.
    async fn copy(
        &self,
        conn: &mut sqlx::PgConnection,
        suffix: &str,
        rows: Vec<Vec<Value>>,
    ) -> Result<(), sqlx::Error> {
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY {}{suffix} ({}) FROM STDIN",
                self.table,
                self.column_names()
            ))
            .await?;
        let mut buf = Vec::with_capacity(COPY_CHUNK + 4096);
        for row in rows {
            copy::row(&mut buf, row)?;
            if buf.len() >= COPY_CHUNK {
                copy.send(std::mem::take(&mut buf)).await?;
                buf.reserve(COPY_CHUNK + 4096);
            }
        }
        if !buf.is_empty() {
            copy.send(buf).await?;
        }
        copy.finish().await?;
        Ok(())
    }

    /// The `INSERT … SELECT * FROM UNNEST(…)` of these rows, its parameters numbered after
    /// `bound`, and the arrays to bind.
    fn unnest(mut self, suffix: &str, bound: usize) -> Result<(String, Vec<Column>), sqlx::Error> {
        let n = self.rows.len();
        let mut columns: Vec<Column> = self.rows[0]
            .iter()
            .map(|v| match v {
                Value::Text(_) => Column::T(Vec::with_capacity(n)),
                Value::Date(_) => Column::D(Vec::with_capacity(n)),
                _ => Column::I(Vec::with_capacity(n)),
            })
            .collect();
        for row in std::mem::take(&mut self.rows) {
            for (column, value) in columns.iter_mut().zip(row) {
                match (column, value) {
                    (Column::I(c), Value::Int(x)) => c.push(x),
                    (Column::T(c), Value::Text(x)) => c.push(x),
                    (Column::D(c), Value::Date(x)) => c.push(x),
                    (_, value) => {
                        return Err(sqlx::Error::Protocol(format!(
                            "{}: a column mixes value kinds ({value:?})",
                            self.table
                        )));
                    }
                }
            }
        }
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let kind = match c {
                    Column::I(_) => "int8",
                    Column::T(_) => "text",
                    Column::D(_) => "date",
                };
                format!("${}::{kind}[]", bound + i + 1)
            })
            .collect();
        let sql = format!(
            "INSERT INTO {}{suffix} ({}) SELECT * FROM UNNEST({}){}",
            self.table,
            self.column_names(),
            arrays.join(", "),
            self.on_conflict(Dialect::Postgres, suffix)
        );
        Ok((sql, columns))
    }

    fn column_names(&self) -> String {
        self.columns
            .iter()
            .map(|(c, _)| *c)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn on_conflict(&self, dialect: Dialect, suffix: &str) -> String {
        if self.insert_only {
            return String::new();
        }
        let keys: Vec<&str> = self
            .columns
            .iter()
            .filter(|(_, m)| *m == Merge::Key)
            .map(|(c, _)| *c)
            .collect();
        let table = format!("{}{suffix}", self.table);
        let sets: Vec<String> = self
            .columns
            .iter()
            .filter(|(_, m)| *m != Merge::Key)
            .map(|(c, m)| format!("{c} = {}", merge_expr(dialect, &table, c, *m)))
            .collect();
        if sets.is_empty() {
            format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", "))
        } else {
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(", "),
                sets.join(", ")
            )
        }
    }

    /// The statements (SQL and values) that write these rows, in chunks under the bind limit:
    /// multi-row `VALUES` (SQLite).
    pub(crate) fn statements(&self, dialect: Dialect, suffix: &str) -> Vec<(String, Vec<Value>)> {
        let width = self.columns.len();
        let per_statement = (MAX_BINDS / width).max(1);
        self.rows
            .chunks(per_statement)
            .map(|rows| {
                let mut sql = format!(
                    "INSERT INTO {}{suffix} ({}) VALUES ",
                    self.table,
                    self.column_names()
                );
                let mut n = 0;
                for (i, _) in rows.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    sql.push('(');
                    for j in 0..width {
                        if j > 0 {
                            sql.push_str(", ");
                        }
                        n += 1;
                        sql.push_str(&dialect.placeholder(n));
                    }
                    sql.push(')');
                }
                sql.push_str(&self.on_conflict(dialect, suffix));
                (sql, rows.iter().flatten().cloned().collect())
            })
            .collect()
    }
}

fn merge_expr(dialect: Dialect, table: &str, c: &str, merge: Merge) -> String {
    let (least, greatest) = match dialect {
        Dialect::Postgres => ("LEAST", "GREATEST"),
        Dialect::Sqlite => ("MIN", "MAX"),
    };
    match merge {
        Merge::Key => format!("{table}.{c}"),
        Merge::Add => format!("{table}.{c} + excluded.{c}"),
        // Postgres' LEAST/GREATEST skip NULLs; SQLite's scalar MIN/MAX return NULL on one.
        Merge::Min => {
            format!("COALESCE({least}({table}.{c}, excluded.{c}), {table}.{c}, excluded.{c})")
        }
        Merge::Max => {
            format!("COALESCE({greatest}({table}.{c}, excluded.{c}), {table}.{c}, excluded.{c})")
        }
        Merge::Latest => format!("COALESCE(excluded.{c}, {table}.{c})"),
        Merge::Replace => format!("excluded.{c}"),
        Merge::FirstSeenDay => format!(
            "CASE WHEN excluded.first_seen_us < {table}.first_seen_us \
             THEN excluded.{c} ELSE {table}.{c} END"
        ),
    }
}
