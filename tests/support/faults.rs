//! What the fault tests share (tests/faults.rs, one fault each, and tests/fault_matrix.rs):
//! watching `/admin/health` for degraded answers, rows a newer release wrote, and the
//! reconciliation of every read table with the oracle.

use std::time::Duration;

use event_store::EventStore;
use testkit::TestDatabase;

use super::{Proc, oracle};

/// Watches `/admin/health` of a query API every 100 ms in the background, keeping every
/// degraded (503) answer's body.
pub struct HealthWatch {
    seen: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HealthWatch {
    pub fn start(port: u16) -> HealthWatch {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = seen.clone();
        let task = tokio::spawn(async move {
            let url = format!("http://127.0.0.1:{port}/admin/health");
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            loop {
                if let Ok(r) = client.get(&url).send().await
                    && r.status() == 503
                    && let Ok(body) = r.json::<serde_json::Value>().await
                {
                    kept.lock().expect("lock").push(body);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        HealthWatch { seen, task }
    }

    /// The degraded answers seen so far.
    pub fn degraded(&self) -> Vec<serde_json::Value> {
        self.seen.lock().expect("lock").clone()
    }

    /// Whether some 503 answer satisfied `named`.
    pub fn saw(&self, named: impl Fn(&serde_json::Value) -> bool) -> bool {
        self.degraded().iter().any(named)
    }
}

impl Drop for HealthWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Rows a newer release wrote, at the head of the log in one transaction (as its command
/// service would store them): a message of a schema version this release does not know, then
/// one it does, in the same shopper's `stream`.
pub async fn append_poison(db: &TestDatabase, stream: &str) {
    let payload = r#"{"kind": "text", "message_id": null, "intent": "greeting", "sentiment": "neutral", "product_id": null, "language": "en", "understood_by": "rules"}"#;
    let row = |offset: i64, version: i64| {
        format!(
            "INSERT INTO events (global_position, event_id, stream_id, stream_version, \
               event_type, schema_version, occurred_at, recorded_at, correlation_id, payload) \
             SELECT position + {offset}, gen_random_uuid(), '{stream}', {offset}, \
               'MessageReceived', {version}, now(), now(), gen_random_uuid(), '{payload}'::jsonb \
             FROM log_head; "
        )
    };
    let current = events_schema::EventType::MessageReceived.current_version();
    db.execute(&format!(
        "BEGIN; SELECT position FROM log_head FOR UPDATE; {}{}\
         UPDATE log_head SET position = position + 2; COMMIT;",
        row(1, 99),
        row(2, i64::from(current)),
    ))
    .await;
}

/// Every read table equals the oracle's recomputation from the log (in `tz`).
pub async fn reconcile(store: &EventStore, tz: chrono_tz::Tz) {
    let expected = oracle::expected(store, tz).await;
    let actual = oracle::actual(store).await;
    oracle::assert_same(&expected, &actual);
}

/// Health green (200, `ok`) within `within`, by itself.
pub async fn assert_recovers(query: &Proc, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = query.get("/admin/health").await;
        let status = r.status();
        let body: serde_json::Value = r.json().await.expect("health body");
        if status == 200 {
            assert_eq!(body["status"], "ok", "{body}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health did not recover by itself: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
