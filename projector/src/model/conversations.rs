//! Conversations: every message in and every reply out, by user and position
//! (`conversation_messages`).

use events_schema::{Event, RecordedEvent};

use super::Changes;
use super::rows::{Message, storable};

impl Changes {
    pub(super) fn add_message(&mut self, user: &str, at: i64, e: &RecordedEvent) {
        let message = match &e.event {
            Event::UserErased(_) => {
                self.erased_users.insert(user.to_owned());
                self.messages.retain(|(u, _), _| u != user);
                return;
            }
            Event::MessageReceived(m) => Message {
                occurred_us: at,
                direction: "in",
                text: storable(&m.text),
                intent: Some(m.intent.as_str().to_owned()),
                sentiment: Some(m.sentiment.as_str().to_owned()),
                product_id: m.product_id.clone(),
            },
            Event::BotReplied(r) => Message {
                occurred_us: at,
                direction: "out",
                text: storable(&r.text),
                intent: None,
                sentiment: None,
                product_id: r.products.first().cloned(),
            },
            _ => return,
        };
        self.messages
            .insert((user.to_owned(), e.global_position), message);
    }
}
