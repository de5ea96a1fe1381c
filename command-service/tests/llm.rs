//! The optional LLM: it words small talk and not-understood replies from the catalog and the
//! last messages; intents and events never depend on it; errors and timeouts fall back.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use command_service::catalog::Catalog;
use command_service::engine::Inbound;
use command_service::llm::{Llm, LlmConfig};
use command_service::service::{CommandService, EventIds, Handled, SystemClock};
use command_service::testing::fake_llm::{Behaviour, FakeLlm};
use event_store::testing::TestDatabase;
use events_schema::{Channel, Event, Intent, MessageKind, UserId};

async fn service(db: &TestDatabase, fake: &FakeLlm) -> CommandService {
    let store = db.open_for_test().await;
    let catalog = Arc::new(Catalog::demo().expect("demo"));
    let llm = Llm::new(LlmConfig {
        url: fake.url.parse().expect("url"),
        api_key: Some("sk-test".to_owned().into()),
        model: "test-model".into(),
        timeout: Duration::from_millis(500),
    })
    .expect("client");
    CommandService::new(store, catalog, Arc::new(SystemClock)).with_llm(llm)
}

fn text(message: &str) -> Inbound {
    Inbound {
        channel: Channel::Web,
        kind: MessageKind::Text,
        text: Some(message.to_owned()),
        message_id: None,
        chat_id: None,
        username: None,
        display_name: None,
        language: None,
        at: Utc::now(),
        payments: false,
    }
}

async fn say(service: &CommandService, user: &UserId, message: &str) -> String {
    match service
        .handle(user, &text(message), EventIds::Fresh)
        .await
        .expect("handled")
    {
        Handled::Answered { reply, .. } => reply.text,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_model_words_what_the_rules_do_not_understand_with_catalog_and_history() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeLlm::start(Behaviour::Answer(
        "We have great phones, have a look!".into(),
    ))
    .await;
    let service = service(&db, &fake).await;
    let user = UserId::new(Channel::Web, "ana").expect("id");

    let reply = say(&service, &user, "what phones do you have?").await;
    assert!(
        reply.starts_with("Here are our phones"),
        "transactional replies stay the rules': {reply}"
    );
    assert!(fake.requests().is_empty());

    let reply = say(
        &service,
        &user,
        "my grandmother's birthday is next week, ideas?",
    )
    .await;
    assert_eq!(reply, "We have great phones, have a look!");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["model"], "test-model");
    let messages = request["messages"].as_array().expect("messages");
    let system = messages[0]["content"].as_str().expect("system prompt");
    assert!(
        system.contains("Nova X1") && system.contains("$799.00"),
        "catalog facts in the prompt"
    );
    assert!(
        messages
            .iter()
            .any(|m| m["content"] == "what phones do you have?"),
        "history in the prompt"
    );
    assert_eq!(
        messages.last().map(|m| m["content"].clone()),
        Some("my grandmother's birthday is next week, ideas?".into())
    );

    let events = service
        .store()
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read");
    let last_intent = events.iter().rev().find_map(|e| match &e.event {
        Event::MessageReceived(m) => Some(m.intent),
        _ => None,
    });
    assert_eq!(
        last_intent,
        Some(Intent::Unknown),
        "the intent is the rules' reading"
    );
    let stored = events.iter().rev().find_map(|e| match &e.event {
        Event::BotReplied(r) => r.text.clone(),
        _ => None,
    });
    assert_eq!(
        stored.as_deref(),
        Some("We have great phones, have a look!")
    );
}

#[tokio::test]
async fn errors_and_timeouts_fall_back_to_the_rule_based_reply() {
    for behaviour in [Behaviour::Fail, Behaviour::Slow(Duration::from_secs(3))] {
        let db = TestDatabase::sqlite_for_test();
        let fake = FakeLlm::start(behaviour.clone()).await;
        let service = service(&db, &fake).await;
        let user = UserId::new(Channel::Web, "bo").expect("id");
        let started = std::time::Instant::now();
        let reply = say(&service, &user, "blorp?").await;
        assert!(
            reply.starts_with("Sorry, I didn't get that"),
            "{behaviour:?}: {reply}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{behaviour:?}: waited too long"
        );
        assert_eq!(fake.requests().len(), 1);
    }
}
