//! Writing [`Changes`] into the read tables: one multi-row upsert per table (rows merged by key
//! first), the same SQL on Postgres and SQLite but for placeholders and the NULL-aware
//! min/max. Tables get a suffix during a rebuild (`_rebuild`).

use chrono::NaiveDate;
use event_store::Pool;
use rustc_hash::FxBuildHasher;

use crate::model::Changes;

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    I(i64),
    OI(Option<i64>),
    T(String),
    OT(Option<String>),
    D(NaiveDate),
}

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

    /// The larger of two non-null values.
    pub(crate) fn greatest(self) -> &'static str {
        match self {
            Dialect::Postgres => "GREATEST",
            Dialect::Sqlite => "MAX",
        }
    }
}

/// A multi-row upsert into one table.
#[derive(Debug)]
pub(crate) struct Upsert {
    pub table: &'static str,
    pub columns: &'static [(&'static str, Merge)],
    pub rows: Vec<Vec<Val>>,
    /// Plain inserts, no `ON CONFLICT` (rows known to be new, possibly into a table whose key
    /// is not built yet).
    pub insert_only: bool,
    /// Rows whose keys the table cannot hold yet (see [`FreshKeys`]), written with `COPY`
    /// before `rows` are upserted (Postgres).
    pub new_rows: Vec<Vec<Val>>,
}

/// The keys a rebuild has written so far, per table, as 64-bit hashes. A row whose key hash was
/// never written cannot be in the table yet, so it goes in with `COPY` (a third of the work of
/// an upsert for Postgres) instead of an upsert. Almost every row of a rebuild is such a row: a
/// user's rows of a day are written by one flush. A hash seen before, or a collision, takes the
/// upsert, which is right either way. Past [`FRESH_KEYS_LIMIT`] keys, a table's new keys are
/// no longer remembered and its rows are all upserted.
#[derive(Debug, Default)]
pub(crate) struct FreshKeys(std::sync::Mutex<FreshTables>);

type FreshTables =
    std::collections::HashMap<&'static str, Option<hashbrown::HashSet<u64, FxBuildHasher>>>;

/// Keys remembered per table at most (about 10 bytes each).
const FRESH_KEYS_LIMIT: usize = 1_000_000;

impl FreshKeys {
    /// Moves the rows of `upsert` whose keys were never written into `new_rows`, and remembers
    /// their keys.
    pub(crate) fn split(&self, upsert: &mut Upsert) {
        let keys: Vec<usize> = (0..upsert.columns.len())
            .filter(|&i| upsert.columns[i].1 == Merge::Key)
            .collect();
        let mut tables = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(seen) = tables
            .entry(upsert.table)
            .or_insert_with(|| Some(hashbrown::HashSet::default()))
        else {
            return;
        };
        if seen.len() + upsert.rows.len() > FRESH_KEYS_LIMIT {
            tables.insert(upsert.table, None);
            return;
        }
        let (new, old): (Vec<_>, Vec<_>) = std::mem::take(&mut upsert.rows)
            .into_iter()
            .partition(|row| seen.insert(key_hash(row, &keys)));
        upsert.new_rows = new;
        upsert.rows = old;
    }
}

fn key_hash(row: &[Val], keys: &[usize]) -> u64 {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    let mut h = FxBuildHasher.build_hasher();
    for &i in keys {
        match &row[i] {
            Val::I(x) | Val::OI(Some(x)) => (0u8, x).hash(&mut h),
            Val::T(t) | Val::OT(Some(t)) => (1u8, t).hash(&mut h),
            Val::D(d) => (2u8, d).hash(&mut h),
            Val::OI(None) | Val::OT(None) => 3u8.hash(&mut h),
        }
    }
    h.finish()
}

/// Most bound values in one statement (SQLite allows 32766, Postgres 65535).
const MAX_BINDS: usize = 30_000;

/// One column's values for an `UNNEST` bind (Postgres).
#[derive(Debug)]
enum Column {
    I(Vec<Option<i64>>),
    T(Vec<Option<String>>),
    D(Vec<NaiveDate>),
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
        rows: Vec<Vec<Val>>,
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
            copy_row(&mut buf, row);
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
        let mut columns: Vec<Column> = self.rows[0]
            .iter()
            .map(|v| match v {
                Val::I(_) | Val::OI(_) => Column::I(Vec::with_capacity(self.rows.len())),
                Val::T(_) | Val::OT(_) => Column::T(Vec::with_capacity(self.rows.len())),
                Val::D(_) => Column::D(Vec::with_capacity(self.rows.len())),
            })
            .collect();
        for row in std::mem::take(&mut self.rows) {
            for (column, value) in columns.iter_mut().zip(row) {
                match (column, value) {
                    (Column::I(c), Val::I(x)) => c.push(Some(x)),
                    (Column::I(c), Val::OI(x)) => c.push(x),
                    (Column::T(c), Val::T(x)) => c.push(Some(x)),
                    (Column::T(c), Val::OT(x)) => c.push(x),
                    (Column::D(c), Val::D(x)) => c.push(x),
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
    pub(crate) fn statements(&self, dialect: Dialect, suffix: &str) -> Vec<(String, Vec<Val>)> {
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

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_row(buf: &mut Vec<u8>, row: Vec<Val>) {
    use std::io::Write as _;
    for (i, value) in row.into_iter().enumerate() {
        if i > 0 {
            buf.push(b'\t');
        }
        match value {
            Val::I(x) | Val::OI(Some(x)) => {
                buf.extend_from_slice(itoa::Buffer::new().format(x).as_bytes());
            }
            // Writing into a Vec cannot fail.
            Val::D(d) => {
                let _ = write!(buf, "{}", d.format("%Y-%m-%d"));
            }
            Val::T(t) | Val::OT(Some(t)) => copy_text(buf, &t),
            Val::OI(None) | Val::OT(None) => buf.extend_from_slice(b"\\N"),
        }
    }
    buf.push(b'\n');
}

fn copy_text(buf: &mut Vec<u8>, text: &str) {
    let mut rest = text.as_bytes();
    while let Some(at) = rest
        .iter()
        .position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        buf.extend_from_slice(&rest[..at]);
        buf.extend_from_slice(match rest[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        rest = &rest[at + 1..];
    }
    buf.extend_from_slice(rest);
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

use Merge::{Add, FirstSeenDay, Key, Latest, Max, Min, Replace};

const FUNNEL_DAYS: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("day", Key),
    ("first_message_us", Min),
    ("first_view_us", Min),
    ("first_consider_us", Min),
    ("first_intent_us", Min),
    ("first_order_us", Min),
];
const FUNNEL_VALUES: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("day", Key),
    ("currency", Key),
    ("intent_value_minor", Add),
    ("order_value_minor", Add),
];
const PRODUCT_DAYS: &[(&str, Merge)] = &[
    ("product_id", Key),
    ("day", Key),
    ("shard", Key),
    ("views", Add),
    ("price_inquiries", Add),
    ("spec_requests", Add),
    ("purchase_intents", Add),
];
const PRODUCT_SALES: &[(&str, Merge)] = &[
    ("product_id", Key),
    ("day", Key),
    ("currency", Key),
    ("shard", Key),
    ("orders", Add),
    ("units", Add),
    ("revenue_minor", Add),
];
const PRODUCT_USERS: &[(&str, Merge)] = &[
    ("product_id", Key),
    ("day", Key),
    ("user_id", Key),
    ("viewed", Max),
    ("intended", Max),
];
const USERS: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("channel", Latest),
    ("username", Latest),
    ("display_name", Latest),
    // Before first_seen_us: SET expressions all see the old row, so the order is only for
    // whoever reads this.
    ("first_seen_day", FirstSeenDay),
    ("first_seen_us", Min),
    ("last_seen_us", Max),
    ("messages", Add),
    ("sessions", Add),
    ("product_views", Add),
    ("stage", Max),
    ("budget_minor", Latest),
    ("budget_currency", Latest),
    ("category", Latest),
    ("orders", Add),
    ("last_position", Max),
];
const USER_PRODUCTS: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("product_id", Key),
    ("views", Add),
    ("intents", Add),
    ("units", Add),
];
const USER_SALES: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("currency", Key),
    ("orders", Add),
    ("revenue_minor", Add),
];
const MESSAGES: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("global_position", Key),
    ("occurred_us", Latest),
    ("direction", Latest),
    ("text", Latest),
    ("intent", Latest),
    ("sentiment", Latest),
    ("product_id", Latest),
];
const BUSINESS_DAYS: &[(&str, Merge)] = &[
    ("day", Key),
    ("shard", Key),
    ("messages", Add),
    ("sessions", Add),
    ("replies", Add),
];
const SALES_DAYS: &[(&str, Merge)] = &[
    ("day", Key),
    ("currency", Key),
    ("shard", Key),
    ("orders", Add),
    ("revenue_minor", Add),
];

const CART_USERS: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("session_start_us", Replace),
    ("last_activity_us", Replace),
    ("carted", Replace),
    ("ordered", Replace),
    ("lines", Replace),
];
const CART_SESSIONS: &[(&str, Merge)] = &[
    ("user_id", Key),
    ("started_us", Key),
    ("day", Replace),
    ("last_activity_us", Max),
    ("ordered", Max),
    ("ended_us", Latest),
    ("items", Replace),
    ("lines", Replace),
];
const SHOP_QUESTION_DAYS: &[(&str, Merge)] = &[
    ("topic", Key),
    ("day", Key),
    ("shard", Key),
    ("questions", Add),
];
const SHOP_QUESTION_USERS: &[(&str, Merge)] = &[("user_id", Key), ("first_asked_us", Min)];

/// A partition's owner and progress (one row per partition; a new owner replaces the old).
pub(crate) const HEARTBEATS: &[(&str, Merge)] = &[
    ("partition", Key),
    ("worker", Latest),
    ("heartbeat_us", Latest),
    ("caught_up_to", Max),
    ("pending", Latest),
];

/// Tables whose rows of a user go when the user is erased (the user-level ones).
pub(crate) const USER_TABLES: &[&str] = &[
    "users",
    "user_products",
    "user_sales",
    "conversation_messages",
];

/// A table's rows in key order: the index is written in order, and two transactions writing
/// the same rows take their locks in the same order.
fn sorted<K: Ord, V>(rows: crate::model::Rows<K, V>) -> Vec<(K, V)> {
    let mut rows: Vec<(K, V)> = rows.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn bool_int(b: bool) -> Val {
    Val::I(i64::from(b))
}

/// The upserts that write `changes`.
pub(crate) fn upserts(changes: Changes) -> Vec<Upsert> {
    let mut out = Vec::new();
    let mut push = |table, columns, rows: Vec<Vec<Val>>| {
        if !rows.is_empty() {
            out.push(Upsert {
                table,
                columns,
                rows,
                insert_only: false,
                new_rows: Vec::new(),
            });
        }
    };
    push(
        "funnel_user_days",
        FUNNEL_DAYS,
        sorted(changes.funnel_days)
            .into_iter()
            .map(|((u, d), f)| {
                let mut row = vec![Val::T(u), Val::D(d)];
                row.extend(f.first.into_iter().map(Val::OI));
                row
            })
            .collect(),
    );
    push(
        "funnel_value_days",
        FUNNEL_VALUES,
        sorted(changes.funnel_values)
            .into_iter()
            .map(|((u, d, c), v)| {
                vec![
                    Val::T(u),
                    Val::D(d),
                    Val::T(c),
                    Val::I(v.intent_minor),
                    Val::I(v.order_minor),
                ]
            })
            .collect(),
    );
    push(
        "product_days",
        PRODUCT_DAYS,
        sorted(changes.product_days)
            .into_iter()
            .map(|((p, d, shard), c)| {
                vec![
                    Val::T(p),
                    Val::D(d),
                    Val::I(shard.into()),
                    Val::I(c.views),
                    Val::I(c.price_inquiries),
                    Val::I(c.spec_requests),
                    Val::I(c.purchase_intents),
                ]
            })
            .collect(),
    );
    push(
        "product_sales_days",
        PRODUCT_SALES,
        sorted(changes.product_sales)
            .into_iter()
            .map(|((p, d, c, shard), s)| {
                vec![
                    Val::T(p),
                    Val::D(d),
                    Val::T(c),
                    Val::I(shard.into()),
                    Val::I(s.orders),
                    Val::I(s.units),
                    Val::I(s.revenue_minor),
                ]
            })
            .collect(),
    );
    push(
        "product_user_days",
        PRODUCT_USERS,
        sorted(changes.product_users)
            .into_iter()
            .map(|((p, d, u), f)| {
                vec![
                    Val::T(p),
                    Val::D(d),
                    Val::T(u),
                    bool_int(f.viewed),
                    bool_int(f.intended),
                ]
            })
            .collect(),
    );
    push(
        "users",
        USERS,
        sorted(changes.users)
            .into_iter()
            .map(|(u, r)| {
                let (budget_minor, budget_currency) = match r.budget {
                    Some((m, c)) => (Some(m), Some(c)),
                    None => (None, None),
                };
                vec![
                    Val::T(u),
                    Val::T(r.channel),
                    Val::OT(r.username),
                    Val::OT(r.display_name),
                    Val::D(r.first_seen_day.unwrap_or_default()),
                    Val::I(r.first_seen_us),
                    Val::I(r.last_seen_us),
                    Val::I(r.messages),
                    Val::I(r.sessions),
                    Val::I(r.product_views),
                    Val::I(r.stage.unwrap_or(0)),
                    Val::OI(budget_minor),
                    Val::OT(budget_currency),
                    Val::OT(r.category),
                    Val::I(r.orders),
                    Val::I(r.last_position),
                ]
            })
            .collect(),
    );
    push(
        "user_products",
        USER_PRODUCTS,
        sorted(changes.user_products)
            .into_iter()
            .map(|((u, p), c)| {
                vec![
                    Val::T(u),
                    Val::T(p),
                    Val::I(c.views),
                    Val::I(c.intents),
                    Val::I(c.units),
                ]
            })
            .collect(),
    );
    push(
        "user_sales",
        USER_SALES,
        sorted(changes.user_sales)
            .into_iter()
            .map(|((u, c), s)| {
                vec![
                    Val::T(u),
                    Val::T(c),
                    Val::I(s.orders),
                    Val::I(s.revenue_minor),
                ]
            })
            .collect(),
    );
    push(
        "conversation_messages",
        MESSAGES,
        sorted(changes.messages)
            .into_iter()
            .map(|((u, pos), m)| {
                vec![
                    Val::T(u),
                    Val::I(pos),
                    Val::I(m.occurred_us),
                    Val::T(m.direction.to_owned()),
                    Val::OT(m.text),
                    Val::OT(m.intent),
                    Val::OT(m.sentiment),
                    Val::OT(m.product_id),
                ]
            })
            .collect(),
    );
    push(
        "business_days",
        BUSINESS_DAYS,
        sorted(changes.business_days)
            .into_iter()
            .map(|((d, shard), b)| {
                vec![
                    Val::D(d),
                    Val::I(shard.into()),
                    Val::I(b.messages),
                    Val::I(b.sessions),
                    Val::I(b.replies),
                ]
            })
            .collect(),
    );
    push(
        "cart_users",
        CART_USERS,
        sorted(changes.cart_users)
            .into_iter()
            .map(|(u, c)| {
                vec![
                    Val::T(u),
                    Val::OI(c.session_start_us),
                    Val::I(c.last_activity_us),
                    bool_int(c.carted),
                    bool_int(c.ordered),
                    Val::T(crate::model::lines_json(&c.lines)),
                ]
            })
            .collect(),
    );
    push(
        "cart_sessions",
        CART_SESSIONS,
        sorted(changes.cart_sessions)
            .into_iter()
            .map(|((u, start), s)| {
                vec![
                    Val::T(u),
                    Val::I(start),
                    Val::D(s.day),
                    Val::I(s.last_activity_us),
                    bool_int(s.ordered),
                    Val::OI(s.ended_us),
                    Val::I(s.lines.iter().map(|l| l.quantity).sum()),
                    Val::T(crate::model::lines_json(&s.lines)),
                ]
            })
            .collect(),
    );
    push(
        "shop_question_days",
        SHOP_QUESTION_DAYS,
        sorted(changes.questions)
            .into_iter()
            .map(|((t, d, shard), n)| vec![Val::T(t), Val::D(d), Val::I(shard.into()), Val::I(n)])
            .collect(),
    );
    push(
        "shop_question_users",
        SHOP_QUESTION_USERS,
        sorted(changes.question_users)
            .into_iter()
            .map(|(u, at)| vec![Val::T(u), Val::I(at)])
            .collect(),
    );
    push(
        "sales_days",
        SALES_DAYS,
        sorted(changes.sales_days)
            .into_iter()
            .map(|((d, c, shard), s)| {
                vec![
                    Val::D(d),
                    Val::T(c),
                    Val::I(shard.into()),
                    Val::I(s.orders),
                    Val::I(s.revenue_minor),
                ]
            })
            .collect(),
    );
    out
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut q = $query;
        for v in $values {
            q = match v {
                Val::I(x) => q.bind(x),
                Val::OI(x) => q.bind(x),
                Val::T(x) => q.bind(x),
                Val::OT(x) => q.bind(x),
                Val::D(x) => q.bind(x),
            };
        }
        q
    }};
}

/// Runs one statement with its values on a Postgres connection.
pub(crate) async fn execute_pg(
    conn: &mut sqlx::PgConnection,
    sql: &str,
    values: Vec<Val>,
) -> Result<u64, sqlx::Error> {
    let q = bind_all!(sqlx::query(sql), values);
    Ok(q.execute(conn).await?.rows_affected())
}

/// Runs one statement with its values on a SQLite connection.
pub(crate) async fn execute_sqlite(
    conn: &mut sqlx::SqliteConnection,
    sql: &str,
    values: Vec<Val>,
) -> Result<u64, sqlx::Error> {
    let q = bind_all!(sqlx::query(sql), values);
    Ok(q.execute(conn).await?.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_rows_escape_what_copy_text_format_reads_specially() {
        let mut buf = Vec::new();
        copy_row(
            &mut buf,
            vec![
                Val::T("web:a".into()),
                Val::I(-42),
                Val::OT(Some("tab\there\nnew\\line\rend".into())),
                Val::OT(None),
                Val::OI(None),
                Val::D(NaiveDate::from_ymd_opt(2026, 3, 7).expect("a date")),
            ],
        );
        assert_eq!(
            String::from_utf8(buf).expect("UTF-8"),
            "web:a\t-42\ttab\\there\\nnew\\\\line\\rend\t\\N\t\\N\t2026-03-07\n"
        );
    }

    #[test]
    fn only_keys_never_written_before_skip_the_upsert() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).expect("a date");
        let upsert = |users: &[&str]| Upsert {
            table: "funnel_user_days",
            columns: FUNNEL_DAYS,
            rows: users
                .iter()
                .map(|u| {
                    let mut row = vec![Val::T((*u).to_owned()), Val::D(day)];
                    row.extend((0..5).map(|_| Val::OI(None)));
                    row
                })
                .collect(),
            insert_only: false,
            new_rows: Vec::new(),
        };
        let user = |row: &Vec<Val>| match &row[0] {
            Val::T(u) => u.clone(),
            other => panic!("{other:?}"),
        };
        let fresh = FreshKeys::default();
        let mut first = upsert(&["web:a", "web:b"]);
        fresh.split(&mut first);
        assert!(first.rows.is_empty());
        assert_eq!(first.new_rows.len(), 2);
        let mut second = upsert(&["web:b", "web:c"]);
        fresh.split(&mut second);
        assert_eq!(second.rows.iter().map(user).collect::<Vec<_>>(), ["web:b"]);
        assert_eq!(
            second.new_rows.iter().map(user).collect::<Vec<_>>(),
            ["web:c"]
        );
    }
}
