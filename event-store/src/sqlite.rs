//! The SQLite backend (embedded mode). SQLite has one writer at a time: a batch takes the write
//! lock first (`BEGIN IMMEDIATE`), so positions commit in the order they are handed out.

use std::collections::HashMap;
use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use uuid::Uuid;

use crate::group_commit::{self, Planned, StoredRef};
use crate::keys::{KeyCache, UserKeys};
use crate::read::COLUMNS;
use crate::{AppendError, AppendRequest, Appended, StoreConfig, StoreError};

/// SQLite allows 32,766 bound variables per statement; 13 columns a row.
const ROWS_PER_INSERT: usize = 2_000;
const IDS_PER_QUERY: usize = 10_000;

pub(crate) async fn connect(config: &StoreConfig) -> Result<SqlitePool, StoreError> {
    let url = &config.database_url;
    if let Some(path) = url.sqlite_path() {
        crate::private::secure_sqlite(&path).map_err(|e| {
            StoreError::Config(format!(
                "DATABASE_URL: cannot make {} and its folder private: {e}",
                path.display()
            ))
        })?;
    }
    let options = SqliteConnectOptions::from_str(url.expose())
        .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        .pragma("secure_delete", "on");
    SqlitePoolOptions::new()
        .max_connections(config.max_connections.max(2))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Unreachable {
            url: url.to_string(),
            source,
        })
}

pub(crate) async fn write_batch(
    pool: &SqlitePool,
    keys: &KeyCache,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let results = prepare(&mut tx, keys, requests).await?;
    tx.commit().await?;
    Ok(results)
}

/// Everything of a batch but the commit. With the write lock held from the start, duplicates
/// are looked up in the same pass (a local lookup costs no round trip).
pub(crate) async fn prepare(
    tx: &mut SqliteConnection,
    keys: &KeyCache,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    let recorded_at = Utc::now();
    let user_keys = ensure_keys(tx, keys, &group_commit::users_of(requests), recorded_at).await?;
    let head: i64 = sqlx::query_scalar("SELECT position FROM log_head WHERE id = 1")
        .fetch_one(&mut *tx)
        .await?;
    let mut versions = HashMap::new();
    for chunk in group_commit::streams_of(requests).chunks(IDS_PER_QUERY) {
        // One index seek per stream (a GROUP BY max() would read every event of them).
        let mut q = QueryBuilder::<Sqlite>::new("WITH s(id) AS (");
        let mut list = q.separated(" UNION ALL ");
        for s in chunk {
            list.push("SELECT ").push_bind_unseparated(s);
        }
        q.push(
            ") SELECT id, (SELECT max(stream_version) FROM events WHERE stream_id = s.id) AS v \
             FROM s WHERE v IS NOT NULL",
        );
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
        versions.extend(rows);
    }
    let stored = stored_events(tx, &group_commit::event_ids_of(requests)).await?;
    let Planned {
        rows,
        results,
        head,
    } = group_commit::plan_batch(requests, &versions, &stored, head, &user_keys, recorded_at);
    if rows.is_empty() {
        return Ok(results);
    }
    insert_rows(tx, "events", rows).await?;
    sqlx::query("UPDATE log_head SET position = ? WHERE id = 1")
        .bind(head)
        .execute(&mut *tx)
        .await?;
    Ok(results)
}

/// Multi-row INSERTs of `rows` into `table` (`events`, or the benchmark's baseline table).
pub(crate) async fn insert_rows(
    conn: &mut SqliteConnection,
    table: &'static str,
    rows: Vec<group_commit::NewRow>,
) -> Result<(), sqlx::Error> {
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut q = QueryBuilder::<Sqlite>::new(format!("INSERT INTO {table} ({COLUMNS}) "));
        q.push_values(rows.by_ref().take(ROWS_PER_INSERT), |mut b, row| {
            b.push_bind(row.global_position)
                .push_bind(row.event_id)
                .push_bind(row.stream_id)
                .push_bind(row.stream_version)
                .push_bind(row.event_type)
                .push_bind(row.schema_version)
                .push_bind(row.occurred_at)
                .push_bind(row.recorded_at)
                .push_bind(row.correlation_id)
                .push_bind(row.causation_id)
                .push_bind(row.payload)
                .push_bind(row.key_id)
                .push_bind(row.personal);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn stored_events(
    tx: &mut SqliteConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredRef>, sqlx::Error> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT event_id, stream_id, stream_version, global_position FROM events \
             WHERE event_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(Uuid, String, i64, i64)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (id, stream_id, stream_version, global_position) in rows {
            found.insert(
                id,
                StoredRef {
                    stream_id,
                    stream_version,
                    global_position,
                },
            );
        }
    }
    Ok(found)
}

async fn ensure_keys(
    tx: &mut SqliteConnection,
    keys: &KeyCache,
    users: &[String],
    now: DateTime<Utc>,
) -> Result<UserKeys, StoreError> {
    let mut found = UserKeys::new();
    for chunk in users.chunks(IDS_PER_QUERY) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT user_id, key_id, wrapped_key FROM user_keys \
             WHERE wrapped_key IS NOT NULL AND user_id IN (",
        );
        let mut list = q.separated(", ");
        for u in chunk {
            list.push_bind(u);
        }
        q.push(")");
        let rows: Vec<(String, Uuid, Vec<u8>)> = q.build_query_as().fetch_all(&mut *tx).await?;
        for (user, key_id, wrapped) in rows {
            let key = keys.unwrap(key_id, &user, &wrapped)?;
            found.insert(user, (key_id, key));
        }
    }
    let missing: Vec<&String> = users.iter().filter(|u| !found.contains_key(*u)).collect();
    for chunk in missing.chunks(ROWS_PER_INSERT) {
        let mut fresh = Vec::with_capacity(chunk.len());
        for user in chunk {
            let (key_id, key, wrapped) = keys.new_key(user)?;
            fresh.push((user.to_string(), key_id, key, wrapped));
        }
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO user_keys (key_id, user_id, wrapped_key, created_at) ",
        );
        q.push_values(&fresh, |mut b, (user, key_id, _, wrapped)| {
            b.push_bind(*key_id)
                .push_bind(user.as_str())
                .push_bind(wrapped.as_slice())
                .push_bind(now);
        });
        // The write lock is held, so no other writer can create these keys meanwhile.
        q.build().execute(&mut *tx).await?;
        for (user, key_id, key, _) in fresh {
            found.insert(user, (key_id, key));
        }
    }
    Ok(found)
}
