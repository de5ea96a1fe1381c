//! Named checkpoints of log followers: the last global position a follower has fully handled.

use chrono::Utc;

use crate::{EventStore, StoreError, db};

impl EventStore {
    /// The checkpoint `name`, or `None` if the follower never saved one.
    pub async fn checkpoint(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            db::query("SELECT position FROM checkpoints WHERE name = $1")
                .bind(name)
                .optional_scalar(self.pool())
                .await?,
        )
    }

    /// Moves the checkpoint `name` to `position` (never backwards).
    pub async fn save_checkpoint(&self, name: &str, position: i64) -> Result<(), StoreError> {
        db::query(
            "INSERT INTO checkpoints (name, position, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position, \
               updated_at = excluded.updated_at \
             WHERE checkpoints.position < excluded.position",
        )
        .bind(name)
        .bind(position)
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
