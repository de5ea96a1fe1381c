//! The Postgres backend. Appends of a batch run in one transaction that first locks the
//! `log_head` row; positions are handed out under that lock, so they commit in order and a reader
//! never sees a position appear below one it has passed (docs/decisions/0001-global-order.md).

use std::collections::HashMap;
use std::str::FromStr as _;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::group_commit::{self, Planned, StoredRef};
use crate::keys::{KeyCache, UserKeys};
use crate::read::COLUMNS;
use crate::{AppendError, AppendRequest, Appended, StoreConfig, StoreError};

pub(crate) async fn connect(config: &StoreConfig) -> Result<PgPool, StoreError> {
    let url = &config.database_url;
    // A writer stalled while holding the `log_head` lock (a paused process, a partition) must
    // not stall every other writer for long.
    let options = PgConnectOptions::from_str(url.expose())
        .map_err(|e| StoreError::Config(format!("DATABASE_URL: {e}")))?
        .options([
            ("lock_timeout", "15s"),
            ("idle_in_transaction_session_timeout", "60s"),
        ]);
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| StoreError::Unreachable {
            url: url.to_string(),
            source,
        })
}

/// Why preparing a batch stopped short of commit.
pub(crate) enum Stop {
    /// An event id is stored already: plan again, this time looking duplicates up first.
    Duplicates,
    Failed(StoreError),
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Failed(e.into())
    }
}

pub(crate) async fn write_batch(
    pool: &PgPool,
    keys: &KeyCache,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    let mut look_up_duplicates = false;
    loop {
        let mut tx = begin(pool).await?;
        match prepare(&mut tx, keys, requests, look_up_duplicates).await {
            Ok(results) => {
                return match tx.commit().await {
                    Ok(()) => Ok(results),
                    Err(e) => answer_after_failed_commit(pool, requests, results, e).await,
                };
            }
            Err(Stop::Duplicates) if !look_up_duplicates => {
                tx.rollback().await?;
                look_up_duplicates = true;
            }
            Err(Stop::Duplicates) => {
                return Err(StoreError::Internal(
                    "duplicate event id after looking duplicates up".into(),
                ));
            }
            Err(Stop::Failed(e)) => return Err(e),
        }
    }
}

/// The ordering scheme relies on READ COMMITTED (each statement sees what committed before it,
/// so the `FOR UPDATE` on `log_head` reads the head its predecessor left), whatever the server's
/// default isolation is.
pub(crate) async fn begin(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await
}

/// A commit whose answer was lost (connection dropped) may or may not have happened: look the
/// batch's events up and answer from what is stored.
async fn answer_after_failed_commit(
    pool: &PgPool,
    requests: &[&AppendRequest],
    results: Vec<Result<Appended, AppendError>>,
    error: sqlx::Error,
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(_) => return Err(error.into()),
    };
    let written: Vec<Uuid> = requests
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.is_ok())
        .flat_map(|(req, _)| req.events.iter().map(|e| e.event_id))
        .collect();
    match stored_events(&mut conn, &written).await {
        Ok(found) if !written.is_empty() && found.len() == written.len() => {
            tracing::warn!(%error, "commit reported an error but the batch is stored");
            Ok(results)
        }
        _ => Err(error.into()),
    }
}

/// Everything of a batch but the commit: lock the head, plan, insert.
pub(crate) async fn prepare(
    tx: &mut PgConnection,
    keys: &KeyCache,
    requests: &[&AppendRequest],
    look_up_duplicates: bool,
) -> Result<Vec<Result<Appended, AppendError>>, Stop> {
    let recorded_at = Utc::now();
    let user_keys = ensure_keys(tx, keys, &group_commit::users_of(requests), recorded_at).await?;
    let head: i64 = sqlx::query_scalar("SELECT position FROM log_head FOR UPDATE")
        .fetch_one(&mut *tx)
        .await?;
    // One backward index probe per stream (a GROUP BY max() would read every event of them).
    let versions: HashMap<String, i64> = sqlx::query_as(
        "SELECT s.id, v.stream_version FROM UNNEST($1::text[]) AS s(id) \
         CROSS JOIN LATERAL (SELECT stream_version FROM events WHERE stream_id = s.id \
           ORDER BY stream_version DESC LIMIT 1) AS v",
    )
    .bind(group_commit::streams_of(requests))
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let stored = if look_up_duplicates {
        stored_events(tx, &group_commit::event_ids_of(requests)).await?
    } else {
        HashMap::new()
    };
    let mut planned =
        group_commit::plan_batch(requests, &versions, &stored, head, &user_keys, recorded_at);
    let conflicted = planned
        .results
        .iter()
        .any(|r| matches!(r, Err(AppendError::Conflict { .. })));
    if conflicted && !look_up_duplicates {
        // A redelivery carries a stale expected version: it must read as a duplicate, not a
        // conflict, so look the ids up before answering.
        let stored = stored_events(tx, &group_commit::event_ids_of(requests)).await?;
        planned =
            group_commit::plan_batch(requests, &versions, &stored, head, &user_keys, recorded_at);
    }
    let Planned {
        rows,
        results,
        head,
    } = planned;
    if rows.is_empty() {
        return Ok(results);
    }
    let sql = format!(
        "WITH ins AS (INSERT INTO events ({COLUMNS}) {UNNEST_ROWS}) \
         UPDATE log_head SET position = $14"
    );
    let inserted = bind_rows(sqlx::query(&sql), rows)
        .bind(head)
        .execute(&mut *tx)
        .await;
    match inserted {
        Ok(_) => Ok(results),
        Err(e) if is_duplicate_event_id(&e) => Err(Stop::Duplicates),
        Err(e) => Err(e.into()),
    }
}

fn is_duplicate_event_id(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation() && d.constraint() == Some("events_event_id_key"))
}

/// Selects the rows bound by [`bind_rows`] as `$1`..`$13`.
pub(crate) const UNNEST_ROWS: &str = "SELECT p, e, s, v, t, sv, o, r, c, ca, pl::jsonb, k, pe FROM UNNEST( \
    $1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::int[], \
    $7::timestamptz[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::text[], \
    $12::uuid[], $13::bytea[]) AS u(p, e, s, v, t, sv, o, r, c, ca, pl, k, pe)";

/// Binds rows as one array per column (13 parameters), for [`UNNEST_ROWS`].
pub(crate) fn bind_rows(
    query: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    rows: Vec<group_commit::NewRow>,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut cols = Columns::default();
    for row in rows {
        cols.push(row);
    }
    query
        .bind(cols.global_position)
        .bind(cols.event_id)
        .bind(cols.stream_id)
        .bind(cols.stream_version)
        .bind(cols.event_type)
        .bind(cols.schema_version)
        .bind(cols.occurred_at)
        .bind(cols.recorded_at)
        .bind(cols.correlation_id)
        .bind(cols.causation_id)
        .bind(cols.payload)
        .bind(cols.key_id)
        .bind(cols.personal)
}

/// The batch's rows as one array per column, for `UNNEST`.
#[derive(Default)]
struct Columns {
    global_position: Vec<i64>,
    event_id: Vec<Uuid>,
    stream_id: Vec<String>,
    stream_version: Vec<i64>,
    event_type: Vec<&'static str>,
    schema_version: Vec<i32>,
    occurred_at: Vec<DateTime<Utc>>,
    recorded_at: Vec<DateTime<Utc>>,
    correlation_id: Vec<Uuid>,
    causation_id: Vec<Option<Uuid>>,
    payload: Vec<String>,
    key_id: Vec<Option<Uuid>>,
    personal: Vec<Option<Vec<u8>>>,
}

impl Columns {
    fn push(&mut self, row: group_commit::NewRow) {
        self.global_position.push(row.global_position);
        self.event_id.push(row.event_id);
        self.stream_id.push(row.stream_id);
        self.stream_version.push(row.stream_version);
        self.event_type.push(row.event_type);
        self.schema_version.push(row.schema_version);
        self.occurred_at.push(row.occurred_at);
        self.recorded_at.push(row.recorded_at);
        self.correlation_id.push(row.correlation_id);
        self.causation_id.push(row.causation_id);
        self.payload.push(row.payload);
        self.key_id.push(row.key_id);
        self.personal.push(row.personal);
    }
}

async fn stored_events(
    tx: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, StoredRef>, sqlx::Error> {
    let rows: Vec<(Uuid, String, i64, i64)> = sqlx::query_as(
        "SELECT event_id, stream_id, stream_version, global_position FROM events \
         WHERE event_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, stream_id, stream_version, global_position)| {
            (
                id,
                StoredRef {
                    stream_id,
                    stream_version,
                    global_position,
                },
            )
        })
        .collect())
}

/// The live key of every user, creating the missing ones; the rows stay locked `FOR SHARE`
/// until the batch commits. The key cache only unwraps: whether a key is live is read here, in
/// the transaction, so a key another process destroyed is never used.
async fn ensure_keys(
    tx: &mut PgConnection,
    keys: &KeyCache,
    users: &[String],
    now: DateTime<Utc>,
) -> Result<UserKeys, Stop> {
    let mut found = UserKeys::new();
    if users.is_empty() {
        return Ok(found);
    }
    load_keys(tx, keys, users, &mut found).await?;
    let missing: Vec<String> = users
        .iter()
        .filter(|u| !found.contains_key(*u))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(found);
    }
    let mut ids = Vec::with_capacity(missing.len());
    let mut wrapped = Vec::with_capacity(missing.len());
    let mut fresh = HashMap::with_capacity(missing.len());
    for user in &missing {
        let (key_id, key, w) = keys.new_key(user).map_err(Stop::Failed)?;
        ids.push(key_id);
        wrapped.push(w);
        fresh.insert(user.clone(), (key_id, key));
    }
    let inserted: Vec<String> = sqlx::query_scalar(
        "INSERT INTO user_keys (key_id, user_id, wrapped_key, created_at) \
         SELECT k, u, w, $4 FROM UNNEST($1::uuid[], $2::text[], $3::bytea[]) AS t(k, u, w) \
         ON CONFLICT DO NOTHING RETURNING user_id",
    )
    .bind(&ids)
    .bind(&missing)
    .bind(&wrapped)
    .bind(now)
    .fetch_all(&mut *tx)
    .await?;
    let raced = inserted.len() != missing.len();
    for user in inserted {
        if let Some(k) = fresh.remove(&user) {
            found.insert(user, k);
        }
    }
    if raced {
        // Another process created some of these keys first: use theirs.
        let left: Vec<String> = fresh.into_keys().collect();
        load_keys(tx, keys, &left, &mut found).await?;
    }
    Ok(found)
}

async fn load_keys(
    tx: &mut PgConnection,
    keys: &KeyCache,
    users: &[String],
    found: &mut UserKeys,
) -> Result<(), Stop> {
    // FOR SHARE: an erasure (which takes the row FOR UPDATE) cannot destroy the key between
    // this read and the commit, and one that got there first is waited for, after which the
    // row no longer matches and the user gets a new key (docs/architecture.md, invariant 8).
    // Sorted, so the rows are locked in one order by everyone.
    let rows: Vec<(String, Uuid, Vec<u8>)> = sqlx::query_as(
        "SELECT user_id, key_id, wrapped_key FROM user_keys \
         WHERE user_id = ANY($1) AND wrapped_key IS NOT NULL ORDER BY user_id FOR SHARE",
    )
    .bind(users)
    .fetch_all(&mut *tx)
    .await?;
    for (user, key_id, wrapped) in rows {
        let key = keys.unwrap(key_id, &user, &wrapped).map_err(Stop::Failed)?;
        found.insert(user, (key_id, key));
    }
    Ok(())
}
