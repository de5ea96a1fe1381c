//! Shared by the event-store tests: run one test body on both backends, and build events.

#![allow(dead_code)]

use chrono::{DateTime, TimeZone as _, Utc};
use events_schema::{
    Channel, ConversationStarted, Event, Intent, MessageKind, MessageReceived, NewEvent,
    ProductViewed, StreamId, UserId, ViewSource,
};

pub fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, minute % 60, 0)
        .single()
        .expect("valid time")
}

pub fn user(name: &str) -> UserId {
    UserId::new(Channel::Web, name).expect("valid user")
}

pub fn stream(name: &str) -> StreamId {
    user(name).stream_id()
}

pub fn message(text: &str) -> NewEvent {
    NewEvent::new(
        MessageReceived {
            kind: MessageKind::Text,
            message_id: None,
            text: Some(text.to_owned()),
            intent: Intent::Unknown,
            sentiment: events_schema::Sentiment::Neutral,
            product_id: None,
            language: Some("en".into()),
            understood_by: events_schema::UnderstoodBy::Rules,
        },
        at(1),
    )
}

pub fn started(name: &str) -> NewEvent {
    NewEvent::new(
        ConversationStarted {
            channel: Channel::Web,
            username: Some(format!("{name}_handle")),
            display_name: Some(name.to_owned()),
            language: Some("en".into()),
            returning: false,
        },
        at(0),
    )
}

pub fn viewed(product: &str) -> NewEvent {
    NewEvent::new(
        ProductViewed {
            product_id: product.to_owned(),
            source: ViewSource::Mention,
        },
        at(2),
    )
}

pub fn text_of(event: &Event) -> Option<&str> {
    match event {
        Event::MessageReceived(m) => m.text.as_deref(),
        _ => None,
    }
}
