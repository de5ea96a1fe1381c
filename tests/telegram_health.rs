//! The Telegram outbox sender in `/health` and `salesbot check` (issue 15, defect 5): the whole
//! binary on Postgres against the fake Bot API; the store breaks under the sender, `/health`
//! turns 503 naming the sender (without the internal error), `salesbot check` prints the
//! failure, and both recover by themselves once the store is mended.

mod support;

use std::time::Duration;

use command_service::testing::fake_telegram::{FakeTelegram, TOKEN};
use serde_json::{Value, json};
use support::{Proc, SALESBOT, command, env_of};
use testkit::TestDatabase;

const SECRET: &str = "health-secret";

async fn health(server: &Proc) -> (u16, Value) {
    let response = server.get("/health").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Waits (up to `within`) until `/health` satisfies `want`; returns that answer.
async fn health_until(
    server: &Proc,
    within: Duration,
    want: impl Fn(u16, &Value) -> bool,
) -> (u16, Value) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (status, body) = health(server).await;
        if want(status, &body) {
            return (status, body);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/health never got there in {within:?}; last: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `salesbot check`: (success, its `telegram sender` line).
fn check(dir: &std::path::Path, env: &[(String, String)]) -> (bool, String) {
    let out = command(SALESBOT, dir, env)
        .arg("check")
        .output()
        .expect("salesbot check");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = stdout
        .lines()
        .find(|l| l.starts_with("telegram sender:"))
        .unwrap_or_else(|| panic!("no telegram sender line in:\n{stdout}"))
        .to_owned();
    (out.status.success(), line)
}

async fn webhook(server: &Proc, update_id: i64, user: i64) -> u16 {
    let update = json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": user, "is_bot": false, "first_name": "Shopper"},
            "chat": {"id": user, "first_name": "Shopper", "type": "private"},
            "date": 1764028800 + update_id,
            "text": "hi"
        }
    });
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/telegram/webhook", server.port))
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .json(&update)
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16()
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_telegram_sender_shows_in_health_and_check_and_recovers_by_itself() {
    let db = TestDatabase::for_test().await;
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(
        &db,
        &[
            ("TELEGRAM_BOT_TOKEN", TOKEN),
            ("TELEGRAM_API_URL", &fake.url),
            (
                "TELEGRAM_WEBHOOK_URL",
                "https://shop.example/telegram/webhook",
            ),
            ("TELEGRAM_WEBHOOK_SECRET", SECRET),
        ],
    );
    let server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    health_until(&server, Duration::from_secs(30), |status, body| {
        status == 200 && body["telegram_sender"]["state"] == "holding"
    })
    .await;
    assert_eq!(webhook(&server, 1, 515_200_001).await, 200);
    fake.wait_for("sendMessage", 1).await;
    let (_, line) = check(dir.path(), &env);
    assert!(line.contains("ok holding on"), "{line}");

    // The store breaks under the sender: its checkpoint table fails every read, and the
    // connection holding its lease is cut, so it must read it again.
    db.execute(
        "CREATE FUNCTION broken_position() RETURNS bigint LANGUAGE plpgsql AS $$ \
           BEGIN RAISE EXCEPTION 'the checkpoints table is broken by the test'; END $$; \
         ALTER TABLE checkpoints RENAME TO checkpoints_kept; \
         CREATE VIEW checkpoints AS \
           SELECT name, broken_position() AS position, updated_at FROM checkpoints_kept; \
         SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' \
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database());",
    )
    .await;
    // A shopper writes: recorded (200), and the reply waits.
    assert_eq!(webhook(&server, 2, 515_200_002).await, 200);
    let (_, body) = health_until(&server, Duration::from_secs(60), |status, _| status == 503).await;
    assert_eq!(body["telegram_sender"]["state"], "failing", "{body}");
    assert_eq!(body["telegram_sender"]["replies_waiting"], true, "{body}");
    assert!(
        !body.to_string().contains("broken by the test"),
        "public /health shows the internal error: {body}"
    );
    let (ok, line) = check(dir.path(), &env);
    assert!(!ok, "check is healthy while the sender fails: {line}");
    assert!(
        line.contains("FAIL failing since") && line.contains("broken by the test"),
        "{line}"
    );

    // Mended: the sender recovers without a restart, sends the waiting reply, health is green.
    db.execute(
        "DROP VIEW checkpoints; DROP FUNCTION broken_position(); \
         ALTER TABLE checkpoints_kept RENAME TO checkpoints;",
    )
    .await;
    let sent = fake.wait_for("sendMessage", 2).await;
    assert_eq!(sent[1]["chat_id"], 515_200_002);
    health_until(&server, Duration::from_secs(30), |status, body| {
        status == 200 && body["telegram_sender"]["state"] == "holding"
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, line) = check(dir.path(), &env);
        if line.contains("ok holding on") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "check never recovered: {line}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(fake.calls("sendMessage").len(), 2, "each reply once");
}

testkit::main!();
