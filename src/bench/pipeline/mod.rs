//! `salesbot bench rebuild | lag | pipeline`: the read side.
//!
//! - `rebuild`: a synthetic log of N events (a realistic mix, personal fields sealed) is
//!   rebuilt into every projection; events/s and the peak RSS of the rebuild.
//! - `lag`: Postgres + a private nats-server; the bot, the relay and one projector worker in
//!   this process; steady chat at R messages/s over HTTP; the time from an event's commit to
//!   every projection on every partition having applied it (p50/p99).
//! - `pipeline`: the same system flooded through `POST /api/messages`; messages/s until every
//!   message is visible in the read tables, and the worst lag seen on the way.
//! - `soak`: the same system, with the Telegram webhook and outbox too, at a steady rate
//!   through both doors for minutes: lag, delivery, errors and memory over time (`soak.rs`).
//!
//! Everything (load generator included) shares this machine's cores.
//!
//! This file holds `lag` and `pipeline` and the lag sampler they share; the system they run
//! against, the `rebuild` benchmark, its synthetic log and the `/proc` readings are beside it.

mod bot_api;
mod fill;
mod rebuild;
mod soak;
mod system;
mod usage;

use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{histogram, quantile_ms, round3};
use crate::cli::{BenchLagArgs, BenchPipelineArgs};
use crate::config::Config;
use system::System;

pub(crate) use fill::fill;
pub use rebuild::rebuild;
pub use soak::soak;

const PARTITIONS: u32 = 8;

/// Samples the head every 2 ms until `done` is cancelled (and every event seen is applied): when each new head event was first seen
/// committed, and when its partition's checkpoint (lowest over the projections) first covered
/// it. Every projection commits a batch together, so that is when it became visible everywhere.
async fn watch_lag(
    system: &System,
    done: &CancellationToken,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, Duration)> {
    let mut committed: std::collections::VecDeque<(i64, u32, Instant)> = Default::default();
    let mut latency = histogram()?;
    let mut worst = Duration::ZERO;
    let mut last_head = system.positions().await?.0;
    loop {
        let (head, partition, applied) = system.positions().await?;
        let now = Instant::now();
        if head > last_head {
            committed.push_back((head, partition, now));
            last_head = head;
        }
        committed.retain(|&(position, partition, at)| {
            if applied[partition as usize] >= position {
                let _ = latency.record(((now - at).as_micros() as u64).max(1));
                false
            } else {
                worst = worst.max(now - at);
                true
            }
        });
        if done.is_cancelled() && committed.is_empty() {
            return Ok((latency, worst));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Chats `messages` messages from `users` shoppers (at `rate` a second, or as fast as the
/// server answers) while watching how long each commit takes to show in the read tables: the
/// chat's figures and the lag's.
async fn chat_watching_lag(
    system: &System,
    users: u64,
    messages: u64,
    rate: Option<f64>,
    round: &'static str,
) -> anyhow::Result<(
    (f64, hdrhistogram::Histogram<u64>, Duration),
    (hdrhistogram::Histogram<u64>, Duration),
)> {
    let done = CancellationToken::new();
    let door = super::chat::Door::Web(system.url.clone());
    let chat = super::chat::load_on(
        &door,
        users,
        messages,
        rate,
        round,
        crate::cli::ChatMix::English,
    );
    let sent = async {
        let r = chat.await;
        done.cancel();
        r
    };
    let (sent, watched) = tokio::join!(sent, watch_lag(system, &done));
    Ok((sent?, watched?))
}

pub async fn lag(config: &Config, args: &BenchLagArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be a positive number of messages per second"
    );
    let system = System::start(config).await?;
    let result = async {
        let messages = (args.rate * args.seconds as f64).round() as u64;
        let ((rate, reply_latency, _), (lag, worst)) =
            chat_watching_lag(&system, args.users, messages, Some(args.rate), "lag").await?;
        println!(
            "{}",
            json!({
                "bench": "lag", "backend": "postgres+nats", "limits": "raised", "target_messages_per_sec": args.rate,
                "messages_per_sec": rate.round(), "seconds": args.seconds, "users": args.users,
                "lag_p50_ms": quantile_ms(&lag, 0.5), "lag_p99_ms": quantile_ms(&lag, 0.99),
                "lag_max_ms": quantile_ms(&lag, 1.0), "lag_samples": lag.len(),
                "worst_open_lag_ms": round3(worst.as_secs_f64() * 1_000.0),
                "reply_p99_ms": quantile_ms(&reply_latency, 0.99),
            })
        );
        anyhow::Ok(())
    }
    .await;
    system.stop().await;
    result
}

pub async fn pipeline(config: &Config, args: &BenchPipelineArgs) -> anyhow::Result<()> {
    let system = System::start(config).await?;
    let result = async {
        let started = Instant::now();
        let ((accepted_rate, _, sending), (lag, worst)) =
            chat_watching_lag(&system, args.users, args.messages, None, "pipeline").await?;
        let visible = started.elapsed();
        let head = system.store.head_position().await?;
        println!(
            "{}",
            json!({
                "bench": "pipeline", "backend": "postgres+nats", "limits": "raised", "users": args.users,
                "messages": args.messages, "events": head,
                "accepted_messages_per_sec": accepted_rate.round(),
                "visible_messages_per_sec": (args.messages as f64 / visible.as_secs_f64()).round(),
                "events_per_sec": (head as f64 / visible.as_secs_f64()).round(),
                "sending_seconds": round3(sending.as_secs_f64()),
                "all_visible_seconds": round3(visible.as_secs_f64()),
                "lag_p50_ms": quantile_ms(&lag, 0.5), "lag_p99_ms": quantile_ms(&lag, 0.99),
                "lag_max_ms": round3(worst.as_secs_f64().max(quantile_ms(&lag, 1.0) / 1_000.0) * 1_000.0),
            })
        );
        anyhow::Ok(())
    }
    .await;
    system.stop().await;
    result
}
