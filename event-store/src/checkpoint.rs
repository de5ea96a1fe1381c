//! Named checkpoints of log followers: the last global position a follower has fully handled.

use chrono::Utc;

use crate::{EventStore, Pool, StoreError};

impl EventStore {
    /// The checkpoint `name`, or `None` if the follower never saved one.
    pub async fn checkpoint(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(match &self.shared.pool {
            Pool::Postgres(p) => {
                sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = $1")
                    .bind(name)
                    .fetch_optional(p)
                    .await?
            }
            Pool::Sqlite(p) => {
                sqlx::query_scalar("SELECT position FROM checkpoints WHERE name = ?")
                    .bind(name)
                    .fetch_optional(p)
                    .await?
            }
        })
    }

    /// Moves the checkpoint `name` to `position` (never backwards).
    pub async fn save_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => {
                sqlx::query(
                    "INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
                       updated_at = excluded.updated_at \
                     WHERE checkpoints.position < excluded.position",
                )
                .bind(name)
                .bind(position)
                .bind(Utc::now())
                .execute(p)
                .await?;
            }
            Pool::Sqlite(p) => {
                sqlx::query(
                    "INSERT INTO checkpoints (name, position, updated_at) VALUES (?, ?, ?) \
                     ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
                       updated_at = excluded.updated_at \
                     WHERE checkpoints.position < excluded.position",
                )
                .bind(name)
                .bind(position)
                .bind(Utc::now())
                .execute(p)
                .await?;
            }
        }
        Ok(())
    }
}
