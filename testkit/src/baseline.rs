//! The yardstick of `salesbot bench append`: a scratch table with the columns of `events` and
//! no index or constraint, filled by one plain batched INSERT of the rows the store would write
//! (payloads serialised, personal fields sealed) and nothing else: no key lookups, no lock, no
//! version check, no transaction around it.

use event_store::{AppendRequest, BackendKind, EventStore, StoreError, db};

/// The baseline table's name.
const TABLE: &str = "bench_baseline";

const CREATE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS bench_baseline ( \
    global_position bigint, event_id uuid, stream_id text, stream_version bigint, \
    event_type text, schema_version integer, occurred_at timestamptz, recorded_at timestamptz, \
    correlation_id uuid, causation_id uuid, payload jsonb, key_id uuid, personal bytea)";

const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS bench_baseline ( \
    global_position INTEGER, event_id BLOB, stream_id TEXT, stream_version INTEGER, \
    event_type TEXT, schema_version INTEGER, occurred_at TEXT, recorded_at TEXT, \
    correlation_id BLOB, causation_id BLOB, payload TEXT, key_id BLOB, personal BLOB)";

const DROP: &str = "DROP TABLE IF EXISTS bench_baseline";

/// Creates the (empty) baseline table in the store's database.
pub async fn create(store: &EventStore) -> Result<(), StoreError> {
    let create = match store.backend() {
        BackendKind::Postgres => CREATE_POSTGRES,
        BackendKind::Sqlite => CREATE_SQLITE,
    };
    db::query(create).execute(store.pool()).await?;
    Ok(())
}

pub async fn drop(store: &EventStore) -> Result<(), StoreError> {
    db::query(DROP).execute(store.pool()).await?;
    Ok(())
}

/// Inserts the rows these appends would write, in one statement.
pub async fn insert(store: &EventStore, requests: &[AppendRequest]) -> Result<(), StoreError> {
    store.insert_rows_plainly(TABLE, requests).await
}
