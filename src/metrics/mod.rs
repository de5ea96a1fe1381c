//! `/metrics` (Prometheus text format, by `metrics-exporter-prometheus`) and `/health`, served
//! by every process on its own `BIND_ADDR`. What the parts count as they work (requests, messages,
//! appends, projector batches, Telegram sends, LLM calls) goes to the `metrics` facade as it
//! happens; the followers' progress (log head, relay, each projection's checkpoint, lag and
//! heartbeat per partition) is read from the database on each scrape, so every process tells
//! the same story. Names, labels and the Grafana dashboard: docs/architecture.md, "Operating".

pub mod http;

use std::sync::OnceLock;

use command_service::telegram::outbox::SenderHealth;
use event_store::EventStore;
use event_store::transport::Nats;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler, http::StatusCode};

/// A partition silent for this long counts as stalled.
pub use event_store::progress::STALE_AFTER;

/// Bucket bounds of every `_seconds` histogram: from a cached read to a slow LLM answer.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of the group-commit batch sizes.
const COUNT_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 5_000.0, 20_000.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's metrics recorder (once; later calls return the same handle).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Prefix("salesbot_append_batch_".into()),
                    COUNT_BUCKETS,
                )
            });
        let recorder = match builder {
            Ok(b) => b.build_recorder(),
            // The bucket lists above are constants, never empty.
            Err(error) => {
                tracing::error!(%error, "metrics buckets; histograms become summaries");
                PrometheusBuilder::new().build_recorder()
            }
        };
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            tracing::warn!(%error, "a metrics recorder was installed already");
        }
        describe();
        handle
    })
}

const LOG_HEAD: &str = "salesbot_log_head_position";
const NATS_CONNECTED: &str = "salesbot_nats_connected";
const RELAY_POSITION: &str = "salesbot_relay_position";
const RELAY_LAG: &str = "salesbot_relay_lag_events";
const CHECKPOINT: &str = "salesbot_projection_checkpoint";
const LAG_EVENTS: &str = "salesbot_projection_lag_events";
const LAG_SECONDS: &str = "salesbot_projection_lag_seconds";
const HEARTBEAT_AGE: &str = "salesbot_projection_heartbeat_age_seconds";
const STALLED: &str = "salesbot_projection_stalled";
const CHAT_REFUSED: &str = "salesbot_chat_refused_total";
const EVENTS_SKIPPED: &str = "salesbot_events_skipped_total";

fn describe() {
    use metrics::{describe_counter, describe_gauge};
    describe_gauge!(LOG_HEAD, "Highest global position in the event log.");
    describe_gauge!(NATS_CONNECTED, "1 while this process is connected to NATS.");
    describe_gauge!(
        RELAY_POSITION,
        "Global position up to which events are published to JetStream."
    );
    describe_gauge!(
        RELAY_LAG,
        "Events committed but not yet published to JetStream."
    );
    describe_gauge!(
        CHECKPOINT,
        "Global position up to which the projection has applied the partition."
    );
    describe_gauge!(
        LAG_EVENTS,
        "Log positions between what the projection is known to have applied and the head."
    );
    describe_gauge!(
        LAG_SECONDS,
        "Age of the oldest event the projection is not known to have applied."
    );
    describe_gauge!(
        HEARTBEAT_AGE,
        "Seconds since the partition's worker last reported (-1: never)."
    );
    describe_gauge!(
        STALLED,
        "1 when the partition's worker has not reported for 10 seconds."
    );
    describe_counter!(
        CHAT_REFUSED,
        "Messages this process refused (web: 429) or dropped (Telegram) for being over a rate \
         limit."
    );
    describe_counter!(
        EVENTS_SKIPPED,
        "Events this process's projector or query API left out because a newer release wrote \
         them (an event type or schema version it does not know)."
    );
    http::describe();
    event_store::metrics::describe();
    projector::metrics::describe();
    command_service::metrics::describe();
}

/// The Prometheus exposition: what was counted, and the followers' progress as of now.
pub async fn render(store: &EventStore, nats: Option<&Nats>) -> anyhow::Result<String> {
    let handle = install();
    let progress = store.progress(STALE_AFTER).await?;
    metrics::gauge!(LOG_HEAD).set(progress.head as f64);
    if let Some(nats) = nats {
        metrics::gauge!(NATS_CONNECTED).set(f64::from(u8::from(nats.is_connected())));
    }
    if let Some(relay) = &progress.relay {
        metrics::gauge!(RELAY_POSITION).set(relay.position as f64);
        metrics::gauge!(RELAY_LAG).set(relay.lag_events as f64);
    }
    let now = chrono::Utc::now();
    for p in &progress.partitions {
        let labels = [
            ("projection", p.projection.clone()),
            ("partition", p.partition.to_string()),
        ];
        metrics::gauge!(CHECKPOINT, &labels).set(p.checkpoint as f64);
        metrics::gauge!(LAG_EVENTS, &labels).set(p.lag_events as f64);
        metrics::gauge!(LAG_SECONDS, &labels).set(p.lag_seconds);
        let age = p
            .heartbeat_at
            .map_or(-1.0, |at| (now - at).as_seconds_f64().max(0.0));
        metrics::gauge!(HEARTBEAT_AGE, &labels).set(age);
        metrics::gauge!(STALLED, &labels).set(f64::from(u8::from(p.stalled)));
    }
    for (channel, count) in command_service::limits::refused_total() {
        metrics::counter!(CHAT_REFUSED, "channel" => channel.as_str()).absolute(count);
    }
    for (reason, count) in event_store::skipped_newer() {
        metrics::counter!(EVENTS_SKIPPED, "reason" => reason.as_str()).absolute(count);
    }
    Ok(handle.render())
}

#[handler]
pub async fn endpoint(Data(store): Data<&EventStore>, nats: Data<&Option<Nats>>) -> Response {
    match render(store, nats.0.as_ref()).await {
        Ok(text) => text
            .with_content_type("text/plain; version=0.0.4")
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "metrics: database unavailable");
            Json(serde_json::json!({"message": "the database is unavailable"}))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}

/// 200 while the database (and NATS, in distributed mode) answer; 503 otherwise. The body
/// names each part, with the projections' worst lag and any stalled partition.
#[handler]
pub async fn health(
    Data(store): Data<&EventStore>,
    nats: Data<&Option<Nats>>,
    sender: Data<&Option<SenderHealth>>,
) -> Response {
    let mut ok = true;
    let mut body = serde_json::Map::new();
    let mut head = None;
    match store.progress(STALE_AFTER).await {
        Ok(progress) => {
            head = Some(progress.head);
            body.insert("database".into(), "ok".into());
            body.insert("head_position".into(), progress.head.into());
            let (lag_events, lag_seconds) = progress.max_lag();
            body.insert(
                "projections".into(),
                serde_json::json!({
                    "lag_events": lag_events,
                    "lag_seconds": lag_seconds,
                    "stalled_partitions": progress.stalled().map(|p| p.partition).collect::<std::collections::BTreeSet<_>>(),
                }),
            );
        }
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            ok = false;
            body.insert("database".into(), "unreachable".into());
        }
    }
    if let Some(nats) = nats.0.as_ref() {
        let connected = nats.is_connected();
        ok &= connected;
        body.insert(
            "nats".into(),
            if connected { "ok" } else { "disconnected" }.into(),
        );
    }
    if let Some(sender) = sender.0.as_ref() {
        let (sender_ok, report) = telegram_sender(store, sender, head).await;
        ok &= sender_ok;
        body.insert("telegram_sender".into(), report);
    }
    body.insert(
        "status".into(),
        if ok { "ok" } else { "unavailable" }.into(),
    );
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(serde_json::Value::Object(body))
        .with_status(status)
        .into_response()
}

/// This process's Telegram outbox sender for `/health`: its state, and how long it has been
/// failing. Unhealthy once it has failed for longer than [`STALE_AFTER`] with replies waiting
/// (the log's head is past its checkpoint, or the store cannot say). The error itself is not
/// shown (public route): it is in the log, `salesbot_telegram_sender_errors_total` and
/// `salesbot check`.
async fn telegram_sender(
    store: &EventStore,
    sender: &SenderHealth,
    head: Option<i64>,
) -> (bool, serde_json::Value) {
    let status = sender.status();
    let now = chrono::Utc::now();
    let mut report = serde_json::json!({
        "state": status.state.as_str(),
        "since": status.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    let Some(failing_for) = status.failing_for(now) else {
        return (true, report);
    };
    let checkpoint = store
        .checkpoint(command_service::telegram::outbox::CHECKPOINT)
        .await
        .ok()
        .flatten();
    let waiting = match (head, checkpoint) {
        (Some(head), Some(checkpoint)) => head > checkpoint,
        _ => true,
    };
    let unhealthy = waiting && failing_for > STALE_AFTER;
    report["failing_for_seconds"] = failing_for.as_secs().into();
    report["replies_waiting"] = waiting.into();
    if unhealthy {
        report["reason"] = "the Telegram sender keeps failing while replies wait".into();
    }
    (!unhealthy, report)
}
