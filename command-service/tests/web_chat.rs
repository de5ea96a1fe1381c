//! The web chat end to end: real HTTP routes, a real store on Postgres and SQLite.

mod common;

use testkit::both_backends;

use common::TestApp;
use events_schema::{Channel, Event, UserId};
use testkit::TestDatabase;

both_backends!(a_sales_conversation_ends_in_an_order_and_survives_a_restart);
async fn a_sales_conversation_ends_in_an_order_and_survives_a_restart(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    let (status, page) = app.get("/chat").await;
    assert_eq!(status, 200);
    assert!(page.contains("/api/messages"), "the page talks to the API");

    let reply = app.say("ana", "hi! what phones do you have?").await;
    assert!(reply.contains("Nova X1 — $799.00"), "{reply}");
    let reply = app.say("ana", "tell me about the nova x1").await;
    assert!(reply.starts_with("Nova X1 — $799.00"), "{reply}");
    app.stop().await;

    // A new process over the same database: the bot remembers.
    let app = TestApp::spawn(&db).await;
    let reply = app.say("ana", "how much is it?").await;
    assert!(reply.contains("The Nova X1 costs $799.00"), "{reply}");
    let reply = app.say("ana", "I'll take two").await;
    assert!(reply.contains("$1,598.00"), "{reply}");
    let reply = app.say("ana", "yes").await;
    assert!(reply.starts_with("Order ord-"), "{reply}");

    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let events = app
        .store
        .read_stream(&ana.stream_id(), 1)
        .await
        .expect("read");
    let order = events.iter().find_map(|e| match &e.event {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    assert_eq!(order.expect("order stored").total.amount_minor, 159_800);
    let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(
        versions,
        (1..=i64::try_from(events.len()).expect("len")).collect::<Vec<_>>()
    );
    app.stop().await;
}

both_backends!(a_hundred_concurrent_messages_from_one_user_are_all_kept);
async fn a_hundred_concurrent_messages_from_one_user_are_all_kept(db: TestDatabase) {
    let app = std::sync::Arc::new(TestApp::spawn(&db).await);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.say("busy", &format!("message {i}: what laptops do you have?"))
                .await
        }));
    }
    for t in tasks {
        let reply = t.await.expect("task");
        assert!(reply.contains("laptops"), "{reply}");
    }
    let busy = UserId::new(Channel::Web, "busy").expect("id");
    let events = app
        .store
        .read_stream(&busy.stream_id(), 1)
        .await
        .expect("read");
    let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(
        versions,
        (1..=i64::try_from(events.len()).expect("len")).collect::<Vec<_>>(),
        "gap-free"
    );
    let mut texts: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::MessageReceived(m) => m.text.clone(),
            _ => None,
        })
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 100, "every message stored once");
    let replies = events
        .iter()
        .filter(|e| matches!(e.event, Event::BotReplied(_)))
        .count();
    assert_eq!(replies, 100, "every message answered");
}

both_backends!(bad_requests_get_a_clear_4xx_and_write_nothing);
async fn bad_requests_get_a_clear_4xx_and_write_nothing(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    // As the shop's backend (with X-Chat-Key), so only the body is at fault.
    let cases: Vec<(String, u16, &str)> = vec![
        ("not json".into(), 400, "parse"),
        (
            r#"{"user_id": "telegram:424242001", "text": "hi"}"#.into(),
            400,
            "user_id",
        ),
        (
            r#"{"user_id": "ana@example.com", "text": "hi"}"#.into(),
            400,
            "user_id",
        ),
        (
            r#"{"user_id": "_anon-0123", "text": "hi"}"#.into(),
            400,
            "user_id",
        ),
        (r#"{"user_id": "ana", "text": ""}"#.into(), 400, "text"),
        (r#"{"user_id": "ana"}"#.into(), 400, "MessageRequest"),
        (r#"["hi"]"#.into(), 400, "object"),
        (r#"["hi", "ana", null, false]"#.into(), 400, "object"),
        ("\"hi\"".into(), 400, "object"),
        (
            serde_json::json!({"user_id": "ana", "text": "x".repeat(2_001)}).to_string(),
            400,
            "maxLength(2000)",
        ),
        (
            serde_json::json!({"user_id": "ana", "text": "x", "username": "u".repeat(65)})
                .to_string(),
            400,
            "maxLength(64)",
        ),
        (
            serde_json::json!({"user_id": "ana", "text": "x".repeat(20_000)}).to_string(),
            413,
            "at most",
        ),
        (
            r#"{"user_id": "ana", "text": "buy:1", "button": true}"#.into(),
            409,
            "button",
        ),
        (
            r#"{"user_id": "ana", "text": "hi", "admin": true}"#.into(),
            400,
            "admin",
        ),
    ];
    for (body, status, message) in cases {
        let (got, json) = app.post_keyed(body.clone()).await;
        assert_eq!(got, status, "{body:.80}: {json}");
        let error = json["message"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{body:.80}: {error}");
    }
    assert_eq!(
        app.store.head_position().await.expect("head"),
        0,
        "nothing written"
    );
    app.stop().await;
}

both_backends!(two_processes_share_one_conversation_without_losing_a_message);
async fn two_processes_share_one_conversation_without_losing_a_message(db: TestDatabase) {
    // Two command services over one database stand in for two processes, each with its own
    // in-memory state of the user.
    let a = TestApp::spawn(&db).await;
    let b = TestApp::spawn(&db).await;
    a.say("ana", "what laptops do you have?").await;
    b.say("ana", "tell me about the vertex 14").await;
    // A's cached state is stale: the append conflicts, A reloads and sees what B was told.
    let reply = a.say("ana", "how much is it?").await;
    assert!(reply.contains("The Vertex 14 costs $749.00"), "{reply}");
    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let events = a
        .store
        .read_stream(&ana.stream_id(), 1)
        .await
        .expect("read");
    let messages = events
        .iter()
        .filter(|e| matches!(e.event, Event::MessageReceived(_)))
        .count();
    assert_eq!(messages, 3);
    a.stop().await;
    b.stop().await;
}

testkit::main!();
