//! Erased means erased, even when the shopper writes at the moment of the erasure: the real
//! all-in-one server on Postgres, a shopper named by the shop's backend, an erasure and a new
//! message of theirs racing while the test holds their key row locked, then every text column
//! of every table searched for their words (docs/architecture.md, invariant 8).

mod support;

use std::time::Duration;

use event_store::EventStore;
use events_schema::{Event, UserId};
use sqlx::{Connection as _, PgConnection};
use support::{CHAT_KEY, Proc, SALESBOT, env_of, wait_caught_up};
use testkit::TestDatabase;
use uuid::Uuid;

const ADMIN_KEY: &str = "test-admin-key";

/// What the shopper wrote before the erasure: all of it must be gone from every table.
const BEFORE: [&str; 2] = [
    "hello, my name is Quillfeather and I need a laptop",
    "is there one under 900 for Quillfeather?",
];
/// A word only the racing message carries.
const RACING_WORD: &str = "Brackenwood";

async fn say(http: &reqwest::Client, port: u16, user: &str, text: &str) -> reqwest::StatusCode {
    http.post(format!("http://127.0.0.1:{port}/api/messages"))
        .header("X-Chat-Key", CHAT_KEY)
        .json(&serde_json::json!({ "user_id": user, "text": text }))
        .send()
        .await
        .expect("POST /api/messages")
        .status()
}

/// Sessions of this test's database waiting for a lock on `user_keys` (the erasure, an append).
async fn waiting_on_keys(conn: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND query ILIKE '%user_keys%'",
    )
    .fetch_one(conn)
    .await
    .expect("pg_stat_activity")
}

/// Every `(table, column, value)` of every table in the database whose text holds `word`.
async fn text_holding(conn: &mut PgConnection, word: &str) -> Vec<(String, String, String)> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text FROM information_schema.columns \
         WHERE table_schema = current_schema() \
         AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'ARRAY')",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("columns");
    assert!(!columns.is_empty(), "no text column found");
    let mut found = Vec::new();
    for (table, column) in columns {
        let sql = format!(
            "SELECT CAST({} AS text) FROM {} WHERE strpos(CAST({} AS text), $1) > 0",
            quote(&column),
            quote(&table),
            quote(&column)
        );
        let values: Vec<String> = sqlx::query_scalar(&sql)
            .bind(word)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        found.extend(
            values
                .into_iter()
                .map(|v| (table.clone(), column.clone(), v)),
        );
    }
    found
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The texts of the user's messages as the log reads them now: `(text, erased)`.
async fn texts_in_log(store: &EventStore, user: &UserId) -> Vec<(Option<String>, bool)> {
    store
        .read_stream(&user.stream_id(), 1)
        .await
        .expect("read stream")
        .into_iter()
        .filter_map(|e| match e.event {
            Event::MessageReceived(m) => Some((m.text, e.erased)),
            _ => None,
        })
        .collect()
}

/// The race of issue 15, defect 3. The erasure and the message each wait on the key row the
/// test holds; when it lets go, either the message lands before the erasure (and is erased with
/// it) or after it, under a new key, as a new shopper. What must never happen: a message
/// appended after `UserErased` under the key the erasure destroys, its text folded into the
/// read tables while that key was still live, and left there.
#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn a_message_racing_an_erasure_leaves_no_plaintext_of_the_erased_shopper() {
    let db = TestDatabase::for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[]);
    let server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let port = server.port;
    let http = reqwest::Client::new();
    let user: UserId = "web:zed".parse().expect("user id");
    let store = EventStore::open(&db.config).await.expect("open store");
    let url = db.config.database_url.expose().to_owned();
    let mut look = PgConnection::connect(&url).await.expect("connect");

    for text in BEFORE {
        assert_eq!(say(&http, port, "zed", text).await, 200, "{text}");
    }
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    // The read tables hold their words sealed (never in plain, docs/architecture.md,
    // invariant 8): the admin API opens them, so they are there before the erasure (else the
    // search below proves nothing).
    let shown = profile(&http, port, "web:zed")
        .await
        .expect("zed's profile");
    assert!(
        shown["conversation"]["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["text"] == BEFORE[0]),
        "the shopper's words are in the read tables before the erasure: {shown}"
    );

    // Hold the key row as a long append or a slow erasure elsewhere would.
    let mut holder = PgConnection::connect(&url).await.expect("connect");
    sqlx::query("BEGIN")
        .execute(&mut holder)
        .await
        .expect("begin");
    let erased_key: Uuid = sqlx::query_scalar(
        "SELECT key_id FROM user_keys WHERE user_id = $1 AND wrapped_key IS NOT NULL FOR UPDATE",
    )
    .bind(user.as_str())
    .fetch_one(&mut holder)
    .await
    .expect("the shopper's live key");

    let erase = tokio::spawn({
        let http = http.clone();
        async move {
            http.delete(format!("http://127.0.0.1:{port}/admin/users/web%3Azed"))
                .header("X-API-Key", ADMIN_KEY)
                .send()
                .await
                .expect("DELETE /admin/users")
                .status()
        }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while waiting_on_keys(&mut look).await < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the erasure never reached the key row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let racing = format!("and a phone for {RACING_WORD}, please");
    let message = tokio::spawn({
        let http = http.clone();
        let racing = racing.clone();
        async move { say(&http, port, "zed", &racing).await }
    });
    // Either the message waits on the key row too, or it went through: then let the projector
    // fold it while the key is still live, as it would on a busy day.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if message.is_finished() {
            wait_caught_up(&store, false, Duration::from_secs(10)).await;
            break;
        }
        if waiting_on_keys(&mut look).await >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message neither went through nor waited on the key row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query("ROLLBACK")
        .execute(&mut holder)
        .await
        .expect("let go of the key row");

    assert_eq!(erase.await.expect("erase task"), 200, "the erasure");
    assert_eq!(
        message.await.expect("message task"),
        200,
        "the racing message"
    );
    wait_caught_up(&store, false, Duration::from_secs(60)).await;

    // The log: nothing after UserErased is sealed under the key the erasure destroyed.
    let erased_at: i64 = sqlx::query_scalar(
        "SELECT max(global_position) FROM events WHERE stream_id = $1 \
         AND event_type = 'UserErased'",
    )
    .bind(user.stream_id().as_str())
    .fetch_one(&mut look)
    .await
    .expect("UserErased in the log");
    let under_erased_key: Vec<(i64, String)> = sqlx::query_as(
        "SELECT global_position, event_type FROM events WHERE stream_id = $1 \
         AND global_position > $2 AND key_id = $3",
    )
    .bind(user.stream_id().as_str())
    .bind(erased_at)
    .bind(erased_key)
    .fetch_all(&mut look)
    .await
    .expect("events after the erasure");
    let destroyed: bool =
        sqlx::query_scalar("SELECT wrapped_key IS NULL FROM user_keys WHERE key_id = $1")
            .bind(erased_key)
            .fetch_one(&mut look)
            .await
            .expect("the erased key's row");
    assert!(destroyed, "the erasure destroyed the key it found");

    // The tables: no text the log reads as erased. The racing message may be there only as
    // what a new shopper with a new key wrote, readable in the log.
    let log = texts_in_log(&store, &user).await;
    let before_left = text_holding(&mut look, "Quillfeather").await;
    let racing_left = text_holding(&mut look, RACING_WORD).await;
    let readable = log
        .iter()
        .any(|(text, erased)| !erased && text.as_deref() == Some(racing.as_str()));
    let mut broken = Vec::new();
    if !under_erased_key.is_empty() {
        broken.push(format!(
            "events appended after UserErased (position {erased_at}) under the key the \
             erasure destroyed: {under_erased_key:?}"
        ));
    }
    if !before_left.is_empty() {
        broken.push(format!(
            "the erased shopper's words are still in the tables: {before_left:?}"
        ));
    }
    if !racing_left.is_empty() && !readable {
        broken.push(format!(
            "the racing message's words are in the tables {racing_left:?} while the log \
             reads them as erased: {log:?}"
        ));
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    store.close().await;
}

/// What `web:eve` writes and is called in the on-disk tests: distinctive enough that finding
/// the bytes anywhere means finding her.
const EVE_SENTENCE: &str = "my spare key is under the violet harmonica at Pembertonshire";
const EVE_NAME: &str = "Evangeline Thistlewaite";

async fn say_as(
    http: &reqwest::Client,
    port: u16,
    user: &str,
    name: &str,
    text: &str,
) -> reqwest::StatusCode {
    http.post(format!("http://127.0.0.1:{port}/api/messages"))
        .header("X-Chat-Key", CHAT_KEY)
        .json(&serde_json::json!({ "user_id": user, "username": name, "text": text }))
        .send()
        .await
        .expect("POST /api/messages")
        .status()
}

/// `GET /admin/users/{id}`: `None` once the user is gone from the read tables.
async fn profile(http: &reqwest::Client, port: u16, user: &str) -> Option<serde_json::Value> {
    let response = http
        .get(format!(
            "http://127.0.0.1:{port}/admin/users/{}",
            user.replace(':', "%3A")
        ))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .expect("GET /admin/users/{id}");
    match response.status().as_u16() {
        404 => None,
        200 => Some(response.json().await.expect("a profile")),
        other => panic!("GET /admin/users/{user}: {other}"),
    }
}

/// Waits until the read tables show `web:eve`'s sentence and name through the admin API (the
/// projector applied her message), and returns the profile.
async fn eve_shown(http: &reqwest::Client, port: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(p) = profile(http, port, "web:eve").await {
            let texts: Vec<&str> = p["conversation"]["messages"]
                .as_array()
                .expect("messages")
                .iter()
                .filter_map(|m| m["text"].as_str())
                .collect();
            if texts.contains(&EVE_SENTENCE) {
                return p;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projector never showed eve's message"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Erases `web:eve` through the admin API and waits until the read tables dropped her.
async fn erase_eve(http: &reqwest::Client, port: u16) {
    let status = http
        .delete(format!("http://127.0.0.1:{port}/admin/users/web%3Aeve"))
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .expect("DELETE /admin/users")
        .status();
    assert_eq!(status, 200, "the erasure");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while profile(http, port, "web:eve").await.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projector never dropped eve's rows"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether `GET /admin/users?search=term` lists `web:eve`.
async fn search_finds_eve(http: &reqwest::Client, port: u16, term: &str) -> bool {
    let page: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/admin/users"))
        .query(&[("search", term), ("page_size", "500")])
        .header("X-API-Key", ADMIN_KEY)
        .send()
        .await
        .expect("GET /admin/users")
        .json()
        .await
        .expect("a page of users");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|u| u["user_id"] == "web:eve")
}

/// Searching users by name compares keyed hashes (docs/decisions/0019-sealed-read-tables.md):
/// a whole name, a word of it or the start of either finds her, case and width ignored; a
/// substring inside a word does not; after the erasure nothing does.
async fn name_search(http: &reqwest::Client, port: u16, erased: bool) {
    for term in [
        "Evangeline Thistlewaite",
        "  evangeline   THISTLEWAITE ",
        "evan",
        "Thistle",
        "ｔｈｉｓｔｌｅ",
    ] {
        assert_eq!(
            search_finds_eve(http, port, term).await,
            !erased,
            "{term:?}"
        );
    }
    for term in ["vangeline", "waite", "Evangeline Thistlewaites"] {
        assert!(!search_finds_eve(http, port, term).await, "{term:?}");
    }
    assert_eq!(search_finds_eve(http, port, "eve").await, !erased, "the id");
}

/// Every file under `dir` (recursively) whose bytes hold `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

/// Issue 15, defect 4, on the embedded default: once `DELETE /admin/users/web:eve` is through
/// and the projector dropped her rows, the bytes of what she wrote and of her name are in no
/// file of the data directory (`salesbot.db`, its `-wal` and `-shm`), while the server still
/// runs: no freed page, no WAL frame, no read-table row holds them in plain
/// (docs/architecture.md, invariant 8).
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_text_is_nowhere_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = vec![
        ("ADMIN_API_KEY".to_owned(), ADMIN_KEY.to_owned()),
        ("CHAT_API_KEY".to_owned(), CHAT_KEY.to_owned()),
    ];
    let server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let port = server.port;
    let http = reqwest::Client::new();
    assert_eq!(
        say_as(&http, port, "eve", EVE_NAME, EVE_SENTENCE).await,
        200,
        "eve's message"
    );
    let before = eve_shown(&http, port).await;
    assert_eq!(before["user"]["display_name"], EVE_NAME, "{before}");
    // Someone else keeps chatting: the server lives on with pages reused and the WAL written.
    assert_eq!(say(&http, port, "ann", "hello, any laptops?").await, 200);
    erase_eve(&http, port).await;
    assert_eq!(say(&http, port, "ann", "and phones?").await, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let data = dir.path().join("data");
    assert!(data.join("salesbot.db").exists(), "the embedded database");
    let mut broken = Vec::new();
    for (what, needle) in [("her sentence", EVE_SENTENCE), ("her name", EVE_NAME)] {
        let files = files_holding(&data, needle.as_bytes());
        if !files.is_empty() {
            broken.push(format!("{what} ({needle:?}) is still on disk in {files:?}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    drop(server);
}

/// Issue 15, defect 4, on Postgres: no read-table column holds a shopper's text or name in
/// plain, before or after the erasure (a deleted row lives on as a dead tuple, in the WAL and
/// in backups), while the admin API shows both before the erasure.
#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn no_read_table_column_holds_personal_text() {
    let db = TestDatabase::for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[]);
    let server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let port = server.port;
    let http = reqwest::Client::new();
    let store = EventStore::open(&db.config).await.expect("open store");
    let url = db.config.database_url.expose().to_owned();
    let mut look = PgConnection::connect(&url).await.expect("connect");

    assert_eq!(
        say_as(&http, port, "eve", EVE_NAME, EVE_SENTENCE).await,
        200,
        "eve's message"
    );
    let before = eve_shown(&http, port).await;
    assert_eq!(before["user"]["display_name"], EVE_NAME, "{before}");
    assert_eq!(before["user"]["username"], EVE_NAME, "{before}");
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    name_search(&http, port, false).await;
    let mut broken = Vec::new();
    for needle in [EVE_SENTENCE, EVE_NAME] {
        let found = text_holding(&mut look, needle).await;
        if !found.is_empty() {
            broken.push(format!(
                "before the erasure, {needle:?} in plain: {found:?}"
            ));
        }
    }
    erase_eve(&http, port).await;
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    name_search(&http, port, true).await;
    for needle in [EVE_SENTENCE, EVE_NAME] {
        let found = text_holding(&mut look, needle).await;
        if !found.is_empty() {
            broken.push(format!("after the erasure, {needle:?} in plain: {found:?}"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    store.close().await;
}

testkit::main!();
