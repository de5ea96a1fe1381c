//! The front door, through the real HTTP routes and a real store: who may name a web user
//! (only the shop's backend, with `X-Chat-Key`), anonymous sessions (bearer token or the chat
//! page's cookie; forged, expired and erased ones refused), and the abuse limits (429 with
//! `Retry-After` on the web, a silent drop on Telegram). A refused request writes nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use command_service::limits::Rate;
use command_service::testing::ManualClock;
use command_service::testing::fake_telegram::FakeTelegram;
use common::{CHAT_KEY, Options, TestApp, WEBHOOK_SECRET};
use events_schema::{Channel, Event, UserId};
use serde_json::{Value, json};
use testkit::TestDatabase;
use testkit::both_backends;

fn web(id: &str) -> UserId {
    UserId::new(Channel::Web, id).expect("web id")
}

async fn messages_of(app: &TestApp, user: &UserId) -> usize {
    app.store
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read")
        .iter()
        .filter(|e| matches!(e.event, Event::MessageReceived(_)))
        .count()
}

fn manual_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(chrono::Utc::now()))
}

both_backends!(only_the_shops_backend_names_users_and_a_refusal_writes_nothing);
async fn only_the_shops_backend_names_users_and_a_refusal_writes_nothing(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    // Ana, known to the shop's backend, asks to buy and is waiting to confirm.
    app.say("ana", "tell me about the nova x1").await;
    let reply = app.say("ana", "I'll take two").await;
    assert!(reply.contains("$1,598.00"), "{reply}");

    // Someone else tries to confirm her order: without the key, with a wrong one.
    let head = app.store.head_position().await.expect("head");
    let body = json!({"user_id": "ana", "text": "yes"}).to_string();
    let (status, json) = app.post_raw(body.clone()).await;
    assert_eq!(status, 403, "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("X-Chat-Key")
    );
    let response = app
        .post(&[("X-Chat-Key", "not-the-key")], body.clone())
        .await;
    assert_eq!(response.status().as_u16(), 401);
    let response = app
        .post(&[("X-Chat-Key", &format!("{CHAT_KEY}x"))], body.clone())
        .await;
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(app.store.head_position().await.expect("head"), head);
    // A session cannot name her either.
    let (_, first) = app.say_in_session(None, "hi").await;
    let token = first["session"].as_str().expect("a session");
    let before = app.store.head_position().await.expect("head");
    let response = app
        .post(&[("Authorization", &format!("Bearer {token}"))], body)
        .await;
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(
        app.store.head_position().await.expect("head"),
        before,
        "no refused request wrote anything"
    );
    assert_eq!(
        messages_of(&app, &web("ana")).await,
        2,
        "ana's stream untouched"
    );

    // Her own backend confirms.
    let reply = app.say("ana", "yes").await;
    assert!(reply.starts_with("Order ord-"), "{reply}");
    app.stop().await;
}

both_backends!(an_anonymous_caller_gets_a_session_and_keeps_its_conversation);
async fn an_anonymous_caller_gets_a_session_and_keeps_its_conversation(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    let (status, first) = app.say_in_session(None, "tell me about the nova x1").await;
    assert_eq!(status, 200, "{first}");
    let token = first["session"]
        .as_str()
        .expect("the first reply carries a session");
    let user = first["user_id"].as_str().expect("user_id").to_owned();
    assert!(user.starts_with("_anon-"), "{user}");

    let (status, second) = app.say_in_session(Some(token), "how much is it?").await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["user_id"], user.as_str(), "the same user");
    assert!(
        second.get("session").is_none(),
        "no new token while this one is young"
    );
    let reply = second["reply"].as_str().unwrap_or_default();
    assert!(reply.contains("The Nova X1 costs $799.00"), "{reply}");
    assert_eq!(messages_of(&app, &web(&user)).await, 2);

    // Another caller without credentials is another user.
    let (_, other) = app.say_in_session(None, "hi").await;
    assert_ne!(other["user_id"], user.as_str());
    app.stop().await;
}

both_backends!(the_shops_backend_may_relay_an_anonymous_session);
async fn the_shops_backend_may_relay_an_anonymous_session(db: TestDatabase) {
    // The address limit would stop a third anonymous request from this address; the backend,
    // which speaks for many shoppers from one address, is not held to it.
    let app = TestApp::spawn_configured(
        &db,
        Options {
            address_rate: Rate {
                per_minute: 60,
                burst: 2,
            },
            ..Options::default()
        },
    )
    .await;
    let keyed = [("X-Chat-Key", CHAT_KEY)];
    let response = app
        .post(
            &keyed,
            json!({"text": "tell me about the nova x1"}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let first: Value = response.json().await.expect("json");
    let token = first["session"].as_str().expect("a new session");
    let auth = format!("Bearer {token}");
    for _ in 0..3 {
        let response = app
            .post(
                &[keyed[0], ("Authorization", &auth)],
                json!({"text": "how much is it?"}).to_string(),
            )
            .await;
        assert_eq!(response.status().as_u16(), 200);
        let json: Value = response.json().await.expect("json");
        assert_eq!(json["user_id"], first["user_id"], "the same session");
        assert!(
            json["reply"]
                .as_str()
                .unwrap_or_default()
                .contains("$799.00")
        );
    }
    let response = app
        .post(
            &[keyed[0], ("Authorization", "Bearer v1.forged")],
            json!({"text": "hi"}).to_string(),
        )
        .await;
    assert_eq!(
        response.status().as_u16(),
        401,
        "a bad session is refused, key or not"
    );
    app.stop().await;
}

both_backends!(a_forged_foreign_malformed_or_expired_session_is_refused_and_writes_nothing);
async fn a_forged_foreign_malformed_or_expired_session_is_refused_and_writes_nothing(
    db: TestDatabase,
) {
    let clock = manual_clock();
    let app = TestApp::spawn_configured(
        &db,
        Options {
            session_ttl: Duration::from_secs(3_600),
            clock: clock.clone(),
            ..Options::default()
        },
    )
    .await;
    let (_, first) = app.say_in_session(None, "hi").await;
    let token = first["session"].as_str().expect("session").to_owned();
    let head = app.store.head_position().await.expect("head");

    // Another user's id in a token signed with this token's signature.
    let mut parts: Vec<&str> = token.split('.').collect();
    let other_id = "0123456789abcdef0123456789abcdef";
    parts[1] = other_id;
    let swapped = parts.join(".");
    // Signed by another shop's key.
    let foreign = command_service::web::Sessions::new([9; 32], Duration::from_secs(3_600))
        .start(clock.now_for_test())
        .1;
    for bad in [
        format!("{token}x"),
        swapped,
        foreign,
        "v1.abc".to_owned(),
        String::new(),
    ] {
        let (status, json) = app.say_in_session(Some(&bad), "hi").await;
        assert_eq!(status, 401, "{bad}: {json}");
    }
    assert_eq!(app.store.head_position().await.expect("head"), head);
    for header in ["Basic YW5hOnNlY3JldA==", "Bearer", "token"] {
        let response = app
            .post(
                &[("Authorization", header)],
                json!({"text": "hi"}).to_string(),
            )
            .await;
        assert_eq!(response.status().as_u16(), 401, "{header}");
    }
    // One second before the end of its lifetime it works; at the end it does not.
    clock.advance(Duration::from_secs(3_598));
    let (status, json) = app.say_in_session(Some(&token), "hi").await;
    assert_eq!(status, 200, "{json}");
    assert!(
        json["session"].is_string(),
        "renewed past half its lifetime"
    );
    let head = app.store.head_position().await.expect("head");
    clock.advance(Duration::from_secs(2));
    let (status, json) = app.say_in_session(Some(&token), "hi").await;
    assert_eq!(status, 401, "expired: {json}");
    assert_eq!(app.store.head_position().await.expect("head"), head);
    app.stop().await;
}

/// Reads the manual clock (the tests' stand-in for `Utc::now`).
trait NowForTest {
    fn now_for_test(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowForTest for Arc<ManualClock> {
    fn now_for_test(&self) -> chrono::DateTime<chrono::Utc> {
        command_service::service::Clock::now(self.as_ref())
    }
}

both_backends!(any_instance_verifies_any_session);
async fn any_instance_verifies_any_session(db: TestDatabase) {
    // Two command services over one database, as two processes behind a balancer sharing a
    // master key.
    let a = TestApp::spawn(&db).await;
    let b = TestApp::spawn(&db).await;
    let (_, first) = a.say_in_session(None, "tell me about the vertex 14").await;
    let token = first["session"].as_str().expect("session");
    let (status, json) = b.say_in_session(Some(token), "how much is it?").await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["user_id"], first["user_id"]);
    let reply = json["reply"].as_str().unwrap_or_default();
    assert!(reply.contains("The Vertex 14 costs $749.00"), "{reply}");
    a.stop().await;
    b.stop().await;
}

/// The `salesbot_session=…` pair of a `Set-Cookie` header.
fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let header = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("salesbot_session="))?
        .to_owned();
    let pair = header.split(';').next()?.to_owned();
    Some((pair, header))
}

both_backends!(the_chat_page_gets_an_http_only_strict_cookie_that_the_route_accepts);
async fn the_chat_page_gets_an_http_only_strict_cookie_that_the_route_accepts(db: TestDatabase) {
    let clock = manual_clock();
    let app = TestApp::spawn_configured(
        &db,
        Options {
            clock: clock.clone(),
            ..Options::default()
        },
    )
    .await;
    let page = reqwest::get(format!("{}/chat", app.url))
        .await
        .expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let (pair, header) = session_cookie(&page).expect("the page sets a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=2592000"] {
        assert!(header.contains(attribute), "{header}");
    }
    let html = page.text().await.expect("html");
    assert!(!html.contains("user_id"), "the page never picks an id");
    assert!(!html.contains("v1."), "nor sees a token");

    let body = json!({"text": "tell me about the nova x1"}).to_string();
    let response = app.post(&[("Cookie", &pair)], body).await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        session_cookie(&response).is_none(),
        "a young cookie is kept"
    );
    let json: Value = response.json().await.expect("json");
    assert!(
        json.get("session").is_none(),
        "the token never reaches the page's script"
    );
    let user = json["user_id"].as_str().expect("user").to_owned();
    assert!(user.starts_with("_anon-"), "{user}");

    // Past half its lifetime the cookie is renewed, for the same shopper.
    clock.advance(Duration::from_secs(16 * 86_400));
    let response = app
        .post(
            &[("Cookie", &pair)],
            json!({"text": "how much is it?"}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let (renewed, _) = session_cookie(&response).expect("renewed");
    assert_ne!(renewed, pair);
    let json: Value = response.json().await.expect("json");
    assert_eq!(json["user_id"], user.as_str());
    assert!(
        json["reply"]
            .as_str()
            .unwrap_or_default()
            .contains("$799.00")
    );
    app.stop().await;
}

both_backends!(erasing_a_user_ends_their_session);
async fn erasing_a_user_ends_their_session(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    let (_, first) = app
        .say_in_session(None, "hi, I'm looking for a phone")
        .await;
    let token = first["session"].as_str().expect("session").to_owned();
    let user = web(first["user_id"].as_str().expect("user"));
    // The page's session, too.
    let page = reqwest::get(format!("{}/chat", app.url))
        .await
        .expect("page");
    let (cookie, _) = session_cookie(&page).expect("cookie");
    let response = app
        .post(&[("Cookie", &cookie)], json!({"text": "hi"}).to_string())
        .await;
    let page_user: Value = response.json().await.expect("json");
    let page_user = web(page_user["user_id"].as_str().expect("user"));

    for erased in [&user, &page_user] {
        app.store
            .erase_user(erased, "test")
            .await
            .expect("erase")
            .expect("had events");
    }
    let head = app.store.head_position().await.expect("head");
    let (status, json) = app.say_in_session(Some(&token), "hi again").await;
    assert_eq!(status, 401, "{json}");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("erased")
    );
    assert_eq!(
        app.store.head_position().await.expect("head"),
        head,
        "nothing written"
    );

    // The page goes on as a new anonymous shopper, with a new cookie.
    let response = app
        .post(
            &[("Cookie", &cookie)],
            json!({"text": "hi again"}).to_string(),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    let (new_cookie, _) = session_cookie(&response).expect("a new cookie");
    assert_ne!(new_cookie, cookie);
    let json: Value = response.json().await.expect("json");
    assert_ne!(json["user_id"], page_user.external());
    assert!(json.get("session").is_none());
    assert_eq!(
        messages_of(&app, &page_user).await,
        1,
        "nothing after the erasure"
    );
    app.stop().await;
}

both_backends!(a_user_over_their_limit_gets_429_with_retry_after_and_nothing_is_written);
async fn a_user_over_their_limit_gets_429_with_retry_after_and_nothing_is_written(
    db: TestDatabase,
) {
    let app = TestApp::spawn_configured(
        &db,
        Options {
            user_rate: Rate {
                per_minute: 6,
                burst: 3,
            },
            ..Options::default()
        },
    )
    .await;
    let body = json!({"user_id": "eager", "text": "what phones do you have?"}).to_string();
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let response = app.post(&[("X-Chat-Key", CHAT_KEY)], body.clone()).await;
        let status = response.status().as_u16();
        if status == 429 {
            let wait: u64 = response.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            assert!((1..=10).contains(&wait), "{wait}");
            let json: Value = response.json().await.expect("json");
            assert!(
                json["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("retry")
            );
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429, 429, 429, 429, 429]);
    assert_eq!(
        messages_of(&app, &web("eager")).await,
        3,
        "refused ones not recorded"
    );
    // Anyone else is unaffected, anonymous sessions included.
    app.say("calm", "hi").await;
    let (_, first) = app.say_in_session(None, "hi").await;
    let token = first["session"].as_str().expect("session").to_owned();
    for _ in 0..2 {
        assert_eq!(app.say_in_session(Some(&token), "hi").await.0, 200);
    }
    assert_eq!(app.say_in_session(Some(&token), "hi").await.0, 429);
    app.stop().await;
}

both_backends!(one_address_without_the_key_is_limited_and_the_backend_is_not);
async fn one_address_without_the_key_is_limited_and_the_backend_is_not(db: TestDatabase) {
    let app = TestApp::spawn_configured(
        &db,
        Options {
            address_rate: Rate {
                per_minute: 60,
                burst: 5,
            },
            ..Options::default()
        },
    )
    .await;
    // New sessions, each a new user, all from 127.0.0.1: the address limit stops them.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.say_in_session(None, "hi").await.0);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    let head = app.store.head_position().await.expect("head");
    // The shop's backend speaks for many users from one address: not limited by it.
    for i in 0..10 {
        app.say(&format!("member-{i}"), "hi").await;
    }
    assert!(app.store.head_position().await.expect("head") > head);
    app.stop().await;
}

both_backends!(telegram_over_the_limit_is_answered_200_and_dropped_without_a_reply);
async fn telegram_over_the_limit_is_answered_200_and_dropped_without_a_reply(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_telegram_configured(
        &db,
        &fake.url,
        Options {
            user_rate: Rate {
                per_minute: 6,
                burst: 2,
            },
            ..Options::default()
        },
    )
    .await;
    let update = |n: i64| {
        json!({"update_id": 900_000 + n, "message": {"message_id": n, "date": 1_764_028_800 + n,
            "from": {"id": 424242777, "is_bot": false, "first_name": "Flo"},
            "chat": {"id": 424242777, "first_name": "Flo", "type": "private"},
            "text": format!("what phones do you have? ({n})")}})
        .to_string()
    };
    for n in 1..=5 {
        let (status, body) = app.webhook(Some(WEBHOOK_SECRET), &update(n)).await;
        assert_eq!(status, 200, "update {n}: {body}");
    }
    let flo = UserId::new(Channel::Telegram, "424242777").expect("id");
    assert_eq!(
        messages_of(&app, &flo).await,
        2,
        "the updates over the limit are dropped"
    );
    let sent = fake.wait_for("sendMessage", 2).await;
    // Wait until the outbox has passed the last event, then check nothing more was sent.
    let head = app.store.head_position().await.expect("head");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app
        .store
        .checkpoint(command_service::telegram::outbox::CHECKPOINT)
        .await
        .expect("outbox checkpoint")
        .unwrap_or(0)
        < head
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the outbox caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(fake.calls("sendMessage").len(), 2, "{sent:#?}");
    app.stop().await;
}

testkit::main!();
