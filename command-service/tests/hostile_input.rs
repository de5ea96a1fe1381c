//! Hostile input, tried systematically with proptest, through the real HTTP routes on loopback
//! and a real store (Postgres and SQLite): random bytes, random JSON and near-valid bodies for
//! `POST /api/messages`, mutated and random Telegram updates for `POST /telegram/webhook`, and
//! (pure, many more cases) every string through `serde_json` into a Telegram `Update` and
//! `update::read`.
//!
//! What must hold for every case: the status is one the route documents (the chat route's come
//! from the committed `query-api/openapi.json`; the webhook's, 200 or 400, from the README's
//! update table), every refusal is `{"message": string}` and appends nothing, an accepted
//! message reads back from its user's stream exactly as sent, and the server still answers a
//! valid request afterwards (a panic would have dropped the connection).
//!
//! Cases per property: `PROPTEST_CASES` (default 256 over HTTP, 10,000 for the pure one).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use command_service::telegram::update::{self, Action, BotIdentity};
use common::fake_telegram::FakeTelegram;
use common::{CHAT_KEY, TestApp, WEBHOOK_SECRET};
use events_schema::{Channel, Event, RecordedEvent, StreamId, UserId};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};
use testkit::TestDatabase;
use testkit::both_backends;

/// Cases per property: `PROPTEST_CASES` if set, else `default`.
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        // Failures are shrunk and printed; cases are random per run, not replayed from files.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `property` for every case of the strategy `strategy` makes, on a blocking thread, each case driven to its
/// end on the test's tokio runtime; panics with the shrunk failing case.
async fn check<M, S, F, Fut>(default_cases: u32, strategy: M, property: F)
where
    M: FnOnce() -> S + Send + 'static,
    S: Strategy,
    F: Fn(S::Value) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), TestCaseError>>,
{
    let handle = tokio::runtime::Handle::current();
    let started = std::time::Instant::now();
    let result = tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(config(default_cases));
        runner
            .run(&strategy(), |case| handle.block_on(property(case)))
            .map_err(|e| e.to_string())
    })
    .await
    .expect("the property runner");
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "{} cases in {:.1?}",
        config(default_cases).cases,
        started.elapsed()
    );
}

/// The statuses the spec documents for `POST /api/messages`.
fn documented_statuses() -> BTreeSet<u16> {
    let spec: Value = serde_json::from_str(include_str!("../../query-api/openapi.json"))
        .expect("the committed spec is JSON");
    let responses = spec["paths"]["/api/messages"]["post"]["responses"]
        .as_object()
        .expect("the spec documents POST /api/messages");
    let statuses: BTreeSet<u16> = responses.keys().filter_map(|k| k.parse().ok()).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&400),
        "{statuses:?}"
    );
    statuses
}

// ---------------------------------------------------------------------------------------------
// Strategies

/// Characters that have broken parsers, databases and terminals: NUL and the other C0 controls,
/// DEL, C1, invisible and bidi marks, quotes, SQL and path metacharacters, non-BMP.
const PALETTE: &[char] = &[
    '\0',
    '\u{1}',
    '\u{7}',
    '\u{8}',
    '\t',
    '\n',
    '\u{b}',
    '\u{c}',
    '\r',
    '\u{1b}',
    '\u{1f}',
    '\u{7f}',
    '\u{85}',
    '\u{a0}',
    '\u{200b}',
    '\u{202e}',
    '\u{2028}',
    '\u{feff}',
    '\u{fffd}',
    '\u{10ffff}',
    'é',
    'ß',
    '我',
    '😀',
    '\'',
    '"',
    '`',
    '\\',
    ';',
    '-',
    '%',
    '_',
    '*',
    '/',
    '.',
    ':',
    '@',
    '<',
    '>',
    '&',
    '{',
    '}',
    '[',
    ']',
    '$',
    '#',
    ' ',
    'a',
    'Z',
    '0',
    '9',
];

/// Text an attacker would send: SQL, template, path and format-string payloads.
const PAYLOADS: &[&str] = &[
    "'; DROP TABLE events; --",
    "\"; DROP TABLE events; --",
    "' OR '1'='1",
    "1; DELETE FROM events WHERE 1=1; --",
    "Robert'); DROP TABLE users;--",
    "%' OR 1=1 --",
    "$1",
    "?",
    "\\x00",
    "\\u0000",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://x/a}",
    "%s%s%s%n",
    "buy:nova-x1",
    "view:../../etc/passwd",
    "/start",
    "yes",
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec(proptest::sample::select(PALETTE), 0..24)
            .prop_map(|c| c.into_iter().collect()),
        2 => any::<String>(),
        2 => proptest::sample::select(PAYLOADS).prop_map(str::to_owned),
        1 => "[\\x00-\\x1f\\x7f]{1,8}",
        1 => (proptest::sample::select(PAYLOADS), 0..4_000usize)
            .prop_map(|(p, n)| p.repeat(n / p.len().max(1) + 1)),
    ]
}

/// Numbers at the edges: out of i32, of i64, of f64's exact integers, negative, fractional.
fn edge_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        proptest::sample::select(vec![
            json!(0),
            json!(-1),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(i32::MAX as i64 + 1),
            json!(9_007_199_254_740_993_i64),
            json!(1e308),
            json!(-1e308),
            json!(0.5),
            json!(-0.0),
        ]),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
    ]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        edge_number(),
        hostile_string().prop_map(Value::String),
    ]
}

/// Keys the routes know, mixed with any others.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(vec![
            "text", "user_id", "username", "button", "update_id", "message", "from", "chat",
            "id", "date", "callback_query", "data", "caption", "first_name", "language_code",
            "type", "successful_payment", "pre_checkout_query", "__proto__", "",
        ])
        .prop_map(str::to_owned),
        1 => hostile_string(),
    ]
}

/// Any JSON value: objects and arrays nested up to 8 deep.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(8, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(json_key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Ids a shop's backend could send: valid ones, and every way to be invalid.
fn user_id_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => "[A-Za-z0-9.-][A-Za-z0-9_.-]{0,20}".prop_map(Value::String),
        1 => "[A-Za-z0-9_.-]{64,70}".prop_map(Value::String),
        1 => proptest::sample::select(vec!["_anon-1", "telegram:424242001", "web:ana", "", "a b"])
            .prop_map(|s| Value::String(s.to_owned())),
        2 => json_leaf(),
    ]
}

/// Mostly valid `text`, sometimes too long, empty, or not a string.
fn text_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        12 => hostile_string()
            .prop_filter("1-2,000 characters", |s| (1..=2_000).contains(&s.chars().count()))
            .prop_map(Value::String),
        1 => hostile_string().prop_map(Value::String),
        1 => Just(Value::String("x".repeat(2_001))),
        1 => Just(Value::String("y".repeat(17_000))),
        1 => json_value(),
    ]
}

/// Bodies that almost follow the schema: each field present or not, right or wrong type,
/// sometimes an extra field.
fn near_valid_body() -> impl Strategy<Value = Value> {
    (
        proptest::option::weighted(0.95, text_value()),
        proptest::option::weighted(0.75, user_id_value()),
        proptest::option::weighted(
            0.5,
            prop_oneof![
                8 => hostile_string().prop_map(Value::String),
                1 => json_leaf(),
            ],
        ),
        proptest::option::weighted(
            0.3,
            prop_oneof![
                6 => Just(Value::Bool(false)),
                2 => Just(Value::Bool(true)),
                1 => json_leaf(),
            ],
        ),
        proptest::option::weighted(0.1, (json_key(), json_value())),
    )
        .prop_map(|(text, user_id, username, button, extra)| {
            let mut body = Map::new();
            for (key, value) in [
                ("text", text),
                ("user_id", user_id),
                ("username", username),
                ("button", button),
            ] {
                if let Some(value) = value {
                    body.insert(key.to_owned(), value);
                }
            }
            if let Some((key, value)) = extra {
                body.insert(key, value);
            }
            Value::Object(body)
        })
}

/// A request body, shown as text in a failure report (bytes that are not UTF-8 are marked).
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "not UTF-8: {:?}", String::from_utf8_lossy(&self.0)),
        }
    }
}

/// How a web request comes in.
#[derive(Debug, Clone)]
struct Door {
    content_type: Option<&'static str>,
    chat_key: Option<&'static str>,
    authorization: Option<String>,
    cookie: Option<String>,
}

fn door() -> impl Strategy<Value = Door> {
    (
        prop_oneof![
            12 => Just(Some("application/json")),
            1 => Just(None),
            2 => proptest::sample::select(vec![
                "application/json; charset=utf-8",
                "APPLICATION/JSON",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/jsonx",
                "",
                "application/json; charset=latin1",
            ])
            .prop_map(Some),
        ],
        prop_oneof![
            5 => Just(Some(CHAT_KEY)),
            2 => Just(None),
            1 => Just(Some("wrong-key")),
        ],
        proptest::option::weighted(
            0.1,
            prop_oneof![
                Just("Bearer ".to_owned()),
                "Bearer [A-Za-z0-9._~+/=-]{0,80}",
                "Basic [A-Za-z0-9=]{0,20}",
            ],
        ),
        proptest::option::weighted(0.1, "salesbot_session=[A-Za-z0-9._-]{0,80}"),
    )
        .prop_map(|(content_type, chat_key, authorization, cookie)| Door {
            content_type,
            chat_key,
            authorization,
            cookie,
        })
}

/// A body: random bytes, random JSON, or near-valid JSON.
fn web_body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512).prop_map(Body),
        2 => json_value().prop_map(|v| Body(v.to_string().into_bytes())),
        10 => near_valid_body().prop_map(|v| Body(v.to_string().into_bytes())),
    ]
}

// ---------------------------------------------------------------------------------------------
// The web chat

struct Web {
    app: TestApp,
    client: reqwest::Client,
    statuses: BTreeSet<u16>,
    seen: Tally,
}

/// How many cases got each status: a property that only ever saw refusals would prove little.
#[derive(Debug, Default)]
struct Tally(std::sync::Mutex<std::collections::BTreeMap<u16, u32>>);

impl Tally {
    fn count(&self, status: u16) {
        *self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(status)
            .or_default() += 1;
    }

    /// Prints the tally and checks (over 100 cases or more) that at least one case in twenty
    /// was accepted (about one in six is) and some refused.
    fn check_mix(&self) {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
        eprintln!("statuses: {seen:?}");
        let total: u32 = seen.values().sum();
        if total < 100 {
            return;
        }
        let accepted = seen.get(&200).copied().unwrap_or(0);
        assert!(accepted * 20 >= total, "too few cases accepted: {seen:?}");
        assert!(accepted < total, "no case refused: {seen:?}");
    }
}

impl Web {
    async fn send(&self, door: &Door, body: Vec<u8>) -> Result<(u16, Value), TestCaseError> {
        let mut request = self
            .client
            .post(format!("{}/api/messages", self.app.url))
            .body(body);
        if let Some(content_type) = door.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(key) = door.chat_key {
            request = request.header("X-Chat-Key", key);
        }
        if let Some(authorization) = &door.authorization {
            request = request.header("Authorization", authorization);
        }
        if let Some(cookie) = &door.cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request
            .send()
            .await
            .map_err(|e| TestCaseError::fail(format!("no answer (did the server panic?): {e}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TestCaseError::fail(format!("body cut off: {e}")))?;
        let json = serde_json::from_slice(&bytes).map_err(|e| {
            TestCaseError::fail(format!(
                "{status} with a body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            ))
        })?;
        Ok((status, json))
    }

    /// One case: the status is documented, a refusal says why and writes nothing, an accepted
    /// message reads back exactly.
    async fn case(&self, door: Door, Body(body): Body) -> Result<(), TestCaseError> {
        let store = &self.app.store;
        let head = store.head_position().await.map_err(fail)?;
        let (status, json) = self.send(&door, body.clone()).await?;
        self.seen.count(status);
        prop_assert!(
            self.statuses.contains(&status),
            "{status} is not documented for POST /api/messages: {json}"
        );
        if status != 200 {
            prop_assert!(
                json["message"].is_string(),
                "{status} without a message: {json}"
            );
            let after = store.head_position().await.map_err(fail)?;
            prop_assert_eq!(
                after,
                head,
                "a refused request ({}) appended events",
                status
            );
            return Ok(());
        }
        // Accepted: the body was a JSON object with a string `text`; it is stored verbatim.
        let sent: Value = serde_json::from_slice(&body)
            .map_err(|e| TestCaseError::fail(format!("200 for a body that is not JSON: {e}")))?;
        let text = sent["text"].as_str().ok_or_else(|| {
            TestCaseError::fail(format!("200 for a body without a string text: {sent}"))
        })?;
        let external = json["user_id"].as_str().unwrap_or_default();
        let user = UserId::new(Channel::Web, external)
            .map_err(|e| TestCaseError::fail(format!("200 for user `{external}`: {e}")))?;
        let new = events_after(store, &user.stream_id(), head).await?;
        let stored: Vec<Option<&str>> = new
            .iter()
            .filter_map(|e| match &e.event {
                Event::MessageReceived(m) => Some(m.text.as_deref()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(
            stored,
            vec![Some(text)],
            "the message did not read back as sent"
        );
        if let Some(name) = sent["username"].as_str() {
            for e in &new {
                if let Event::ConversationStarted(c) = &e.event {
                    prop_assert_eq!(c.username.as_deref(), Some(name));
                }
            }
        }
        Ok(())
    }

    /// A plain valid message still gets its answer.
    async fn still_answers(&self) {
        let reply = self
            .app
            .say("still-here", "what laptops do you have?")
            .await;
        assert!(reply.contains("laptops"), "{reply}");
    }
}

fn fail(e: impl std::fmt::Display) -> TestCaseError {
    TestCaseError::fail(e.to_string())
}

async fn events_after(
    store: &event_store::EventStore,
    stream: &StreamId,
    position: i64,
) -> Result<Vec<RecordedEvent>, TestCaseError> {
    Ok(store
        .read_stream(stream, 1)
        .await
        .map_err(fail)?
        .into_iter()
        .filter(|e| e.global_position > position)
        .collect())
}

both_backends!(any_body_on_the_chat_route_gets_a_documented_answer_and_a_refusal_writes_nothing);
async fn any_body_on_the_chat_route_gets_a_documented_answer_and_a_refusal_writes_nothing(
    db: TestDatabase,
) {
    let web = Arc::new(Web {
        app: TestApp::spawn(&db).await,
        client: reqwest::Client::new(),
        statuses: documented_statuses(),
        seen: Tally::default(),
    });
    let run = web.clone();
    check(
        256,
        || (door(), web_body()),
        move |(door, body)| {
            let web = run.clone();
            async move { web.case(door, body).await }
        },
    )
    .await;
    web.seen.check_mix();
    web.still_answers().await;
}

// ---------------------------------------------------------------------------------------------
// Telegram

/// The fixture updates (one JSON object a line), parsed.
fn fixtures() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/telegram-updates.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect()
}

/// One change to an update, at a place chosen by `path` (each step picks a child by index).
#[derive(Debug, Clone)]
enum Change {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Insert(Vec<usize>, String, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let path = proptest::collection::vec(any::<usize>(), 0..6);
    prop_oneof![
        4 => (path.clone(), json_leaf()).prop_map(|(p, v)| Change::Replace(p, v)),
        1 => (path.clone(), json_value()).prop_map(|(p, v)| Change::Replace(p, v)),
        2 => path.clone().prop_map(Change::Remove),
        1 => (path, json_key(), json_value()).prop_map(|(p, k, v)| Change::Insert(p, k, v)),
    ]
}

/// The index of the child of `value` that `step` picks, if it has children.
fn pick(value: &Value, step: usize) -> Option<usize> {
    match value {
        Value::Object(map) if !map.is_empty() => Some(step % map.len()),
        Value::Array(items) if !items.is_empty() => Some(step % items.len()),
        _ => None,
    }
}

fn child(value: &mut Value, index: usize) -> Option<&mut Value> {
    match value {
        Value::Object(map) => map.values_mut().nth(index),
        Value::Array(items) => items.get_mut(index),
        _ => None,
    }
}

/// The value `path` leads to, stopping early at a leaf (or, with `objects_only`, before a
/// child that is not an object).
fn walk<'a>(value: &'a mut Value, path: &[usize], objects_only: bool) -> &'a mut Value {
    let Some((step, rest)) = path.split_first() else {
        return value;
    };
    let next = pick(value, *step).filter(|i| {
        !objects_only
            || match &*value {
                Value::Object(map) => map.values().nth(*i).is_some_and(Value::is_object),
                _ => false,
            }
    });
    match next {
        Some(i) if child(value, i).is_some() => {
            walk(child(value, i).expect("checked"), rest, objects_only)
        }
        _ => value,
    }
}

fn apply(value: &mut Value, change: &Change) {
    match change {
        Change::Replace(path, new) => *walk(value, path, false) = new.clone(),
        Change::Remove(path) => {
            let Some((last, parents)) = path.split_last() else {
                return;
            };
            let parent = walk(value, parents, false);
            match (pick(parent, *last), parent) {
                (Some(i), Value::Object(map)) => {
                    if let Some(key) = map.keys().nth(i).cloned() {
                        map.remove(&key);
                    }
                }
                (Some(i), Value::Array(items)) => {
                    items.remove(i);
                }
                _ => {}
            }
        }
        Change::Insert(path, key, new) => {
            if let Value::Object(map) = walk(value, path, true) {
                map.insert(key.clone(), new.clone());
            }
        }
    }
}

/// A fixture update with 1 to 6 changes.
fn mutated_update(fixtures: Vec<Value>) -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(fixtures),
        proptest::collection::vec(change(), 1..6),
    )
        .prop_map(|(mut update, changes)| {
            for change in &changes {
                apply(&mut update, change);
            }
            update
        })
}

/// The fields of an update that carry what users type or Telegram names: each may be set to a
/// hostile string (when its object exists in the update).
const TEXT_FIELDS: &[&str] = &[
    "/message/text",
    "/message/caption",
    "/message/from/first_name",
    "/message/from/last_name",
    "/message/from/username",
    "/message/from/language_code",
    "/message/chat/title",
    "/message/successful_payment/invoice_payload",
    "/message/successful_payment/telegram_payment_charge_id",
    "/message/successful_payment/provider_payment_charge_id",
    "/callback_query/data",
    "/callback_query/from/first_name",
    "/callback_query/from/username",
    "/callback_query/from/language_code",
    "/pre_checkout_query/invoice_payload",
    "/pre_checkout_query/from/first_name",
];

/// A fixture update with hostile strings in some of its text fields.
fn hostile_fields(fixtures: Vec<Value>) -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(fixtures),
        proptest::collection::vec(
            (proptest::sample::select(TEXT_FIELDS), hostile_string()),
            1..4,
        ),
    )
        .prop_map(|(mut update, fields)| {
            for (pointer, text) in fields {
                let Some((parent, key)) = pointer.rsplit_once('/') else {
                    continue;
                };
                if let Some(Value::Object(map)) = update.pointer_mut(parent) {
                    map.insert(key.to_owned(), Value::String(text));
                }
            }
            update
        })
}

/// Updates as the webhook may receive them, as bytes.
fn telegram_body(fixtures: Vec<Value>) -> impl Strategy<Value = Body> {
    prop_oneof![
        4 => mutated_update(fixtures.clone()).prop_map(|v| Body(v.to_string().into_bytes())),
        3 => hostile_fields(fixtures.clone()).prop_map(|v| Body(v.to_string().into_bytes())),
        1 => proptest::sample::select(fixtures).prop_map(|v| Body(v.to_string().into_bytes())),
        2 => json_value().prop_map(|v| Body(v.to_string().into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Body),
    ]
}

struct Webhook {
    app: TestApp,
    me: BotIdentity,
    /// Fresh `update_id`s, so that most cases are new updates rather than redeliveries.
    next_update: AtomicI64,
    seen: Tally,
    _telegram: FakeTelegram,
}

impl Webhook {
    async fn case(&self, Body(body): Body) -> Result<(), TestCaseError> {
        // Most updates get a fresh id (a repeated one is a redelivery, which appends nothing).
        let body = match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut update)) if update.get("update_id").is_some_and(Value::is_i64) => {
                let id = self.next_update.fetch_add(1, Ordering::Relaxed);
                update.insert("update_id".into(), json!(id));
                Value::Object(update).to_string().into_bytes()
            }
            _ => body,
        };
        let store = &self.app.store;
        let head = store.head_position().await.map_err(fail)?;
        let text = String::from_utf8(body.clone());
        let (status, json) = match &text {
            Ok(text) => self.app.webhook(Some(WEBHOOK_SECRET), text).await,
            // The helper takes text; bytes that are not UTF-8 go as they are.
            Err(_) => {
                let response = reqwest::Client::new()
                    .post(format!("{}/telegram/webhook", self.app.url))
                    .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
        };
        self.seen.count(status);
        prop_assert!(
            status == 200 || status == 400,
            "{status} for an update: {json}"
        );
        prop_assert!(json.is_object(), "{status} without a JSON body");
        let after = store.head_position().await.map_err(fail)?;
        let parsed = text
            .ok()
            .and_then(|t| serde_json::from_str::<teloxide::types::Update>(&t).ok());
        let Some(update) = parsed else {
            prop_assert_eq!(status, 400, "not an update, yet {}", json);
            prop_assert_eq!(after, head, "an update that is not one appended events");
            return Ok(());
        };
        if status == 400 {
            prop_assert!(json["message"].is_string(), "400 without a message");
            prop_assert_eq!(after, head, "a refused update appended events");
            return Ok(());
        }
        match update::read(&update, &self.me, chrono::Utc::now(), false) {
            Action::Ignore(why) => {
                prop_assert_eq!(after, head, "an ignored update ({}) appended events", why);
            }
            Action::PreCheckout { .. } => {
                prop_assert_eq!(after, head, "a pre-checkout query appended events");
            }
            Action::Message { user, inbound } => {
                // Recorded with its text exactly as the update had it.
                let new = events_after(store, &user.stream_id(), head).await?;
                let stored: Vec<Option<&str>> = new
                    .iter()
                    .filter_map(|e| match &e.event {
                        Event::MessageReceived(m) => Some(m.text.as_deref()),
                        _ => None,
                    })
                    .collect();
                prop_assert_eq!(stored, vec![inbound.text.as_deref()]);
            }
            Action::Button { .. } | Action::Payment { .. } => {}
        }
        Ok(())
    }
}

both_backends!(any_update_on_the_webhook_gets_200_or_400_and_a_refusal_writes_nothing);
async fn any_update_on_the_webhook_gets_200_or_400_and_a_refusal_writes_nothing(db: TestDatabase) {
    let telegram = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &telegram.url).await;
    let me = app.telegram.as_ref().expect("telegram").identity().clone();
    let webhook = Arc::new(Webhook {
        app,
        me,
        next_update: AtomicI64::new(900_000_000),
        seen: Tally::default(),
        _telegram: telegram,
    });
    let run = webhook.clone();
    check(
        256,
        || telegram_body(fixtures()),
        move |body| {
            let webhook = run.clone();
            async move { webhook.case(body).await }
        },
    )
    .await;
    webhook.seen.check_mix();
    // Still answering: a fixture update with a new id is recorded.
    let mut update = fixtures().remove(1);
    update["update_id"] = json!(webhook.next_update.fetch_add(1, Ordering::Relaxed));
    let (status, json) = webhook
        .app
        .webhook(Some(WEBHOOK_SECRET), &update.to_string())
        .await;
    assert_eq!(status, 200, "{json}");
}

/// Pure: any text through `serde_json` into an `Update`, and any update through
/// `update::read`, returns (no panic, no overflow), on many more cases than over HTTP.
#[testkit::test]
fn reading_any_update_never_panics() {
    let me = BotIdentity {
        id: common::fake_telegram::BOT_ID,
        username: "demo_sales_bot".into(),
    };
    let strings = prop_oneof![
        4 => mutated_update(fixtures()).prop_map(|v| v.to_string()),
        2 => hostile_fields(fixtures()).prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => any::<String>(),
    ];
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config(10_000));
    let result = runner.run(&strings, |text| {
        if let Ok(update) = serde_json::from_str::<teloxide::types::Update>(&text) {
            for payments in [false, true] {
                let _ = update::read(&update, &me, chrono::Utc::now(), payments);
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    eprintln!(
        "{} cases in {:.1?}",
        config(10_000).cases,
        started.elapsed()
    );
}

testkit::main!();
