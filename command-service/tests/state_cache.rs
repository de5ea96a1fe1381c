//! The states kept in memory stay within their byte budget however long the conversations,
//! and a shopper whose state was evicted is answered from their state folded again from the log.

use std::sync::Arc;

use chrono::Utc;
use command_service::catalog::Catalog;
use command_service::engine::Inbound;
use command_service::service::{CommandService, EventIds, Handled, SystemClock};
use events_schema::{Channel, MessageKind, UserId};
use testkit::TestDatabase;

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
async fn long_conversations_stay_within_the_budget_and_evicted_shoppers_are_reloaded_from_the_log()
{
    let db = TestDatabase::sqlite_for_test();
    let store = db.open_for_test().await;
    let catalog = Arc::new(Catalog::demo().expect("demo"));
    let budget = 256 * 1024;
    let service =
        CommandService::new(store, catalog, Arc::new(SystemClock)).with_state_cache(budget);

    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let reply = say(&service, &ana, "tell me about the Nova X1").await;
    assert!(reply.contains("Nova X1"), "{reply}");
    assert!(service.holds_state(&ana));

    // Forty shoppers with ten 1,500-character messages each: far more than the budget.
    let long = "blorp ".repeat(250);
    for i in 0..40 {
        let user = UserId::new(Channel::Web, &format!("talker-{i}")).expect("id");
        for _ in 0..10 {
            say(&service, &user, &long).await;
            let usage = service.state_cache();
            assert!(usage.bytes <= budget, "{usage:?}");
        }
        assert!(service.holds_state(&user), "the one talking is kept");
    }
    let usage = service.state_cache();
    assert!(
        usage.entries > 1 && usage.entries < 40,
        "some kept, the rest evicted: {usage:?}"
    );
    assert!(
        usage.bytes > budget / 2,
        "the budget is used, not emptied: {usage:?}"
    );
    assert!(!service.holds_state(&ana), "the least recently used went");

    // Ana's memory is folded again from her stream: "it" is still the Nova X1.
    let reply = say(&service, &ana, "how much is it?").await;
    assert!(reply.contains("$799.00"), "{reply}");
    assert!(service.holds_state(&ana), "kept again");
    let usage = service.state_cache();
    assert!(usage.bytes <= budget, "{usage:?}");
}

/// An erasure (here through the store's handle the admin API would hold) drops the shopper's
/// state, their recent words included, from the command path's memory as it commits, not at
/// their next message. Writing again, they are a new user under a new key.
#[tokio::test]
async fn an_erased_shoppers_state_leaves_memory_at_once() {
    let db = TestDatabase::sqlite_for_test();
    let store = db.open_for_test().await;
    let catalog = Arc::new(Catalog::demo().expect("demo"));
    let service = CommandService::new(store.clone(), catalog, Arc::new(SystemClock))
        .with_state_cache(1024 * 1024);
    let ana = UserId::new(Channel::Web, "ana").expect("id");
    let bo = UserId::new(Channel::Web, "bo").expect("id");
    say(&service, &ana, "tell me about the Nova X1").await;
    say(&service, &bo, "tell me about the Nova X1").await;
    assert!(service.holds_state(&ana) && service.holds_state(&bo));

    store
        .erase_user(&ana, "test")
        .await
        .expect("erase")
        .expect("ana has events");
    assert!(!service.holds_state(&ana), "Ana's state left memory");
    assert!(service.holds_state(&bo), "nobody else's did");

    say(&service, &ana, "how much is it?").await;
    let texts: Vec<(Option<String>, bool)> = store
        .read_stream(&ana.stream_id(), 1)
        .await
        .expect("read")
        .into_iter()
        .filter_map(|e| match e.event {
            events_schema::Event::MessageReceived(m) => Some((m.text, e.erased)),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        [(None, true), (Some("how much is it?".to_owned()), false)]
    );
}
