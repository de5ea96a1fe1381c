//! Hostile input, case by case, through the real routes and a real store (Postgres and SQLite):
//! bodies over the limit with and without a length, bytes that are not UTF-8, JSON nested far
//! too deep, NUL and every C0 control character, values of the wrong type, SQL metacharacters in
//! every text field, on the web chat and the Telegram webhook. What a user sees: a clear 4xx
//! (`{"message"}`) that writes nothing, or a 200 whose text reads back from the log exactly as
//! sent. (The property tests in `hostile_input.rs` try the same at random.)

mod common;

use std::time::{Duration, Instant};

use common::fake_telegram::FakeTelegram;
use common::{CHAT_KEY, TestApp, WEBHOOK_SECRET};
use events_schema::{Channel, ConversationStarted, Event, MessageReceived, RecordedEvent, UserId};
use serde_json::{Value, json};
use testkit::TestDatabase;
use testkit::both_backends;

fn web(id: &str) -> UserId {
    UserId::new(Channel::Web, id).expect("web id")
}

fn telegram(id: i64) -> UserId {
    UserId::new(Channel::Telegram, &id.to_string()).expect("telegram id")
}

async fn stream(app: &TestApp, user: &UserId) -> Vec<RecordedEvent> {
    app.store
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read")
}

async fn messages(app: &TestApp, user: &UserId) -> Vec<MessageReceived> {
    stream(app, user)
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            Event::MessageReceived(m) => Some(m),
            _ => None,
        })
        .collect()
}

async fn sessions(app: &TestApp, user: &UserId) -> Vec<ConversationStarted> {
    stream(app, user)
        .await
        .into_iter()
        .filter_map(|e| match e.event {
            Event::ConversationStarted(c) => Some(c),
            _ => None,
        })
        .collect()
}

async fn head(app: &TestApp) -> i64 {
    app.store.head_position().await.expect("head")
}

/// `POST path` with raw bytes and the given headers: (status, JSON body or null).
async fn post_bytes(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", app.url))
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `POST path` as the shop's backend, the body sent chunked (no Content-Length) in pieces of
/// `size` bytes, over a raw connection: (status, JSON body or null). The server may answer
/// before the body is all sent; the rest is then not sent.
async fn post_chunked(app: &TestApp, path: &str, body: &[u8], size: usize) -> (u16, Value) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = app.url.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         X-Chat-Key: {CHAT_KEY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut sent = socket.write_all(head.as_bytes()).await;
    for chunk in body.chunks(size) {
        if sent.is_err() {
            break;
        }
        let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
        frame.extend_from_slice(chunk);
        frame.extend_from_slice(b"\r\n");
        sent = socket.write_all(&frame).await;
    }
    if sent.is_ok() {
        let _ = socket.write_all(b"0\r\n\r\n").await;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

const KEYED: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("X-Chat-Key", CHAT_KEY),
];
const HOOK: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET),
];

fn assert_refused(status: u16, expected: u16, json: &Value, what: &str) {
    assert_eq!(status, expected, "{what}: {json}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message in {json}"
    );
}

/// A body of exactly `len` bytes: a valid message padded with JSON whitespace.
fn padded(user: &str, len: usize) -> Vec<u8> {
    let mut body = json!({"user_id": user, "text": "what laptops do you have?"})
        .to_string()
        .into_bytes();
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

both_backends!(a_body_over_16_kib_is_413_with_or_without_its_length_and_writes_nothing);
async fn a_body_over_16_kib_is_413_with_or_without_its_length_and_writes_nothing(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    // Exactly the limit is fine.
    let (status, json) = post_bytes(&app, "/api/messages", KEYED, padded("edge", 16 * 1024)).await;
    assert_eq!(status, 200, "{json}");
    let before = head(&app).await;

    // One byte more, said up front (Content-Length).
    let (status, json) =
        post_bytes(&app, "/api/messages", KEYED, padded("edge", 16 * 1024 + 1)).await;
    assert_refused(status, 413, &json, "16 KiB + 1 with Content-Length");
    assert!(
        json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("16384")
    );

    // The same without a length (chunked), and a much larger stream, which is cut off early.
    for (chunks, size) in [(1usize, 16 * 1024 + 1), (1_024, 1_024)] {
        let body = padded("edge", chunks * size);
        let started = Instant::now();
        let (status, json) = post_chunked(&app, "/api/messages", &body, size).await;
        assert_refused(status, 413, &json, "chunked");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    assert_eq!(head(&app).await, before, "nothing written");
    app.say("edge", "still there?").await;
    app.stop().await;
}

both_backends!(bytes_that_are_not_utf8_are_400_on_both_routes_and_write_nothing);
async fn bytes_that_are_not_utf8_are_400_on_both_routes_and_write_nothing(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let in_string = |bytes: &[u8]| {
        let mut body = br#"{"user_id": "ana", "text": "a"#.to_vec();
        body.extend_from_slice(bytes);
        body.extend_from_slice(br#"b"}"#);
        body
    };
    let update_with = |bytes: &[u8]| {
        let mut body = br#"{"update_id": 1, "message": {"message_id": 1, "date": 1764028800, "chat": {"id": 5, "type": "private", "first_name": "A"}, "from": {"id": 5, "is_bot": false, "first_name": "A"}, "text": "a"#.to_vec();
        body.extend_from_slice(bytes);
        body.extend_from_slice(br#"b"}}"#);
        body
    };
    let invalid: &[(&str, &[u8])] = &[
        ("a lone continuation byte", &[0x80]),
        ("0xff", &[0xff]),
        ("a truncated sequence", &[0xc3, 0x28]),
        ("an overlong `/`", &[0xc0, 0xaf]),
        ("a UTF-16 surrogate in UTF-8", &[0xed, 0xa0, 0x80]),
        ("above U+10FFFF", &[0xf4, 0x90, 0x80, 0x80]),
    ];
    for (what, bytes) in invalid {
        let (status, json) = post_bytes(&app, "/api/messages", KEYED, in_string(bytes)).await;
        assert_refused(status, 400, &json, what);
        let (status, json) = post_bytes(&app, "/telegram/webhook", HOOK, update_with(bytes)).await;
        assert_refused(status, 400, &json, what);
        let mut raw = bytes.to_vec();
        raw.extend_from_slice(b"{}");
        let (status, json) = post_bytes(&app, "/api/messages", KEYED, raw.clone()).await;
        assert_refused(status, 400, &json, what);
        let (status, json) = post_bytes(&app, "/telegram/webhook", HOOK, raw).await;
        assert_refused(status, 400, &json, what);
    }
    // Escapes that name no character: a lone surrogate, a truncated escape.
    for escape in [r"\ud800", r"\udfff", r"\ud800\u0041", r"\u12"] {
        let body = format!(r#"{{"user_id": "ana", "text": "{escape}"}}"#);
        let (status, json) = post_bytes(&app, "/api/messages", KEYED, body).await;
        assert_refused(status, 400, &json, escape);
    }
    // A byte order mark is not JSON either.
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(
        json!({"user_id": "ana", "text": "hi"})
            .to_string()
            .as_bytes(),
    );
    let (status, json) = post_bytes(&app, "/api/messages", KEYED, bom).await;
    assert_refused(status, 400, &json, "BOM");
    assert_eq!(head(&app).await, 0, "nothing written");
    app.say("ana", "hi").await;
    app.stop().await;
}

both_backends!(json_nested_far_too_deep_is_refused_at_once_on_both_routes);
async fn json_nested_far_too_deep_is_refused_at_once_on_both_routes(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let deep = |open: &str, n: usize| open.repeat(n);
    // Within the chat route's 16 KiB: refused by the parser (400); past it, by the size (413).
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("16,000 [", deep("[", 16_000).into_bytes(), 400),
        (
            "2,000 {\"text\":",
            deep(r#"{"text":"#, 2_000).into_bytes(),
            400,
        ),
        (
            "a nested text",
            format!(r#"{{"user_id": "ana", "text": {}"#, deep("[", 16_000)).into_bytes(),
            400,
        ),
        ("100,000 [", deep("[", 100_000).into_bytes(), 413),
    ];
    for (what, body, expected) in cases {
        let started = Instant::now();
        let (status, json) = post_bytes(&app, "/api/messages", KEYED, body).await;
        assert_refused(status, expected, &json, what);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            started.elapsed()
        );
    }
    // The webhook takes up to 1 MiB: 100,000 to 500,000 levels are read and refused.
    for (what, body) in [
        ("100,000 [", deep("[", 100_000)),
        ("200,000 {\"a\":", deep(r#"{"a":"#, 200_000)),
        (
            "a nested update",
            format!(r#"{{"update_id": 1, "message": {}"#, deep("[", 500_000)),
        ),
    ] {
        let started = Instant::now();
        let (status, json) = post_bytes(&app, "/telegram/webhook", HOOK, body).await;
        assert_refused(status, 400, &json, what);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(head(&app).await, 0, "nothing written");
    app.say("ana", "hi").await;
    app.stop().await;
}

/// NUL, the 31 other C0 controls and DEL.
fn controls() -> impl Iterator<Item = char> {
    (0u8..0x20).chain([0x7f]).map(char::from)
}

both_backends!(nul_and_every_control_character_in_text_and_username_read_back_exactly);
async fn nul_and_every_control_character_in_text_and_username_read_back_exactly(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    for c in controls() {
        let code = u32::from(c);
        let user = format!("ctl-{code:02x}");
        let texts = [format!("a{c}b"), c.to_string(), format!("{c}laptops{c}")];
        let username = format!("N{c}m");
        for text in &texts {
            let body = json!({"user_id": user, "text": text, "username": username});
            let (status, json) = app.post_keyed(body.to_string()).await;
            assert_eq!(status, 200, "U+{code:04X} in {text:?}: {json}");
        }
        let stored: Vec<Option<String>> = messages(&app, &web(&user))
            .await
            .into_iter()
            .map(|m| m.text)
            .collect();
        let sent: Vec<Option<String>> = texts.iter().cloned().map(Some).collect();
        assert_eq!(stored, sent, "U+{code:04X}: the text as sent");
        let started = sessions(&app, &web(&user)).await;
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].username.as_deref(), Some(username.as_str()));
        assert_eq!(started[0].display_name.as_deref(), Some(username.as_str()));
    }
    // Leading and trailing spaces are the user's too.
    app.say("spaces", "  what laptops do you have?  ").await;
    assert_eq!(
        messages(&app, &web("spaces")).await[0].text.as_deref(),
        Some("  what laptops do you have?  ")
    );
    app.stop().await;
}

both_backends!(text_username_or_user_id_of_another_type_is_400_and_writes_nothing);
async fn text_username_or_user_id_of_another_type_is_400_and_writes_nothing(db: TestDatabase) {
    let app = TestApp::spawn(&db).await;
    let bodies = [
        json!({"user_id": "ana", "text": 42}),
        json!({"user_id": "ana", "text": 1.5}),
        json!({"user_id": "ana", "text": true}),
        json!({"user_id": "ana", "text": ["hi"]}),
        json!({"user_id": "ana", "text": {"hi": 1}}),
        json!({"user_id": "ana", "text": null}),
        json!({"user_id": 42, "text": "hi"}),
        json!({"user_id": false, "text": "hi"}),
        json!({"user_id": "ana", "text": "hi", "username": 7}),
        json!({"user_id": "ana", "text": "hi", "username": true}),
        json!({"user_id": "ana", "text": "hi", "button": "true"}),
        json!({"user_id": "ana", "text": "hi", "button": 1}),
    ];
    for body in bodies {
        let (status, json) = app.post_keyed(body.to_string()).await;
        assert_refused(status, 400, &json, &body.to_string());
    }
    // Anonymous callers too.
    let (status, json) = app.post_raw(json!({"text": 1}).to_string()).await;
    assert_refused(status, 400, &json, "anonymous number");
    assert_eq!(head(&app).await, 0, "nothing written");
    app.stop().await;
}

/// What a SQL injection (or a careless quoting) would try.
const SQL: &[&str] = &[
    "'; DROP TABLE events; --",
    "\"; DROP TABLE events; --",
    "' OR '1'='1' --",
    "1); DELETE FROM user_keys; --",
    "'); UPDATE events SET payload = '{}'; --",
    "%' AND 1=0 UNION SELECT key FROM user_keys --",
    "\\'; SELECT pg_sleep(10); --",
    "$1 $$ $tag$ ? :name @p",
];

both_backends!(sql_metacharacters_in_every_web_field_are_stored_verbatim_and_the_log_stays_whole);
async fn sql_metacharacters_in_every_web_field_are_stored_verbatim_and_the_log_stays_whole(
    db: TestDatabase,
) {
    let app = TestApp::spawn(&db).await;
    // Ids as the pattern allows them: the characters SQL comments and ranges are made of.
    let ids = ["--", "-1", "1--", "..", "a.-b", "0x27", "_"];
    let mut written = 0;
    for (i, payload) in SQL.iter().enumerate() {
        let user = format!("sql-{i}");
        let body = json!({"user_id": user, "text": payload, "username": payload});
        let (status, json) = app.post_keyed(body.to_string()).await;
        assert_eq!(status, 200, "{payload}: {json}");
        assert_eq!(
            messages(&app, &web(&user)).await[0].text.as_deref(),
            Some(*payload)
        );
        assert_eq!(
            sessions(&app, &web(&user)).await[0].username.as_deref(),
            Some(*payload)
        );
        written += stream(&app, &web(&user)).await.len();
    }
    for id in ids {
        let body = json!({"user_id": id, "text": SQL[0]});
        let (status, json) = app.post_keyed(body.to_string()).await;
        if id.starts_with('_') {
            // The server's own id space: refused, as every id starting with `_`.
            assert_refused(status, 400, &json, id);
            continue;
        }
        assert_eq!(status, 200, "{id}: {json}");
        assert_eq!(json["user_id"], id);
        assert_eq!(
            messages(&app, &web(id)).await[0].text.as_deref(),
            Some(SQL[0])
        );
        written += stream(&app, &web(id)).await.len();
    }
    // Ids the pattern refuses never reach the store.
    for id in ["a'--", "a;b", "a b", "a%", "a\"", "a\\b", "../x", "x/../y"] {
        let body = json!({"user_id": id, "text": "hi"});
        let (status, json) = app.post_keyed(body.to_string()).await;
        assert_refused(status, 400, &json, id);
    }
    assert_log_whole(&app, written).await;
    app.stop().await;
}

/// The log holds exactly `events` events, at positions 1..=events, each readable.
async fn assert_log_whole(app: &TestApp, events: usize) {
    let stats = app.store.stats().await.expect("stats");
    let count = i64::try_from(events).expect("count");
    assert_eq!(stats.events, count, "{stats:?}");
    assert_eq!(stats.head_position, count);
    let all = app.store.read_all(0, events + 10).await.expect("read all");
    let positions: Vec<i64> = all.iter().map(|e| e.global_position).collect();
    assert_eq!(positions, (1..=count).collect::<Vec<_>>());
}

fn private_message(update_id: i64, user: i64, from: Value, text: &str) -> String {
    let mut from = from;
    from["id"] = json!(user);
    from["is_bot"] = json!(false);
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764028800,
            "chat": {"id": user, "type": "private", "first_name": "x"},
            "from": from,
            "text": text,
        }
    })
    .to_string()
}

both_backends!(
    sql_metacharacters_in_every_telegram_field_are_stored_verbatim_and_the_log_stays_whole
);
async fn sql_metacharacters_in_every_telegram_field_are_stored_verbatim_and_the_log_stays_whole(
    db: TestDatabase,
) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let mut written = 0;
    for (i, payload) in SQL.iter().enumerate() {
        let user = 555_000 + i64::try_from(i).expect("i");
        let from = json!({"first_name": payload, "last_name": payload, "username": payload});
        let update = private_message(1_000 + user, user, from, payload);
        let (status, json) = app.webhook(Some(WEBHOOK_SECRET), &update).await;
        assert_eq!(status, 200, "{payload}: {json}");
        assert_eq!(
            messages(&app, &telegram(user)).await[0].text.as_deref(),
            Some(*payload)
        );
        let started = sessions(&app, &telegram(user)).await;
        assert_eq!(started[0].username.as_deref(), Some(*payload));
        assert_eq!(started[0].display_name.as_deref(), Some(*payload));

        // A button whose data the bot never offered: answered, nothing appended.
        let before = head(&app).await;
        let press = json!({
            "update_id": 2_000 + user,
            "callback_query": {
                "id": format!("q{i}"),
                "from": {"id": user, "is_bot": false, "first_name": payload},
                "chat_instance": "1",
                "data": payload,
            }
        });
        let (status, json) = app.webhook(Some(WEBHOOK_SECRET), &press.to_string()).await;
        assert_eq!(status, 200, "{payload}: {json}");
        assert_eq!(head(&app).await, before, "{payload}: a foreign button");
        written += stream(&app, &telegram(user)).await.len();
    }
    fake.wait_for("answerCallbackQuery", SQL.len()).await;
    assert_log_whole(&app, written).await;
    app.stop().await;
}

both_backends!(nul_in_a_telegram_update_never_makes_the_webhook_fail);
async fn nul_in_a_telegram_update_never_makes_the_webhook_fail(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    // NUL in everything a user types or Telegram reports about them: recorded, verbatim where
    // it is the user's text; a language tag that is not one is left out.
    for (i, language) in ["e\u{0}n", "en\u{1}", &"x".repeat(5_000), "en-US"]
        .into_iter()
        .enumerate()
    {
        let user = 777_000 + i64::try_from(i).expect("i");
        let from = json!({
            "first_name": "A\u{0}na",
            "username": "a\u{0}",
            "language_code": language,
        });
        let update = private_message(3_000 + user, user, from, "hi\u{0}there");
        let (status, json) = app.webhook(Some(WEBHOOK_SECRET), &update).await;
        assert_eq!(status, 200, "{language:.20?}: {json}");
        assert_eq!(
            messages(&app, &telegram(user)).await[0].text.as_deref(),
            Some("hi\u{0}there")
        );
        let started = sessions(&app, &telegram(user)).await;
        assert_eq!(started[0].display_name.as_deref(), Some("A\u{0}na"));
        assert_eq!(started[0].username.as_deref(), Some("a\u{0}"));
        let kept = (language == "en-US").then_some(language);
        assert_eq!(started[0].language.as_deref(), kept, "{language:.20?}");
    }

    // A payment whose ids hold NUL cannot be stored as it is (they are kept in the clear):
    // a clear 400 that writes nothing, not a 503 Telegram would retry for ever.
    let before = head(&app).await;
    for field in ["telegram_payment_charge_id", "provider_payment_charge_id"] {
        let mut payment = json!({
            "currency": "USD",
            "total_amount": 129900,
            "invoice_payload": "order-demo-1",
            "telegram_payment_charge_id": "tg_charge_1",
            "provider_payment_charge_id": "prov_charge_1",
        });
        payment[field] = json!("charge\u{0}1");
        let update = json!({
            "update_id": 4_000,
            "message": {
                "message_id": 8,
                "date": 1764029200,
                "chat": {"id": 424242001, "type": "private", "first_name": "Ana"},
                "from": {"id": 424242001, "is_bot": false, "first_name": "Ana"},
                "successful_payment": payment,
            }
        });
        let (status, json) = app.webhook(Some(WEBHOOK_SECRET), &update.to_string()).await;
        assert_refused(status, 400, &json, field);
    }
    assert_eq!(head(&app).await, before, "nothing written");
    app.stop().await;
}

testkit::main!();
