//! Turning stored rows back into events: open the personal fields with the user's key (or mark
//! them erased), upcast old versions, parse. Anything unreadable is a `Corrupt` error naming the
//! position, never a panic.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use events_schema::{EventType, RecordedEvent, StreamId, upcast};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::crypto::{event_aad, merge_personal};
use crate::keys::{KeyCache, KeyRecord};
use crate::{Newer, StoreError};

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

/// Why an event was left out by a reader that skips what a newer release wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// An event type this build does not know.
    UnknownType,
    /// A schema version above the one this build knows for the type.
    NewerVersion,
}

impl SkipReason {
    pub const ALL: [SkipReason; 2] = [SkipReason::UnknownType, SkipReason::NewerVersion];

    /// The `reason` label of `salesbot_events_skipped_total`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::UnknownType => "unknown_type",
            SkipReason::NewerVersion => "newer_version",
        }
    }
}

static SKIPPED: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// How many events this process has left out, per reason, since it started (every read that
/// skips counts, so an event read twice counts twice).
pub fn skipped_newer() -> [(SkipReason, u64); 2] {
    SkipReason::ALL.map(|r| (r, SKIPPED[r as usize].load(Ordering::Relaxed)))
}

/// Decodes rows given the key records of their key ids; events a newer release wrote are
/// refused or left out, as `newer` says.
pub(crate) fn decode_rows(
    rows: Vec<Row>,
    live: &HashMap<Uuid, KeyRecord>,
    keys: &KeyCache,
    newer: Newer,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(reason) = newer_than_this_build(&row) {
            let (position, event_type, version) = (
                row.global_position,
                row.event_type.clone(),
                row.schema_version,
            );
            match newer {
                Newer::Refuse => {
                    return Err(StoreError::Corrupt {
                        global_position: position,
                        reason: newer_text(reason, &row),
                    });
                }
                Newer::Skip => {
                    SKIPPED[reason as usize].fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        global_position = position,
                        %event_type,
                        schema_version = version,
                        reason = reason.as_str(),
                        "skipping an event a newer release wrote; upgrade this process, then \
                         `salesbot rebuild` to count it"
                    );
                    continue;
                }
            }
        }
        events.push(decode_row(row, live, keys)?);
    }
    Ok(events)
}

/// What a reader of this build says of a row a newer release wrote.
fn newer_text(reason: SkipReason, row: &Row) -> String {
    match reason {
        SkipReason::UnknownType => format!("unknown event type `{}`", row.event_type),
        SkipReason::NewerVersion => format!(
            "{} has no schema version {} (this build knows up to {})",
            row.event_type,
            row.schema_version,
            EventType::parse(&row.event_type).map_or(0, EventType::current_version)
        ),
    }
}

/// A stored event this build cannot turn back into an event, and why: a newer release wrote
/// it, its key row is missing, or it is damaged.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreadable {
    pub global_position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub event_type: String,
    pub reason: String,
}

/// Decodes each row on its own: one that cannot be read is named with its reason, without
/// failing the others or being left out silently. The projector parks those
/// (docs/architecture.md, "Parked events").
pub(crate) fn decode_each(
    rows: Vec<Row>,
    live: &HashMap<Uuid, KeyRecord>,
    keys: &KeyCache,
) -> Vec<Result<RecordedEvent, Unreadable>> {
    rows.into_iter()
        .map(|row| {
            let unreadable = |row: &Row, reason: String| Unreadable {
                global_position: row.global_position,
                event_id: row.event_id,
                stream_id: row.stream_id.clone(),
                event_type: row.event_type.clone(),
                reason,
            };
            if let Some(reason) = newer_than_this_build(&row) {
                return Err(unreadable(&row, newer_text(reason, &row)));
            }
            let named = unreadable(&row, String::new());
            decode_row(row, live, keys).map_err(|e| Unreadable {
                reason: match e {
                    StoreError::Corrupt { reason, .. } => reason,
                    other => other.to_string(),
                },
                ..named
            })
        })
        .collect()
}

/// Whether a newer release wrote this row: a type this build does not know, or a version above
/// the type's current one.
fn newer_than_this_build(row: &Row) -> Option<SkipReason> {
    match EventType::parse(&row.event_type) {
        None => Some(SkipReason::UnknownType),
        Some(t) if row.schema_version > i64::from(t.current_version()) => {
            Some(SkipReason::NewerVersion)
        }
        Some(_) => None,
    }
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
    let (plain, erased) = match (row.key_id, &row.personal) {
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
                    (Some(plain), false)
                }
            },
        },
    };
    let event = match fast_decode(event_type, version, &row.payload, plain.as_deref()) {
        Some(event) => event,
        None => {
            let mut payload: Value = serde_json::from_str(&row.payload)
                .map_err(|e| corrupt(format!("payload is not JSON: {e}")))?;
            let fields =
                upcast::personal_fields(event_type, version).map_err(|e| corrupt(e.to_string()))?;
            let personal = plain
                .map(|plain| serde_json::from_slice::<Map<String, Value>>(&plain))
                .transpose()
                .map_err(|e| corrupt(format!("personal data is not JSON: {e}")))?;
            merge_personal(&mut payload, fields, personal);
            upcast::decode(event_type, version, payload).map_err(|e| corrupt(e.to_string()))?
        }
    };
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

/// The common case without the `serde_json::Value` detour: a current-version payload, its
/// opened personal fields spliced in as text (`{"a":1}` and `{"text":"hi"}` make
/// `{"a":1,"text":"hi"}`), parsed straight into the event's type. Personal fields that are
/// absent (erased, or never set) parse as `None`, as the nulls [`merge_personal`] would add.
/// `None` sends the row down the general path, which gives the same event or names the error
/// (a payload that also held a personal field is a duplicate here, and is settled there).
fn fast_decode(
    event_type: EventType,
    version: u32,
    payload: &str,
    personal: Option<&[u8]>,
) -> Option<events_schema::Event> {
    if version != event_type.current_version() {
        return None;
    }
    let Some(personal) = personal else {
        return events_schema::Event::from_payload_str(event_type, payload).ok();
    };
    let personal = std::str::from_utf8(personal).ok()?.trim();
    let head = payload.trim_end().strip_suffix('}')?;
    let tail = personal.strip_prefix('{')?;
    let mut joined = String::with_capacity(head.len() + tail.len() + 1);
    joined.push_str(head);
    let head_empty = head.trim_end().ends_with('{');
    let tail_empty = tail.trim_start().starts_with('}');
    if !head_empty && !tail_empty {
        joined.push(',');
    }
    joined.push_str(tail);
    events_schema::Event::from_payload_str(event_type, &joined).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use events_schema::Event;

    fn slow(event_type: EventType, payload: &str, personal: Option<&str>) -> Option<Event> {
        let mut value: Value = serde_json::from_str(payload).ok()?;
        let personal = personal.map(|p| serde_json::from_str(p).expect("personal JSON"));
        merge_personal(&mut value, event_type.personal_fields(), personal);
        upcast::decode(event_type, event_type.current_version(), value).ok()
    }

    #[test]
    fn the_fast_path_gives_what_the_general_one_gives_or_steps_aside() {
        let t = EventType::MessageReceived;
        let v = t.current_version();
        let payload = r#"{"kind": "text", "intent": "greeting", "sentiment": "neutral", "message_id": null, "product_id": null, "language": "en", "understood_by": "rules"}"#;
        for personal in [
            Some(r#"{"text":"hi, there}"}"#),
            Some("{}"),
            Some(" { } "),
            None,
        ] {
            let fast = fast_decode(t, v, payload, personal.map(str::as_bytes));
            assert!(fast.is_some(), "{personal:?}");
            assert_eq!(fast, slow(t, payload, personal), "{personal:?}");
        }
        // A personal field also in the payload: the general path decides (personal wins).
        let doubled =
            r#"{"kind": "text", "intent": "greeting", "sentiment": "neutral", "text": "old"}"#;
        assert_eq!(fast_decode(t, v, doubled, Some(br#"{"text":"new"}"#)), None);
        // A payload with personal fields to splice in; an old version; not JSON.
        let started = EventType::ConversationStarted;
        let bare = r#"{"channel": "web", "returning": false}"#;
        let personal = r#"{"username":"ann","display_name":"Ann"}"#;
        let fast = fast_decode(
            started,
            started.current_version(),
            bare,
            Some(personal.as_bytes()),
        );
        assert!(fast.is_some());
        assert_eq!(fast, slow(started, bare, Some(personal)));
        assert_eq!(fast_decode(t, 0, payload, None), None);
        assert_eq!(fast_decode(t, v, payload, Some(b"not json")), None);
    }
}
