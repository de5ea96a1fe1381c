//! Old schema versions stored in the log are read as the current version.

mod common;

use testkit::both_backends;

use common::{at, stream};
use event_store::{AppendRequest, ExpectedVersion};
use events_schema::{Event, EventType, Intent, RawEvent, Sentiment};
use serde_json::json;
use testkit::TestDatabase;
use uuid::Uuid;

both_backends!(a_stored_v0_message_reads_back_as_current);
async fn a_stored_v0_message_reads_back_as_current(db: TestDatabase) {
    let store = db.open_for_test().await;
    let id = Uuid::now_v7();
    store
        .append_raw(AppendRequest {
            stream_id: stream("legacy"),
            expected: ExpectedVersion::NoStream,
            events: vec![RawEvent {
                event_id: id,
                event_type: EventType::MessageReceived,
                schema_version: 0,
                payload: json!({
                    "user_message": "do you have the galaxy s24?",
                    "intent": "product_inquiry",
                    "emotion": "happy",
                    "product": "Galaxy S24"
                }),
                occurred_at: at(5),
                correlation_id: id,
                causation_id: None,
            }],
        })
        .await
        .expect("append v0");
    let raw = db.raw_dump().await;
    assert!(
        !raw.windows(6).any(|w| w == b"galaxy"),
        "v0 personal field stored sealed"
    );

    let events = store.read_all(0, 10).await.expect("read");
    assert_eq!(events[0].schema_version, 2);
    let Event::MessageReceived(m) = &events[0].event else {
        panic!("{:?}", events[0].event)
    };
    assert_eq!(m.text.as_deref(), Some("do you have the galaxy s24?"));
    assert_eq!(m.intent, Intent::ProductInfo);
    assert_eq!(m.sentiment, Sentiment::Positive);
    assert_eq!(m.product_id.as_deref(), Some("galaxy-s24"));
    assert_eq!(m.language, None, "v0 and v1 did not record the language");
    assert_eq!(m.understood_by, events_schema::UnderstoodBy::Rules);

    // A payload that does not fit its claimed version never enters the log.
    let err = store
        .append_raw(AppendRequest {
            stream_id: stream("legacy"),
            expected: ExpectedVersion::Any,
            events: vec![RawEvent {
                event_id: Uuid::now_v7(),
                event_type: EventType::PriceInquired,
                schema_version: 1,
                payload: json!({"product_id": "x"}),
                occurred_at: at(6),
                correlation_id: id,
                causation_id: None,
            }],
        })
        .await
        .expect_err("invalid payload");
    assert!(
        matches!(err, event_store::AppendError::Invalid(_)),
        "{err:?}"
    );
}

testkit::main!();
