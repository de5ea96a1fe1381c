//! `/metrics` (Prometheus text format) and `/health`, served by every process on its own
//! `BIND_ADDR`: the log head, the relay, and each projection's checkpoint, lag and heartbeat
//! per partition, read from the database (so every process tells the same story).

use std::fmt::Write as _;

use event_store::EventStore;
use event_store::transport::Nats;
use poem::web::{Data, Json};
use poem::{IntoResponse, Response, handler, http::StatusCode};

/// A partition silent for this long counts as stalled.
pub use event_store::progress::STALE_AFTER;

/// The Prometheus exposition of the store's followers.
pub async fn render(store: &EventStore, nats: Option<&Nats>) -> anyhow::Result<String> {
    let progress = store.progress(STALE_AFTER).await?;
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: i64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "salesbot_log_head_position",
        "Highest global position in the event log.",
        progress.head,
    );
    if let Some(nats) = nats {
        gauge(
            "salesbot_nats_connected",
            "1 while this process is connected to NATS.",
            i64::from(nats.is_connected()),
        );
    }
    if let Some(relay) = &progress.relay {
        gauge(
            "salesbot_relay_position",
            "Global position up to which events are published to JetStream.",
            relay.position,
        );
        gauge(
            "salesbot_relay_lag_events",
            "Events committed but not yet published to JetStream.",
            relay.lag_events,
        );
    }
    let gauges: [(&str, &str); 5] = [
        (
            "salesbot_projection_checkpoint",
            "Global position up to which the projection has applied the partition.",
        ),
        (
            "salesbot_projection_lag_events",
            "Log positions between what the projection is known to have applied and the head.",
        ),
        (
            "salesbot_projection_lag_seconds",
            "Age of the oldest event the projection is not known to have applied.",
        ),
        (
            "salesbot_projection_heartbeat_age_seconds",
            "Seconds since the partition's worker last reported (-1: never).",
        ),
        (
            "salesbot_projection_stalled",
            "1 when the partition's worker has not reported for 10 seconds.",
        ),
    ];
    let now = chrono::Utc::now();
    for (name, help) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for p in &progress.partitions {
            let value = match name {
                "salesbot_projection_checkpoint" => p.checkpoint as f64,
                "salesbot_projection_lag_events" => p.lag_events as f64,
                "salesbot_projection_lag_seconds" => p.lag_seconds,
                "salesbot_projection_heartbeat_age_seconds" => p
                    .heartbeat_at
                    .map_or(-1.0, |at| (now - at).as_seconds_f64().max(0.0)),
                _ => f64::from(u8::from(p.stalled)),
            };
            let _ = writeln!(
                out,
                "{name}{{projection=\"{}\",partition=\"{}\"}} {value}",
                p.projection, p.partition
            );
        }
    }
    let name = "salesbot_chat_refused_total";
    let _ = writeln!(
        out,
        "# HELP {name} Messages this process refused (web: 429) or dropped (Telegram) for being \
         over a rate limit.\n# TYPE {name} counter"
    );
    for (channel, count) in command_service::limits::refused_total() {
        let _ = writeln!(out, "{name}{{channel=\"{}\"}} {count}", channel.as_str());
    }
    let name = "salesbot_events_skipped_total";
    let _ = writeln!(
        out,
        "# HELP {name} Events this process's projector or query API left out because a newer \
         release wrote them (an event type or schema version it does not know).\n# TYPE {name} \
         counter"
    );
    for (reason, count) in event_store::skipped_newer() {
        let _ = writeln!(out, "{name}{{reason=\"{}\"}} {count}", reason.as_str());
    }
    Ok(out)
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
pub async fn health(Data(store): Data<&EventStore>, nats: Data<&Option<Nats>>) -> Response {
    let mut ok = true;
    let mut body = serde_json::Map::new();
    match store.progress(STALE_AFTER).await {
        Ok(progress) => {
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
