//! The stored form of an event, as it travels to JetStream: the envelope, the payload without
//! its personal fields, and those fields still sealed under the user's key. Whoever holds a
//! stored event learns nothing personal unless the store opens it with a live key, so erasing a
//! user (destroying their key) also shreds every copy that left the database.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{EventStore, StoreError};
use events_schema::RecordedEvent;

/// One event in stored form (personal fields sealed), as the database holds it. Serialises as
/// one flat JSON object, `payload` as JSON and `personal` in base64.
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
    /// The payload without its personal fields (JSON text).
    #[serde(with = "raw_json")]
    pub payload: String,
    /// The key the personal fields are sealed under.
    pub key_id: Option<Uuid>,
    #[serde(
        with = "base64_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub personal: Option<Vec<u8>>,
}

/// Rows of `SELECT {read::COLUMNS}` (in that order), taken by index: by name, every column of
/// every row would be looked up among the row's columns first.
macro_rules! from_row {
    ($row:ty) => {
        impl<'r> sqlx::FromRow<'r, $row> for StoredEvent {
            fn from_row(row: &'r $row) -> Result<Self, sqlx::Error> {
                use sqlx::Row as _;
                Ok(StoredEvent {
                    global_position: row.try_get(0)?,
                    event_id: row.try_get(1)?,
                    stream_id: row.try_get(2)?,
                    stream_version: row.try_get(3)?,
                    event_type: row.try_get(4)?,
                    schema_version: row.try_get(5)?,
                    occurred_at: row.try_get(6)?,
                    recorded_at: row.try_get(7)?,
                    correlation_id: row.try_get(8)?,
                    causation_id: row.try_get(9)?,
                    payload: row.try_get(10)?,
                    key_id: row.try_get(11)?,
                    personal: row.try_get(12)?,
                })
            }
        }
    };
}
from_row!(sqlx::postgres::PgRow);
from_row!(sqlx::sqlite::SqliteRow);

impl EventStore {
    /// Opens stored events (e.g. received from JetStream) with the users' keys, exactly as
    /// reading them from the log would: erased users' personal fields read `null`, `erased`.
    pub async fn open_stored(
        &self,
        events: Vec<StoredEvent>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        self.decode(events).await
    }
}

/// The payload travels as JSON, not as a string holding JSON.
mod raw_json {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::value::RawValue;

    pub fn serialize<S: Serializer>(json: &str, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(json).map_err(serde::ser::Error::custom)?;
        serde::Serialize::serialize(raw, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(Box::<RawValue>::deserialize(d)?.get().to_owned())
    }
}

/// Optional bytes as base64 text (also the backup file's wrapped keys).
pub(crate) mod base64_bytes {
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
