//! Snapshots: a stream's folded state at a version, sealed with its user's key, so the command
//! path need not read a long stream whole. An erased user's snapshots go with their key.

use chrono::Utc;
use events_schema::StreamId;
use uuid::Uuid;

use crate::{EventStore, Snapshot, StoreError, db};

impl EventStore {
    /// Stores the folded state of a stream at `stream_version`, sealed with the stream user's
    /// key. An older snapshot never replaces a newer one. Returns `false` (nothing stored) when
    /// the user has no live key (never wrote, or was erased): a snapshot never brings erased
    /// data back under a new key.
    pub async fn save_snapshot(
        &self,
        stream_id: &StreamId,
        stream_version: i64,
        state: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let plain = serde_json::to_vec(state)
            .map_err(|e| StoreError::Internal(format!("a snapshot: {e}")))?;
        let (key_id, state) = match stream_id.user_id() {
            Some(user) => {
                let live: Option<(Uuid, Vec<u8>)> = db::query(
                    "SELECT key_id, wrapped_key FROM user_keys \
                     WHERE user_id = $1 AND wrapped_key IS NOT NULL",
                )
                .bind(user.as_str())
                .fetch_optional(self.pool())
                .await?;
                let Some((key_id, wrapped)) = live else {
                    return Ok(false);
                };
                let key = self.shared.keys.unwrap(key_id, user.as_str(), &wrapped)?;
                let aad = snapshot_aad(stream_id, stream_version, Some(key_id));
                let sealed = key
                    .seal(&plain, &aad)
                    .map_err(|e| StoreError::Internal(format!("sealing a snapshot: {e}")))?;
                (Some(key_id), sealed)
            }
            None => (None, plain),
        };
        db::query(
            "INSERT INTO snapshots (stream_id, stream_version, key_id, state, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (stream_id) DO UPDATE SET stream_version = excluded.stream_version, \
               key_id = excluded.key_id, state = excluded.state, updated_at = excluded.updated_at \
             WHERE snapshots.stream_version <= excluded.stream_version",
        )
        .bind(stream_id.as_str())
        .bind(stream_version)
        .bind(key_id)
        .bind(state)
        .bind(Utc::now())
        .execute(self.pool())
        .await?;
        Ok(true)
    }

    /// The latest snapshot of a stream; `None` if there is none or its user was erased.
    pub async fn load_snapshot(
        &self,
        stream_id: &StreamId,
    ) -> Result<Option<Snapshot>, StoreError> {
        let stored: Option<(i64, Option<Uuid>, Vec<u8>)> =
            db::query("SELECT stream_version, key_id, state FROM snapshots WHERE stream_id = $1")
                .bind(stream_id.as_str())
                .fetch_optional(self.pool())
                .await?;
        let Some((stream_version, key_id, sealed)) = stored else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::CorruptKey {
            key_id: key_id.unwrap_or_default(),
            reason: format!("snapshot of {stream_id}: {reason}"),
        };
        let plain = match key_id {
            None => sealed,
            Some(key_id) => {
                let records = self.key_records(&[key_id]).await?;
                let Some(record) = records.get(&key_id) else {
                    return Err(corrupt("its key is missing from user_keys".into()));
                };
                let Some(wrapped) = &record.wrapped else {
                    return Ok(None);
                };
                let key = self.shared.keys.unwrap(key_id, &record.user_id, wrapped)?;
                key.open(
                    &sealed,
                    &snapshot_aad(stream_id, stream_version, Some(key_id)),
                )
                .map_err(|e| corrupt(e.to_string()))?
            }
        };
        let state =
            serde_json::from_slice(&plain).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        Ok(Some(Snapshot {
            stream_version,
            state,
        }))
    }
}

fn snapshot_aad(stream_id: &StreamId, version: i64, key_id: Option<uuid::Uuid>) -> Vec<u8> {
    format!(
        "snapshot:{stream_id}:{version}:{}",
        key_id.unwrap_or_default()
    )
    .into_bytes()
}
