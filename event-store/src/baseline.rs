//! The yardstick of `salesbot bench append`: a scratch table with the columns of `events` and
//! no index or constraint, filled by one plain batched INSERT of the rows the store would write
//! (payloads serialised, personal fields sealed) and nothing else: no key lookups, no lock, no
//! version check, no transaction around it.

use std::collections::HashMap;

use chrono::Utc;

use crate::keys::UserKeys;
use crate::{AppendRequest, EventStore, Pool, StoreError, group_commit, postgres, sqlite};

const CREATE_POSTGRES: &str = "CREATE TABLE IF NOT EXISTS bench_baseline ( \
    global_position bigint, event_id uuid, stream_id text, stream_version bigint, \
    event_type text, schema_version integer, occurred_at timestamptz, recorded_at timestamptz, \
    correlation_id uuid, causation_id uuid, payload jsonb, key_id uuid, personal bytea)";

const CREATE_SQLITE: &str = "CREATE TABLE IF NOT EXISTS bench_baseline ( \
    global_position INTEGER, event_id BLOB, stream_id TEXT, stream_version INTEGER, \
    event_type TEXT, schema_version INTEGER, occurred_at TEXT, recorded_at TEXT, \
    correlation_id BLOB, causation_id BLOB, payload TEXT, key_id BLOB, personal BLOB)";

const DROP: &str = "DROP TABLE IF EXISTS bench_baseline";

impl EventStore {
    /// Creates the (empty) baseline table.
    pub async fn baseline_create(&self) -> Result<(), StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => {
                sqlx::query(CREATE_POSTGRES).execute(p).await?;
            }
            Pool::Sqlite(p) => {
                sqlx::query(CREATE_SQLITE).execute(p).await?;
            }
        }
        Ok(())
    }

    pub async fn baseline_drop(&self) -> Result<(), StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => {
                sqlx::query(DROP).execute(p).await?;
            }
            Pool::Sqlite(p) => {
                sqlx::query(DROP).execute(p).await?;
            }
        }
        Ok(())
    }

    /// Inserts the rows these appends would write, in one statement.
    pub async fn baseline_insert(&self, requests: &[AppendRequest]) -> Result<(), StoreError> {
        let refs: Vec<&AppendRequest> = requests.iter().collect();
        let mut keys = UserKeys::new();
        for user in group_commit::users_of(&refs) {
            let (key_id, key, _) = self.shared.keys.new_key(&user)?;
            keys.insert(user, (key_id, key));
        }
        let planned = group_commit::plan_batch(
            &refs,
            &HashMap::new(),
            &HashMap::new(),
            0,
            &keys,
            Utc::now(),
        );
        match &self.shared.pool {
            Pool::Postgres(p) => {
                let sql = format!(
                    "INSERT INTO bench_baseline ({}) {}",
                    crate::read::COLUMNS,
                    postgres::UNNEST_ROWS
                );
                postgres::bind_rows(sqlx::query(&sql), planned.rows)
                    .execute(p)
                    .await?;
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                sqlite::insert_rows(&mut conn, "bench_baseline", planned.rows).await?;
            }
        }
        Ok(())
    }
}
