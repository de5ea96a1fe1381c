//! Turning stored rows back into events: open the personal fields with the user's key (or mark
//! them erased), upcast old versions, parse. Anything unreadable is a `Corrupt` error naming the
//! position, never a panic.

use std::collections::{BTreeSet, HashMap};

use events_schema::{EventType, RecordedEvent, StreamId, upcast};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::StoreError;
use crate::crypto::{event_aad, merge_personal};
use crate::keys::{KeyCache, KeyRecord};

/// One stored event as the database returns it.
pub(crate) use crate::StoredEvent as Row;

/// The columns of [`Row`], in its order, for SELECTs of both backends.
pub(crate) const COLUMNS: &str = "global_position, event_id, stream_id, stream_version, \
    event_type, schema_version, occurred_at, recorded_at, correlation_id, causation_id, \
    payload, key_id, personal";

pub(crate) fn key_ids(rows: &[Row]) -> Vec<Uuid> {
    rows.iter()
        .filter_map(|r| r.key_id)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Decodes rows given the key records of their key ids.
pub(crate) fn decode_rows(
    rows: Vec<Row>,
    live: &HashMap<Uuid, KeyRecord>,
    keys: &KeyCache,
) -> Result<Vec<RecordedEvent>, StoreError> {
    rows.into_iter()
        .map(|row| decode_row(row, live, keys))
        .collect()
}

fn decode_row(
    row: Row,
    live: &HashMap<Uuid, KeyRecord>,
    keys: &KeyCache,
) -> Result<RecordedEvent, StoreError> {
    let position = row.global_position;
    let corrupt = |reason: String| StoreError::Corrupt {
        global_position: position,
        reason,
    };
    let event_type = EventType::parse(&row.event_type)
        .ok_or_else(|| corrupt(format!("unknown event type `{}`", row.event_type)))?;
    let version = u32::try_from(row.schema_version)
        .map_err(|_| corrupt(format!("schema version {}", row.schema_version)))?;
    let mut payload: Value = serde_json::from_str(&row.payload)
        .map_err(|e| corrupt(format!("payload is not JSON: {e}")))?;
    let fields =
        upcast::personal_fields(event_type, version).map_err(|e| corrupt(e.to_string()))?;
    let (personal, erased) = match (row.key_id, &row.personal) {
        (None, None) => (None, false),
        (None, Some(_)) => return Err(corrupt("personal data without a key".into())),
        (Some(key_id), sealed) => match live.get(&key_id) {
            // A key row that is missing altogether is damage (a partial restore), not erasure:
            // only a destroyed key means erased.
            None => {
                return Err(corrupt(format!(
                    "its key {key_id} is missing from user_keys"
                )));
            }
            Some(KeyRecord { wrapped: None, .. }) => (None, true),
            Some(KeyRecord {
                user_id,
                wrapped: Some(wrapped),
            }) => match sealed {
                None => (None, false),
                Some(sealed) => {
                    let key = keys.unwrap(key_id, user_id, wrapped)?;
                    let aad = event_aad(row.event_id, &row.stream_id, key_id);
                    let plain = key
                        .open(sealed, &aad)
                        .map_err(|e| corrupt(format!("personal data: {e}")))?;
                    let map: Map<String, Value> = serde_json::from_slice(&plain)
                        .map_err(|e| corrupt(format!("personal data is not JSON: {e}")))?;
                    (Some(map), false)
                }
            },
        },
    };
    merge_personal(&mut payload, fields, personal);
    let event = upcast::decode(event_type, version, payload).map_err(|e| corrupt(e.to_string()))?;
    Ok(RecordedEvent {
        global_position: position,
        event_id: row.event_id,
        stream_id: StreamId::new(row.stream_id).map_err(|e| corrupt(e.to_string()))?,
        stream_version: row.stream_version,
        schema_version: event_type.current_version(),
        event,
        occurred_at: row.occurred_at,
        recorded_at: row.recorded_at,
        correlation_id: row.correlation_id,
        causation_id: row.causation_id,
        erased,
    })
}
