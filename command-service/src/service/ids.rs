//! How the events of one message are identified and stamped: fresh ids for the web, ids
//! derived from the Telegram update so a redelivery appends nothing, and the causation and
//! correlation that tie a message's events to it.

use chrono::{DateTime, Utc};
use events_schema::{Event, NewEvent};
use uuid::Uuid;

/// How the ids of a message's events are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIds {
    /// Fresh UUID v7s (web chat: every request is a new message).
    Fresh,
    /// UUID v5 of the bot, the Telegram `update_id` and the event's index, so a redelivered
    /// update appends nothing and triggers no second reply.
    Telegram { bot_id: i64, update_id: i64 },
}

impl EventIds {
    fn id(self, index: usize) -> Uuid {
        match self {
            EventIds::Fresh => Uuid::now_v7(),
            EventIds::Telegram { bot_id, update_id } => Uuid::new_v5(
                &TELEGRAM_NAMESPACE,
                format!("telegram:{bot_id}:{update_id}:{index}").as_bytes(),
            ),
        }
    }
}

/// Namespace of the deterministic ids of events caused by Telegram updates.
const TELEGRAM_NAMESPACE: Uuid = Uuid::from_u128(0x5a1e_5b07_7e1e_4a3a_9b1d_0c0f_f1ce_d00d);

/// Ids, time and causation: every event of the message is caused by its `MessageReceived` and
/// correlated with the first event; the reply points at the message it answers.
pub(super) fn stamp(events: Vec<Event>, ids: EventIds, at: DateTime<Utc>) -> Vec<NewEvent> {
    let ids: Vec<Uuid> = (0..events.len()).map(|i| ids.id(i)).collect();
    let correlation = ids.first().copied().unwrap_or_else(Uuid::now_v7);
    let message = events
        .iter()
        .position(|e| matches!(e, Event::MessageReceived(_)))
        .and_then(|i| ids.get(i).copied());
    events
        .into_iter()
        .zip(ids)
        .map(|(mut event, id)| {
            if let Event::BotReplied(r) = &mut event {
                r.in_reply_to = message;
            }
            let new = NewEvent::new(event, at).with_id(id);
            match message {
                Some(cause) if cause != id => new.caused_by(cause, correlation),
                _ => NewEvent {
                    correlation_id: correlation,
                    ..new
                },
            }
        })
        .collect()
}
