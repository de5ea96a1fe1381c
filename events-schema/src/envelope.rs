//! The envelope: what the log knows about every event besides its payload.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{Event, EventType};
use crate::ids::StreamId;

/// An event to append. Its stream, version and position are given by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// UUID v7 by default; deterministic (v5) when caused by a Telegram update, so that a
    /// redelivered update appends nothing.
    pub event_id: Uuid,
    pub event: Event,
    /// When it happened (the clock of the command path; `simulate` back-dates it).
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
}

impl NewEvent {
    /// A new event with a fresh UUID v7 id that correlates with itself.
    pub fn new(event: impl Into<Event>, occurred_at: DateTime<Utc>) -> Self {
        let event_id = Uuid::now_v7();
        NewEvent {
            event_id,
            event: event.into(),
            occurred_at,
            correlation_id: event_id,
            causation_id: None,
        }
    }

    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }

    /// Marks this event as caused by `cause` within the conversation `correlation_id`.
    pub fn caused_by(mut self, cause: Uuid, correlation_id: Uuid) -> Self {
        self.causation_id = Some(cause);
        self.correlation_id = correlation_id;
        self
    }

    /// The stored form: current schema version, payload as JSON.
    pub fn into_raw(self) -> serde_json::Result<RawEvent> {
        let event_type = self.event.event_type();
        Ok(RawEvent {
            event_id: self.event_id,
            event_type,
            schema_version: event_type.current_version(),
            payload: self.event.payload_json()?,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
        })
    }
}

/// An event as stored, in any schema version: what backups carry and imports restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawEvent {
    pub event_id: Uuid,
    pub event_type: EventType,
    pub schema_version: u32,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
}

/// An event read from the log: the envelope, and the payload upcast to the current version with
/// personal fields decrypted (or `null` with `erased = true` once the user was erased).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordedEvent {
    /// The event's place in the whole log; readers see positions only ever increase.
    pub global_position: i64,
    pub event_id: Uuid,
    pub stream_id: StreamId,
    /// 1 for a stream's first event, then 2, 3, … without gaps.
    pub stream_version: i64,
    #[serde(flatten)]
    pub event: Event,
    /// The version of `payload` as shown (always the current one).
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// When the log stored it.
    pub recorded_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    /// True when the user was erased: personal fields read as `null`.
    pub erased: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::examples;

    #[test]
    fn recorded_events_serialise_as_one_flat_envelope() {
        let event = examples::all().remove(1);
        let recorded = RecordedEvent {
            global_position: 7,
            event_id: Uuid::nil(),
            stream_id: StreamId::new("user-web:ana").expect("valid"),
            stream_version: 2,
            event,
            schema_version: 1,
            occurred_at: DateTime::UNIX_EPOCH,
            recorded_at: DateTime::UNIX_EPOCH,
            correlation_id: Uuid::nil(),
            causation_id: None,
            erased: false,
        };
        let json = serde_json::to_value(&recorded).expect("serialises");
        assert_eq!(json["event_type"], "MessageReceived");
        assert_eq!(json["payload"]["text"], "hi! what phones do you have?");
        assert_eq!(json["global_position"], 7);
        let back: RecordedEvent = serde_json::from_value(json).expect("parses back");
        assert_eq!(back, recorded);
    }
}
