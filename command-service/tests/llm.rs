//! The optional LLM: it words small talk and not-understood replies from the catalog and the
//! last messages; intents and events never depend on it; errors and timeouts fall back.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use command_service::catalog::Catalog;
use command_service::engine::Inbound;
use command_service::llm::{Llm, LlmConfig};
use command_service::service::{CommandService, EventIds, Handled, SystemClock, lock_stripe};
use command_service::testing::fake_llm::{Behaviour, FakeLlm};
use events_schema::{Channel, Event, Intent, MessageKind, UserId};
use testkit::TestDatabase;

async fn service(db: &TestDatabase, fake: &FakeLlm) -> CommandService {
    service_waiting(db, fake, Duration::from_millis(500)).await
}

/// A service that waits up to `timeout` for the model.
async fn service_waiting(db: &TestDatabase, fake: &FakeLlm, timeout: Duration) -> CommandService {
    let store = db.open_for_test().await;
    let catalog = Arc::new(Catalog::demo().expect("demo"));
    let llm = Llm::new(LlmConfig {
        url: fake.url.parse().expect("url"),
        api_key: Some("sk-test".to_owned().into()),
        model: "test-model".into(),
        timeout,
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
    assert_eq!(requests.len(), 2, "asked to understand, then to word");
    assert!(
        requests[0].get("tools").is_some(),
        "first: the understanding tool"
    );
    let request = &requests[1];
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
        assert_eq!(
            fake.requests().len(),
            2,
            "{behaviour:?}: asked to understand, then to word; both fell back"
        );
    }
}

/// Long enough to be sure an answer did not wait for the held model call, short enough to fail
/// quickly when it does.
const PROMPTLY: Duration = Duration::from_secs(5);

/// A model call that hangs (until the test releases it) holds up nobody but the shopper it
/// words a reply for: not a shopper whose id shares its lock stripe, nor anyone else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_model_holds_up_no_other_shopper_not_even_one_on_the_same_lock_stripe() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeLlm::start(Behaviour::Held("Hello! Looking for anything?".into())).await;
    let service = service_waiting(&db, &fake, Duration::from_secs(60)).await;
    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let greeting = tokio::spawn({
        let (service, ana) = (service.clone(), ana.clone());
        async move { say(&service, &ana, "hello there").await }
    });
    fake.wait_for_requests(1, PROMPTLY).await;

    let neighbour = (0..100_000)
        .map(|i| UserId::new(Channel::Web, &format!("neighbour-{i}")).expect("id"))
        .find(|u| lock_stripe(u) == lock_stripe(&ana))
        .expect("a user on ana's stripe");
    let reply = tokio::time::timeout(
        PROMPTLY,
        say(&service, &neighbour, "what phones do you have?"),
    )
    .await
    .expect("the same stripe's shopper is answered while ana's model call hangs");
    assert!(reply.starts_with("Here are our phones"), "{reply}");

    let others = (0..20).map(|i| {
        let service = service.clone();
        async move {
            let user = UserId::new(Channel::Web, &format!("shopper-{i}")).expect("id");
            say(&service, &user, "what laptops do you have?").await
        }
    });
    let replies = tokio::time::timeout(PROMPTLY, futures::future::join_all(others))
        .await
        .expect("other shoppers are answered while ana's model call hangs");
    assert!(
        replies
            .iter()
            .all(|r| r.starts_with("Here are our laptops")),
        "{replies:?}"
    );
    assert!(!greeting.is_finished(), "ana still waits for the model");

    fake.release();
    let reply = tokio::time::timeout(PROMPTLY, greeting)
        .await
        .expect("answered once the model is")
        .expect("task");
    assert_eq!(reply, "Hello! Looking for anything?");
    assert_eq!(fake.requests().len(), 1, "only ana's reply was the model's");
}

/// A shopper's second message, sent while the model words the first one's reply, is answered
/// at once; the first is then recorded after it, decided again on the conversation as it now
/// is. Every message is recorded and answered exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_during_a_slow_model_call_is_answered_and_nothing_is_lost_or_doubled() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeLlm::start(Behaviour::Held("Hello! Looking for anything?".into())).await;
    let service = service_waiting(&db, &fake, Duration::from_secs(60)).await;
    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let greeting = tokio::spawn({
        let (service, ana) = (service.clone(), ana.clone());
        async move { say(&service, &ana, "hello there").await }
    });
    fake.wait_for_requests(1, PROMPTLY).await;

    let reply = tokio::time::timeout(PROMPTLY, say(&service, &ana, "what phones do you have?"))
        .await
        .expect("ana's second message is answered while her first waits for the model");
    assert!(reply.starts_with("Here are our phones"), "{reply}");

    fake.release();
    let reply = tokio::time::timeout(PROMPTLY, greeting)
        .await
        .expect("answered once the model is")
        .expect("task");
    assert_eq!(reply, "Hello! Looking for anything?");

    let events = service
        .store()
        .read_stream(&ana.stream_id(), 1)
        .await
        .expect("read");
    let messages: Vec<(uuid::Uuid, Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::MessageReceived(m) => Some((e.event_id, m.text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        messages
            .iter()
            .map(|(_, t)| t.as_deref())
            .collect::<Vec<_>>(),
        [Some("what phones do you have?"), Some("hello there")],
        "each message recorded once; the one the model worded after the other"
    );
    let replies: Vec<(Option<uuid::Uuid>, Option<String>)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::BotReplied(r) => Some((r.in_reply_to, r.text.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(replies.len(), 2, "each message answered once: {replies:?}");
    assert_eq!(replies[0].0, Some(messages[0].0));
    assert!(
        replies[0]
            .1
            .as_deref()
            .is_some_and(|t| t.starts_with("Here are our phones"))
    );
    assert_eq!(
        replies[1],
        (
            Some(messages[1].0),
            Some("Hello! Looking for anything?".to_owned())
        )
    );
    let sessions = events
        .iter()
        .filter(|e| matches!(e.event, Event::ConversationStarted(_)))
        .count();
    assert_eq!(sessions, 1, "one conversation");

    // The greeting was decided again on the conversation as recorded, so the model's second
    // prompt carries the phones exchange.
    let requests = fake.requests();
    assert_eq!(
        requests.len(),
        2,
        "asked again after the conversation moved on"
    );
    let history = requests[1]["messages"].as_array().expect("messages");
    assert!(
        history
            .iter()
            .any(|m| m["content"] == "what phones do you have?"),
        "{history:?}"
    );
}

/// Telegram redelivers an update whose model call is still running: both deliveries wait for
/// the model, one records and answers, the other finds its events recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_update_redelivered_during_a_slow_model_call_is_recorded_once() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeLlm::start(Behaviour::Held("Hi! How can I help?".into())).await;
    let service = service_waiting(&db, &fake, Duration::from_secs(60)).await;
    let user = UserId::new(Channel::Telegram, "424242001").expect("id");
    let update = Inbound {
        channel: Channel::Telegram,
        ..text("hello there")
    };
    let ids = EventIds::Telegram {
        bot_id: 1,
        update_id: 7,
    };
    let deliveries: Vec<_> = (0..2)
        .map(|_| {
            let (service, user, update) = (service.clone(), user.clone(), update.clone());
            tokio::spawn(async move { service.handle(&user, &update, ids).await })
        })
        .collect();
    fake.wait_for_requests(2, PROMPTLY).await;
    fake.release();
    let mut outcomes = Vec::new();
    for delivery in deliveries {
        let handled = tokio::time::timeout(PROMPTLY, delivery)
            .await
            .expect("answered once the model is")
            .expect("task")
            .expect("handled");
        outcomes.push(match handled {
            Handled::Answered { reply, .. } => reply.text,
            Handled::Duplicate => "duplicate".to_owned(),
            Handled::Ignored => "ignored".to_owned(),
            Handled::Ended => "ended".to_owned(),
        });
    }
    outcomes.sort();
    assert_eq!(outcomes, ["Hi! How can I help?", "duplicate"]);
    let events = service
        .store()
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read");
    let count = |f: fn(&Event) -> bool| events.iter().filter(|e| f(&e.event)).count();
    assert_eq!(count(|e| matches!(e, Event::MessageReceived(_))), 1);
    assert_eq!(count(|e| matches!(e, Event::BotReplied(_))), 1);
}

/// When the rules do not understand, the model proposes an intent and catalog ids through the
/// `understand` tool; the rules check it and decide the events, and the message records that the
/// model understood it. A proposal naming what the catalog lacks is ignored whole.
#[tokio::test]
async fn the_model_may_propose_what_the_rules_check_and_decide() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeLlm::start(Behaviour::Propose {
        arguments: serde_json::json!({"intent": "price_inquiry", "product_ids": ["pixelon-8"]}),
        text: "unused".into(),
    })
    .await;
    let service = service(&db, &fake).await;
    let user = UserId::new(Channel::Web, "ana").expect("id");

    let reply = say(
        &service,
        &user,
        "whats the google-ish thingy called again, damage?",
    )
    .await;
    assert!(
        reply.contains("Pixelon 8 costs $599.00"),
        "the rules' own words: {reply}"
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "understood, so nothing to word");
    let tool = &requests[0]["tools"][0]["function"];
    assert_eq!(tool["name"], "understand");
    assert!(
        tool["parameters"]["properties"]["product_ids"]["items"]["enum"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| id == "pixelon-8")),
        "the schema lists the catalog's ids"
    );
    let events = service
        .store()
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read");
    let message = events.iter().rev().find_map(|e| match &e.event {
        Event::MessageReceived(m) => Some(m.clone()),
        _ => None,
    });
    let message = message.expect("recorded");
    assert_eq!(message.intent, Intent::PriceInquiry);
    assert_eq!(message.understood_by, events_schema::UnderstoodBy::Model);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, Event::PriceInquired(p) if p.product_id == "pixelon-8")),
        "the rules decided the event"
    );

    // A proposal naming a product the catalog lacks is ignored: the rules' "didn't get that".
    let fake = FakeLlm::start(Behaviour::Propose {
        arguments: serde_json::json!({"intent": "purchase", "product_ids": ["iphone-15"], "quantity": 2}),
        text: "Sorry, could you say that again?".into(),
    })
    .await;
    let service = service_waiting(&db, &fake, Duration::from_millis(500)).await;
    let bob = UserId::new(Channel::Web, "bob").expect("id");
    let reply = say(&service, &bob, "gimme two of the fruit ones").await;
    assert_eq!(
        reply, "Sorry, could you say that again?",
        "worded, not understood"
    );
    let events = service
        .store()
        .read_stream(&bob.stream_id(), 1)
        .await
        .expect("read");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e.event, Event::PurchaseIntended(_)))
    );
    let message = events.iter().rev().find_map(|e| match &e.event {
        Event::MessageReceived(m) => Some(m.clone()),
        _ => None,
    });
    let message = message.expect("recorded");
    assert_eq!(
        (message.intent, message.understood_by),
        (Intent::Unknown, events_schema::UnderstoodBy::Nobody)
    );
}
