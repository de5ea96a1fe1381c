//! The stored form of an event, as it travels to JetStream: the envelope, the payload without
//! its personal fields, and those fields still sealed under the user's key. Whoever holds a
//! stored event learns nothing personal unless the store opens it with a live key, so erasing a
//! user (destroying their key) also shreds every copy that left the database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use crate::read::Row;
use crate::{EventStore, Pool, StoreError, postgres, sqlite};
use events_schema::RecordedEvent;

/// One event in stored form (personal fields sealed). Serialises as one flat JSON object with
/// `personal` in base64.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub global_position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: String,
    pub schema_version: i64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// The payload without its personal fields.
    pub payload: Box<RawValue>,
    /// The key the personal fields are sealed under.
    pub key_id: Option<Uuid>,
    #[serde(
        with = "base64_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub personal: Option<Vec<u8>>,
}

impl StoredEvent {
    fn from_row(row: Row) -> Result<Self, StoreError> {
        let payload = RawValue::from_string(row.payload).map_err(|e| StoreError::Corrupt {
            global_position: row.global_position,
            reason: format!("payload is not JSON: {e}"),
        })?;
        Ok(StoredEvent {
            global_position: row.global_position,
            event_id: row.event_id,
            stream_id: row.stream_id,
            stream_version: row.stream_version,
            event_type: row.event_type,
            schema_version: row.schema_version,
            occurred_at: row.occurred_at,
            recorded_at: row.recorded_at,
            correlation_id: row.correlation_id,
            causation_id: row.causation_id,
            payload,
            key_id: row.key_id,
            personal: row.personal,
        })
    }

    fn into_row(self) -> Row {
        Row {
            global_position: self.global_position,
            event_id: self.event_id,
            stream_id: self.stream_id,
            stream_version: self.stream_version,
            event_type: self.event_type,
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            recorded_at: self.recorded_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            payload: self.payload.get().to_owned(),
            key_id: self.key_id,
            personal: self.personal,
        }
    }
}

impl EventStore {
    /// Like [`EventStore::read_all`], in stored form: nothing is opened or decoded.
    pub async fn read_all_stored(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = i64::try_from(limit.clamp(1, crate::MAX_READ_BATCH)).unwrap_or(1);
        let rows = match &self.shared.pool {
            Pool::Postgres(p) => postgres::read_all(p, after, limit).await?,
            Pool::Sqlite(p) => sqlite::read_all(p, after, limit).await?,
        };
        rows.into_iter().map(StoredEvent::from_row).collect()
    }

    /// Opens stored events (e.g. received from JetStream) with the users' keys, exactly as
    /// reading them from the log would: erased users' personal fields read `null`, `erased`.
    pub async fn open_stored(
        &self,
        events: Vec<StoredEvent>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows: Vec<Row> = events.into_iter().map(StoredEvent::into_row).collect();
        self.decode(rows).await
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| STANDARD.decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
