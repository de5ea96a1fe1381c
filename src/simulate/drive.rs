//! Driving the scripts: through the command service in-process or live over HTTP, a number of
//! shoppers at a time and at a paced overall rate, counting what failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use command_service::catalog::Catalog;
use command_service::engine::Inbound;
use command_service::service::{CommandService, EventIds, SystemClock};
use events_schema::{Channel, MessageKind, UserId};
use futures::StreamExt as _;

use super::script::{Line, Shopper};

/// What a simulation did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub users: usize,
    pub messages: usize,
    pub failed: usize,
    pub elapsed: Duration,
}

/// Keeps the overall message rate at or below `rate` per second.
#[derive(Debug)]
struct Pace {
    start: Instant,
    rate: Option<f64>,
    sent: std::sync::atomic::AtomicU64,
}

impl Pace {
    async fn wait(&self) {
        let Some(rate) = self.rate else { return };
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let due = self.start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
    }
}

/// Sends every shopper's lines through `send` (true: the message was recorded),
/// `concurrency` shoppers at a time, paced to `rate` messages a second if given.
async fn drive<F, Fut>(
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
    send: F,
) -> Summary
where
    F: Fn(String, Line) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let pace = Pace {
        start: Instant::now(),
        rate,
        sent: 0.into(),
    };
    let started = Instant::now();
    let failed = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(shoppers)
        .for_each_concurrent(concurrency.max(1), |shopper| {
            let (pace, failed, send) = (&pace, &failed, &send);
            async move {
                for line in &shopper.lines {
                    pace.wait().await;
                    if !send(shopper.id.clone(), line.clone()).await {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    progress.inc(1);
                }
            }
        })
        .await;
    Summary {
        users: shoppers.len(),
        messages: shoppers.iter().map(|s| s.lines.len()).sum(),
        failed: failed.into_inner(),
        elapsed: started.elapsed(),
    }
}

/// Drives the shoppers in-process through `service`, `concurrency` shoppers at a time.
pub async fn run_in_process(
    service: &CommandService,
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
) -> Summary {
    drive(
        shoppers,
        concurrency,
        rate,
        progress,
        move |id, line| async move {
            let Ok(user) = UserId::new(Channel::Web, &id) else {
                return false;
            };
            let inbound = Inbound {
                channel: Channel::Web,
                kind: MessageKind::Text,
                text: Some(line.text),
                message_id: None,
                chat_id: None,
                username: Some(id),
                display_name: None,
                language: Some(line.language.into()),
                at: line.at,
                payments: false,
            };
            match service.handle(&user, &inbound, EventIds::Fresh).await {
                Ok(_) => true,
                Err(error) => {
                    tracing::warn!(%error, user = %user, "simulated message failed");
                    false
                }
            }
        },
    )
    .await
}

/// Sends the shoppers' messages live to `POST <target>/api/messages`, naming each shopper as a
/// shop's backend does (`user_id` with `X-Chat-Key`). A message refused with 429 is sent again
/// after the `Retry-After` the server asked for (a few times at most), as a polite client would.
pub async fn run_http(
    target: &url::Url,
    chat_key: &str,
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Summary> {
    let endpoint = target
        .join("api/messages")
        .context("--target: not a base URL")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (client, endpoint) = (&client, &endpoint);
    Ok(drive(
        shoppers,
        concurrency,
        rate,
        progress,
        move |id, line| async move {
            let body = serde_json::json!({"user_id": id, "text": line.text, "username": id});
            for _ in 0..RETRIES_AFTER_429 {
                let response = client
                    .post(endpoint.clone())
                    .header("X-Chat-Key", chat_key)
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        let wait = r
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_secs(wait.min(60))).await;
                    }
                    Ok(r) if r.status().is_success() => return true,
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        tracing::warn!(%status, body = %text, "simulated message refused");
                        return false;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "simulated message failed");
                        return false;
                    }
                }
            }
            false
        },
    )
    .await)
}

/// How often `run_http` sends a message again after being told to slow down.
const RETRIES_AFTER_429: usize = 10;

/// A command service over `store` for in-process simulation (and benchmarks).
pub fn service(store: event_store::EventStore, catalog: Arc<Catalog>) -> CommandService {
    CommandService::new(store, catalog, Arc::new(SystemClock))
}
