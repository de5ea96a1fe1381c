//! What tests and `salesbot bench` need of the store's insides (feature `test-util`): holding
//! an append's transaction open, and writing an append's rows with none of the append's checks.
//! Everything else they use (scratch databases, the test harness) is in the `testkit` crate.

use std::collections::HashMap;

use chrono::Utc;

use crate::keys::UserKeys;
use crate::{
    AppendError, AppendRequest, Appended, EventStore, Pool, StoreError, group_commit, postgres,
    sqlite,
};

/// An append whose transaction is open: positions handed out, rows inserted, not committed.
/// While held, it blocks other appenders (that is the point of the ordering scheme).
#[derive(Debug)]
pub struct HeldAppend {
    tx: HeldTx,
    pub results: Vec<Result<Appended, AppendError>>,
}

#[derive(Debug)]
enum HeldTx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl HeldAppend {
    pub async fn commit(self) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        match self.tx {
            HeldTx::Postgres(tx) => tx.commit().await?,
            HeldTx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(self.results)
    }
}

impl EventStore {
    /// Starts an append in its own transaction and returns before committing it.
    pub async fn hold_append(&self, request: AppendRequest) -> Result<HeldAppend, StoreError> {
        let requests = [&request];
        match &self.shared.pool {
            Pool::Postgres(p) => {
                let mut tx = postgres::begin(p).await?;
                let results = postgres::prepare(&mut tx, &self.shared.keys, &requests, true)
                    .await
                    .map_err(|stop| match stop {
                        postgres::Stop::Failed(e) => e,
                        postgres::Stop::Duplicates => StoreError::Internal("duplicate".into()),
                    })?;
                Ok(HeldAppend {
                    tx: HeldTx::Postgres(tx),
                    results,
                })
            }
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let results = sqlite::prepare(&mut tx, &self.shared.keys, &requests).await?;
                Ok(HeldAppend {
                    tx: HeldTx::Sqlite(tx),
                    results,
                })
            }
        }
    }
}

impl EventStore {
    /// Inserts the rows these appends would write (payloads serialised, personal fields
    /// sealed) into `table`, a table with the columns of `events`, in one plain INSERT: no key
    /// lookups, no lock, no version check, no transaction. The yardstick of
    /// `salesbot bench append` (the baseline table of the `testkit` crate).
    pub async fn insert_rows_plainly(
        &self,
        table: &'static str,
        requests: &[AppendRequest],
    ) -> Result<(), StoreError> {
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
                    "INSERT INTO {table} ({}) {}",
                    crate::read::COLUMNS,
                    postgres::UNNEST_ROWS
                );
                postgres::bind_rows(sqlx::query(&sql), planned.rows)
                    .execute(p)
                    .await?;
            }
            Pool::Sqlite(p) => {
                let mut conn = p.acquire().await?;
                sqlite::insert_rows(&mut conn, table, planned.rows).await?;
            }
        }
        Ok(())
    }
}
