//! A projector and a query API one release behind never stop: events a newer release wrote (a
//! type, or a schema version of a known type, this build does not know) are left out with a
//! warning and a count in `/metrics`, and everything around them is projected and served as
//! usual (README, "Upgrading"). The newer release is played by rows written straight into the
//! log, as a newer command service would store them.

mod support;

use std::time::Duration;

use chrono::Utc;
use event_store::{BackendKind, EventStore, ExpectedVersion};
use events_schema::{
    Channel, ConversationStarted, Intent, MessageKind, MessageReceived, NewEvent, Sentiment,
    UnderstoodBy, UserId,
};
use support::{Proc, SALESBOT, env_of, wait_caught_up};
use testkit::TestDatabase;

const KEY: &str = "test-admin-key";

fn conversation(text: &str) -> Vec<NewEvent> {
    let now = Utc::now();
    vec![
        NewEvent::new(
            ConversationStarted {
                channel: Channel::Web,
                username: None,
                display_name: None,
                language: None,
                returning: false,
            },
            now,
        ),
        NewEvent::new(
            MessageReceived {
                kind: MessageKind::Text,
                message_id: None,
                text: Some(text.into()),
                intent: Intent::Greeting,
                sentiment: Sentiment::Neutral,
                product_id: None,
                language: Some("en".into()),
                understood_by: UnderstoodBy::Rules,
            },
            now,
        ),
    ]
}

async fn append(store: &EventStore, user: &str, text: &str) -> i64 {
    let user: UserId = user.parse().expect("user id");
    store
        .append(&user.stream_id(), ExpectedVersion::Any, conversation(text))
        .await
        .expect("append")
        .last_position
}

/// Stores rows as a newer release would: the next positions, then the head moved past them.
async fn append_from_the_future(db: &TestDatabase, head: i64, rows: &[(&str, i64, &str)]) {
    let (uuid, json) = match db.kind() {
        BackendKind::Postgres => ("gen_random_uuid()", "::jsonb"),
        BackendKind::Sqlite => ("randomblob(16)", ""),
    };
    let mut sql = String::new();
    for (i, (event_type, version, payload)) in rows.iter().enumerate() {
        let position = head + 1 + i as i64;
        sql.push_str(&format!(
            "INSERT INTO events (global_position, event_id, stream_id, stream_version, \
               event_type, schema_version, occurred_at, recorded_at, correlation_id, payload) \
             VALUES ({position}, {uuid}, 'user-web:from-the-future', {}, '{event_type}', \
               {version}, '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z', {uuid}, \
               '{payload}'{json}); ",
            i + 1
        ));
    }
    sql.push_str(&format!(
        "UPDATE log_head SET position = {}",
        head + rows.len() as i64
    ));
    db.execute(&sql).await;
}

fn metric(text: &str, line_start: &str) -> i64 {
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `{line_start}` in\n{text}"))
}

testkit::both_backends!(readers_one_release_behind_skip_what_they_do_not_know);
async fn readers_one_release_behind_skip_what_they_do_not_know(db: TestDatabase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[]);
    let server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let store = EventStore::open(&db.config).await.expect("open store");

    let before = append(&store, "web:before", "hello").await;
    append_from_the_future(
        &db,
        before,
        &[
            ("LoyaltyPointsEarned", 1, r#"{"points": 5}"#),
            (
                "MessageReceived",
                99,
                r#"{"kind": "text", "intent": "greeting", "hologram": true}"#,
            ),
        ],
    )
    .await;
    let after = append(&store, "web:after", "still there?").await;
    assert_eq!(
        after,
        before + 4,
        "two new positions after the two from the future"
    );

    // The projector went past both and projected what came after them.
    wait_caught_up(&store, false, Duration::from_secs(30)).await;
    let messages = |user: &'static str| {
        let pool = store.pool().clone();
        async move {
            let sql = "SELECT messages FROM users WHERE user_id = $1";
            let rows: Vec<(i64,)> = event_store::db::query(sql)
                .bind(user)
                .fetch_all(&pool)
                .await
                .expect("users");
            rows.first().map(|r| r.0)
        }
    };
    assert_eq!(messages("web:before").await, Some(1));
    assert_eq!(messages("web:after").await, Some(1));
    assert_eq!(messages("web:from-the-future").await, None, "skipped");

    // The query API serves the log around them, and pages past them.
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let url = format!("http://127.0.0.1:{}{path}", server.port);
        async move {
            let resp = http
                .get(url)
                .header("X-API-Key", KEY)
                .send()
                .await
                .expect("request");
            assert_eq!(resp.status(), 200, "{path}");
            resp.text().await.expect("body")
        }
    };
    let page: serde_json::Value =
        serde_json::from_str(&get("/admin/analytics/events".into()).await).expect("json");
    let positions: Vec<i64> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["global_position"].as_i64().expect("position"))
        .collect();
    assert_eq!(positions, [1, 2, before + 3, before + 4]);
    assert_eq!(page["next_after"], after);
    // A page of nothing but events from the future is empty and still moves on.
    let page: serde_json::Value =
        serde_json::from_str(&get(format!("/admin/analytics/events?after={before}&limit=2")).await)
            .expect("json");
    assert_eq!(page["events"], serde_json::json!([]));
    assert_eq!(page["next_after"], before + 2);
    let export = get("/admin/events/export".into()).await;
    assert_eq!(export.lines().count(), 4, "{export}");

    // The figures around them are right, and /metrics counts what was left out.
    let dashboard: serde_json::Value =
        serde_json::from_str(&get("/admin/dashboard?days=7".into()).await).expect("json");
    assert_eq!(dashboard["kpis"]["active_users"]["value"], 2);
    let metrics = server.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metric(
            &metrics,
            "salesbot_events_skipped_total{reason=\"unknown_type\"}"
        ) >= 1,
        "{metrics}"
    );
    assert!(
        metric(
            &metrics,
            "salesbot_events_skipped_total{reason=\"newer_version\"}"
        ) >= 1,
        "{metrics}"
    );
    // The command path itself still refuses to read a stream it cannot read whole.
    let err = store
        .read_stream(
            &"web:from-the-future"
                .parse::<UserId>()
                .expect("id")
                .stream_id(),
            1,
        )
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("LoyaltyPointsEarned"), "{err}");
    store.close().await;
}

/// The same in distributed mode: the events from the future travel through JetStream to a
/// projector worker process, which parks them and goes past them; its own `/metrics` counts
/// them.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_projector_worker_one_release_behind_parks_what_jetstream_brings() {
    let db = TestDatabase::for_test().await;
    let nats = testkit::NatsServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let env = env_of(&db, &[("NATS_URL", url.as_str()), ("PARTITIONS", "2")]);
    let commands = Proc::start(env!("CARGO_BIN_EXE_command-service"), dir.path(), &env);
    let worker = Proc::start(env!("CARGO_BIN_EXE_projector"), dir.path(), &env);
    commands.wait_ready().await;
    worker.wait_ready().await;
    let store = EventStore::open(&db.config).await.expect("open store");
    let before = append(&store, "web:before", "hello").await;
    append_from_the_future(
        &db,
        before,
        &[
            ("LoyaltyPointsEarned", 1, r#"{"points": 5}"#),
            (
                "ProductViewed",
                7,
                r#"{"product_id": "p", "source": "hologram"}"#,
            ),
        ],
    )
    .await;
    let after = append(&store, "web:after", "still there?").await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    let pool = match store.pool() {
        event_store::Pool::Postgres(p) => p.clone(),
        event_store::Pool::Sqlite(_) => unreachable!("a Postgres test"),
    };
    let users: Vec<(String, i64)> =
        sqlx::query_as("SELECT user_id, messages FROM users ORDER BY user_id")
            .fetch_all(&pool)
            .await
            .expect("users");
    assert_eq!(
        users,
        [("web:after".to_owned(), 1), ("web:before".to_owned(), 1)]
    );
    // The partition the events from the future went to has gone past them, in every
    // projection.
    let partition = events_schema::StreamId::new("user-web:from-the-future")
        .expect("stream")
        .partition(2);
    let (lowest,): (i64,) =
        sqlx::query_as("SELECT MIN(position) FROM projection_checkpoints WHERE partition = $1")
            .bind(i32::try_from(partition).expect("small"))
            .fetch_one(&pool)
            .await
            .expect("checkpoints");
    assert!(lowest >= before + 2, "{lowest} (after {after})");
    let metrics = worker.get("/metrics").await.text().await.expect("metrics");
    // It parked them (not skipped them): they wait, named, until a release that reads them.
    assert!(
        metric(
            &metrics,
            "salesbot_projector_parked_total{outcome=\"parked\"}"
        ) >= 2,
        "{metrics}"
    );
    let parked: Vec<(i64, String)> = sqlx::query_as(
        "SELECT global_position, reason FROM parked_events ORDER BY global_position",
    )
    .fetch_all(&pool)
    .await
    .expect("parked events");
    assert_eq!(parked.len(), 2, "{parked:?}");
    assert!(parked[0].1.contains("unknown event type"), "{parked:?}");
    store.close().await;
}

testkit::main!();
