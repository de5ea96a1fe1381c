//! Erasure by crypto-shredding: a user's key destroyed, their snapshots dropped, so their
//! personal fields read as `null` everywhere while the log itself stays whole; and the reset
//! that empties a store.

use chrono::Utc;
use events_schema::{NewEvent, UserId};
use uuid::Uuid;

use crate::db::{self, Durability, Pool};
use crate::{AppendError, Erased, EventStore, ExpectedVersion, StoreError};

impl EventStore {
    /// Crypto-shredding: destroys the user's key (their personal fields then read as `null`,
    /// flagged `erased`) and drops their snapshots. Returns false if they had no live key.
    pub async fn destroy_user_key(&self, user: &UserId) -> Result<bool, StoreError> {
        let pool = self.pool();
        let mut tx = pool.begin(Durability::Flushed).await?;
        let destroyed: Vec<Uuid> = db::query(
            "UPDATE user_keys SET wrapped_key = NULL, destroyed_at = $1 \
             WHERE user_id = $2 AND wrapped_key IS NOT NULL RETURNING key_id",
        )
        .bind(Utc::now())
        .bind(user.as_str())
        .scalars(&mut tx)
        .await?;
        db::query("DELETE FROM snapshots WHERE stream_id = $1")
            .bind(user.stream_id().as_str())
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        wipe_freed_space(pool).await;
        for key_id in &destroyed {
            self.shared.keys.forget(*key_id);
        }
        Ok(!destroyed.is_empty())
    }

    /// Erases a user (crypto-shredding, docs/architecture.md, "Invariants"): records `UserErased` in
    /// their stream, then destroys their keys and snapshots. Their personal fields read as null
    /// with the `erased` flag from then on, everywhere; the log itself is unchanged, so the
    /// aggregates stay right. `None` when the user has no events.
    ///
    /// The event goes first: the projector removes the user's rows from the user read tables
    /// when it sees it. A crash between the two steps leaves the key in place and the rows
    /// gone; running the erasure again finishes it (it appends nothing when the stream already
    /// ends with `UserErased`, and destroys what key is left). The other order could
    /// leave plaintext in the read tables with no event to remove it.
    pub async fn erase_user(
        &self,
        user: &UserId,
        requested_by: &str,
    ) -> Result<Option<Erased>, AppendError> {
        let stream = user.stream_id();
        let last: Option<(String, i64)> = db::query(
            "SELECT event_type, global_position FROM events WHERE stream_id = $1 \
             ORDER BY stream_version DESC LIMIT 1",
        )
        .bind(stream.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(StoreError::from)?;
        let position = match last {
            None => return Ok(None),
            // Erased already (or interrupted after the event): only the key may be left.
            Some((event_type, position)) if event_type == "UserErased" => position,
            Some(_) => {
                self.append(
                    &stream,
                    ExpectedVersion::Any,
                    vec![NewEvent::new(
                        events_schema::UserErased {
                            requested_by: requested_by.to_owned(),
                        },
                        chrono::Utc::now(),
                    )],
                )
                .await?
                .last_position
            }
        };
        let key_destroyed = self.destroy_user_key(user).await?;
        Ok(Some(Erased {
            position,
            key_destroyed,
        }))
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
