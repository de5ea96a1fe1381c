//! Erasure by crypto-shredding: a user's key destroyed, their snapshots dropped, so their
//! personal fields read as `null` everywhere while the log itself stays whole; and the reset
//! that empties a store.

use std::collections::HashMap;

use chrono::Utc;
use events_schema::{NewEvent, UserId};
use uuid::Uuid;

use crate::db::{self, Durability, Pool, Tx};
use crate::group_commit::{self, Planned};
use crate::keys::UserKeys;
use crate::{
    AppendError, AppendRequest, Appended, Erased, EventStore, ExpectedVersion, StoreError,
    postgres, sqlite,
};

impl EventStore {
    /// Crypto-shredding without the event: destroys the user's key (their personal fields then
    /// read as `null`, flagged `erased`) and drops their snapshots, in one transaction that
    /// first locks the key row as [`EventStore::erase_user`] does. Returns false if they had no
    /// live key. Users are erased with [`EventStore::erase_user`]; this is the key alone.
    pub async fn destroy_user_key(&self, user: &UserId) -> Result<bool, StoreError> {
        let mut tx = self.begin_erasure().await?;
        lock_live_key(&mut tx, user).await?;
        let destroyed = destroy_keys(&mut tx, user).await?;
        tx.commit().await?;
        self.after_erasure(user, &destroyed).await;
        Ok(!destroyed.is_empty())
    }

    /// Erases a user (crypto-shredding, docs/architecture.md, invariant 8) in one transaction
    /// against their stream: it locks their live key row (`FOR UPDATE` on Postgres; SQLite's one
    /// writer serialises it already), then the log head, appends `UserErased` unless the stream
    /// ends with it already, destroys the key, drops the snapshots and commits. Their personal
    /// fields read as null with the `erased` flag from then on, everywhere; the log itself is
    /// unchanged, so the aggregates stay right. `None` when the user has no events.
    ///
    /// An append that needs the user's key reads its row `FOR SHARE` inside its own transaction,
    /// so it either commits before the erasure (its events are then erased with the rest) or
    /// finds no live key after it and seals under a new one: the shopper writing again is a new
    /// user with a new key. No event can land after `UserErased` under the destroyed key.
    /// Both take the key row before the log head, so they cannot deadlock.
    ///
    /// Once committed, this process forgets the key and tells [`EventStore::on_erasure`]'s
    /// listeners (the command path's state in memory).
    pub async fn erase_user(
        &self,
        user: &UserId,
        requested_by: &str,
    ) -> Result<Option<Erased>, AppendError> {
        let stream = user.stream_id();
        let event = NewEvent::new(
            events_schema::UserErased {
                requested_by: requested_by.to_owned(),
            },
            Utc::now(),
        )
        .into_raw()
        .map_err(|e| AppendError::Invalid(format!("payload does not serialise: {e}")))?;
        let mut tx = self.begin_erasure().await?;
        let live = lock_live_key(&mut tx, user).await?;
        let head: i64 = db::query(match tx {
            Tx::Postgres(_) => "SELECT position FROM log_head FOR UPDATE",
            Tx::Sqlite(_) => "SELECT position FROM log_head WHERE id = 1",
        })
        .scalar(&mut tx)
        .await
        .map_err(StoreError::from)?;
        let last: Option<(String, i64, i64)> = db::query(
            "SELECT event_type, global_position, stream_version FROM events \
             WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1",
        )
        .bind(stream.as_str())
        .fetch_optional(&mut tx)
        .await
        .map_err(StoreError::from)?;
        let appended = match last {
            // Nothing to erase; the transaction rolls back.
            None => return Ok(None),
            // Erased already: only a key created since (and never used) may be left.
            Some((event_type, position, _)) if event_type == "UserErased" => Err(position),
            Some((_, _, version)) => {
                // `UserErased` carries the erased key's id, as the user's other events do.
                let mut keys = UserKeys::new();
                if let Some((key_id, wrapped)) = live {
                    let key = self.shared.keys.unwrap(key_id, user.as_str(), &wrapped)?;
                    keys.insert(user.as_str().to_owned(), (key_id, key));
                }
                let request = AppendRequest {
                    stream_id: stream.clone(),
                    expected: ExpectedVersion::Exact(version),
                    events: vec![event],
                };
                let versions = HashMap::from([(stream.as_str().to_owned(), version)]);
                let Planned {
                    rows,
                    mut results,
                    head,
                } = group_commit::plan_batch(
                    &[&request],
                    &versions,
                    &HashMap::new(),
                    head,
                    &keys,
                    Utc::now(),
                );
                let appended = results
                    .pop()
                    .unwrap_or(Err(AppendError::Store(StoreError::Closed)))?;
                insert(&mut tx, rows, head)
                    .await
                    .map_err(StoreError::from)?;
                Ok(appended)
            }
        };
        let destroyed = destroy_keys(&mut tx, user).await?;
        tx.commit().await.map_err(StoreError::from)?;
        let position = match appended {
            Ok(appended) => {
                self.committed(&appended);
                appended.last_position
            }
            Err(position) => position,
        };
        self.after_erasure(user, &destroyed).await;
        Ok(Some(Erased {
            position,
            key_destroyed: !destroyed.is_empty(),
        }))
    }

    /// An erasure's transaction: READ COMMITTED on Postgres (each statement sees what committed
    /// before it, as the append path does), the write lock on SQLite.
    async fn begin_erasure(&self) -> Result<Tx, StoreError> {
        Ok(match self.pool() {
            Pool::Postgres(p) => Tx::Postgres(postgres::begin(p).await?),
            Pool::Sqlite(_) => self.pool().begin(Durability::Flushed).await?,
        })
    }

    /// What this process does once an erasure committed: forget the destroyed keys, tell the
    /// listeners, and let the freed space of the old key bytes be reused or wiped.
    async fn after_erasure(&self, user: &UserId, destroyed: &[Uuid]) {
        for key_id in destroyed {
            self.shared.keys.forget(*key_id);
        }
        self.shared.erasures.tell(user);
        wipe_freed_space(self.pool()).await;
    }

    /// Lets in-process followers of the log know of an append made outside the writer task.
    fn committed(&self, appended: &Appended) {
        crate::metrics::append(&Ok(appended.clone()));
        self.shared.committed.send_if_modified(|head| {
            let advanced = appended.last_position > *head;
            *head = (*head).max(appended.last_position);
            advanced
        });
    }

    /// Empties the log, keys and snapshots. Irreversible.
    pub async fn reset(&self) -> Result<(), StoreError> {
        // `log_head` keeps its value: positions never repeat, so a reader that missed the reset
        // cannot mistake new events for ones it has passed.
        match self.pool() {
            Pool::Postgres(p) => {
                sqlx::query("TRUNCATE events, user_keys, snapshots, checkpoints")
                    .execute(p)
                    .await?;
            }
            Pool::Sqlite(_) => {
                let mut tx = self.pool().begin(Durability::Flushed).await?;
                for table in ["events", "user_keys", "snapshots", "checkpoints"] {
                    db::query(format!("DELETE FROM {table}"))
                        .execute(&mut tx)
                        .await?;
                }
                tx.commit().await?;
            }
        }
        self.shared.keys.clear();
        Ok(())
    }
}

/// Locks the user's live key row, if any, until the erasure commits: appends that need the key
/// wait on it (docs/architecture.md, invariant 8). `(key id, wrapped key)`.
async fn lock_live_key(tx: &mut Tx, user: &UserId) -> Result<Option<(Uuid, Vec<u8>)>, StoreError> {
    Ok(db::query(match tx {
        Tx::Postgres(_) => {
            "SELECT key_id, wrapped_key FROM user_keys \
             WHERE user_id = $1 AND wrapped_key IS NOT NULL FOR UPDATE"
        }
        Tx::Sqlite(_) => {
            "SELECT key_id, wrapped_key FROM user_keys \
             WHERE user_id = $1 AND wrapped_key IS NOT NULL"
        }
    })
    .bind(user.as_str())
    .fetch_optional(tx)
    .await?)
}

/// Destroys every live key of the user and drops their snapshots; the ids of the keys destroyed.
async fn destroy_keys(tx: &mut Tx, user: &UserId) -> Result<Vec<Uuid>, StoreError> {
    let destroyed: Vec<Uuid> = db::query(
        "UPDATE user_keys SET wrapped_key = NULL, destroyed_at = $1 \
         WHERE user_id = $2 AND wrapped_key IS NOT NULL RETURNING key_id",
    )
    .bind(Utc::now())
    .bind(user.as_str())
    .scalars(&mut *tx)
    .await?;
    db::query("DELETE FROM snapshots WHERE stream_id = $1")
        .bind(user.stream_id().as_str())
        .execute(&mut *tx)
        .await?;
    Ok(destroyed)
}

/// Inserts an erasure's `UserErased` row and moves the log head, as the append path does.
async fn insert(
    tx: &mut Tx,
    rows: Vec<group_commit::NewRow>,
    head: i64,
) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Postgres(t) => {
            let sql = format!(
                "WITH ins AS (INSERT INTO events ({}) {}) UPDATE log_head SET position = $14",
                crate::read::COLUMNS,
                postgres::UNNEST_ROWS
            );
            postgres::bind_rows(sqlx::query(&sql), rows)
                .bind(head)
                .execute(&mut **t)
                .await?;
        }
        Tx::Sqlite(t) => {
            sqlite::insert_rows(t, "events", rows).await?;
            sqlx::query("UPDATE log_head SET position = ? WHERE id = 1")
                .bind(head)
                .execute(&mut **t)
                .await?;
        }
    }
    Ok(())
}

/// After an erasure, lets the space the old key bytes used be reused or wiped soon. The erasure
/// has happened whatever this does.
pub(crate) async fn wipe_freed_space(pool: &Pool) {
    match pool {
        // The old key versions' space is reused soon (it is not zeroed; see
        // docs/decisions/0002-personal-data.md).
        Pool::Postgres(p) => {
            if let Err(error) = sqlx::query("VACUUM user_keys").execute(p).await {
                tracing::warn!(%error, "VACUUM user_keys after an erasure failed");
            }
        }
        // `secure_delete` zeroed the old key bytes in the database pages; the WAL may still
        // hold a copy of the page from when the key was written, so fold it in and truncate it.
        // A busy reader can keep the checkpoint from finishing.
        Pool::Sqlite(p) => {
            match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(p)
                .await
            {
                Ok((0, _, _)) => {}
                Ok(_) => tracing::warn!("WAL checkpoint after an erasure was blocked by a reader"),
                Err(error) => tracing::warn!(%error, "WAL checkpoint after an erasure failed"),
            }
        }
    }
}
