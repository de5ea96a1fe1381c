//! `salesbot bench soak`: the whole distributed system under steady load for minutes, through
//! both doors at once: shoppers on the web chat and on Telegram (updates posted to the webhook
//! as the Bot API delivers them, replies sent by the outbox to a Bot API stand-in). It checks
//! what a long run would reveal and a short one hides: the projector keeping up (lag
//! throughout, not only at the end), every request answered, every reply delivered, nothing
//! parked, and memory flat once warm (RSS sampled every 5 s; the growth after the first minute
//! is reported).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::bot_api::BotApi;
use super::system::{System, WEBHOOK_SECRET};
use super::{usage, watch_lag};
use crate::bench::chat::{Door, load_on};
use crate::bench::{quantile_ms, round3};
use crate::cli::{BenchSoakArgs, ChatMix};
use crate::config::Config;

/// How often the soak reads memory and lag.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// RSS growth is measured from this point on: the first minute fills caches and pools.
const WARM_AFTER: Duration = Duration::from_secs(60);
/// The longest the soak waits after the load for the outbox to deliver what is left.
const DELIVERY_WAIT: Duration = Duration::from_secs(120);

/// One reading every [`SAMPLE_EVERY`].
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kb: u64,
    /// Events in the store no projection partition has applied yet, at worst (as
    /// `/admin/health` counts them).
    projector_behind: i64,
    /// Head position minus the outbox sender's checkpoint.
    outbox_behind: i64,
}

pub async fn soak(config: &Config, args: &BenchSoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate.is_finite() && args.webhook_rate.is_finite() && args.webhook_rate >= 0.0,
        "--rate and --webhook-rate must be numbers of messages per second"
    );
    let web_rate = args.rate - args.webhook_rate;
    anyhow::ensure!(
        web_rate > 0.0,
        "--webhook-rate must be below --rate (the web chat takes the rest)"
    );
    let api = BotApi::start().await?;
    let system = System::start_with_telegram(config, api.url.clone()).await?;
    let result = run(&system, &api, args, web_rate).await;
    system.stop().await;
    result
}

async fn run(
    system: &System,
    api: &BotApi,
    args: &BenchSoakArgs,
    web_rate: f64,
) -> anyhow::Result<()> {
    let webhook = system
        .webhook
        .clone()
        .ok_or_else(|| anyhow::anyhow!("the soak's system has no Telegram webhook"))?;
    let seconds = args.seconds as f64;
    let web_messages = (web_rate * seconds).round() as u64;
    let webhook_messages = (args.webhook_rate * seconds).round() as u64;
    let web = Door::Web(system.url.clone());
    let telegram = Door::Webhook {
        url: webhook,
        secret: WEBHOOK_SECRET.to_owned(),
        next_update: Arc::new(std::sync::atomic::AtomicI64::new(1)),
    };
    usage::reset_peak_rss();
    let (cpu_before, machine_before) = usage::cpu_seconds();
    let started = Instant::now();
    let done = CancellationToken::new();
    let load = async {
        let (web, webhook) = tokio::join!(
            load_on(
                &web,
                args.users,
                web_messages,
                Some(web_rate),
                "soak-web",
                ChatMix::World
            ),
            async {
                if webhook_messages == 0 {
                    return Ok((0.0, crate::bench::histogram()?, Duration::ZERO));
                }
                load_on(
                    &telegram,
                    args.telegram_users,
                    webhook_messages,
                    Some(args.webhook_rate),
                    "soak-telegram",
                    ChatMix::English,
                )
                .await
            }
        );
        done.cancel();
        anyhow::Ok((web?, webhook?))
    };
    let (loaded, watched, samples) = tokio::join!(
        load,
        watch_lag(system, &done),
        sample(system, started, &done)
    );
    let ((web_rate_got, web_latency, _), (hook_rate_got, hook_latency, _)) = loaded?;
    let (lag, worst) = watched?;
    let mut samples = samples?;
    let load_seconds = started.elapsed();
    let (cpu_after, machine_after) = usage::cpu_seconds();

    // Every reply on its way to Telegram: the outbox's checkpoint reaches the head.
    let head = system.store.head_position().await?;
    let delivery = Instant::now();
    let outbox_done = loop {
        let behind = head - system.outbox_checkpoint().await?;
        if behind <= 0 {
            break Some(delivery.elapsed());
        }
        if delivery.elapsed() > DELIVERY_WAIT {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    samples.push(system.sample(started).await?);
    let parked: i64 = event_store::progress::parked::counts(system.store.pool())
        .await?
        .values()
        .sum();

    let warm: Vec<&Sample> = samples.iter().filter(|s| s.at >= WARM_AFTER).collect();
    let rss_warm = warm.first().map(|s| s.rss_kb);
    let rss_max_after = warm.iter().map(|s| s.rss_kb).max();
    let growth = match (rss_warm, rss_max_after) {
        (Some(first), Some(max)) if first > 0 => {
            Some(round3((max as f64 - first as f64) / first as f64 * 100.0))
        }
        _ => None,
    };
    let mb = |kb: u64| round3(kb as f64 / 1024.0);
    // Every 30 s: [seconds, RSS MB, projector behind (events), outbox behind (positions)].
    let over_time: Vec<_> = samples
        .iter()
        .filter(|s| s.at.as_secs() % 30 < SAMPLE_EVERY.as_secs())
        .map(|s| {
            json!([
                s.at.as_secs(),
                mb(s.rss_kb),
                s.projector_behind,
                s.outbox_behind
            ])
        })
        .collect();
    let busy = load_seconds.as_secs_f64().max(1e-9);
    println!(
        "{}",
        json!({
            "bench": "soak", "backend": "postgres+nats", "limits": "raised",
            "seconds": args.seconds, "target_messages_per_sec": args.rate,
            "messages": web_messages + webhook_messages,
            "messages_per_sec": ((web_messages + webhook_messages) as f64 / busy).round(),
            "web_chat": {
                "users": args.users, "messages": web_messages, "target_per_sec": web_rate,
                "per_sec": web_rate_got.round(), "reply_p50_ms": quantile_ms(&web_latency, 0.5),
                "reply_p99_ms": quantile_ms(&web_latency, 0.99),
            },
            "webhook": {
                "users": args.telegram_users, "messages": webhook_messages,
                "target_per_sec": args.webhook_rate, "per_sec": hook_rate_got.round(),
                "answer_p50_ms": quantile_ms(&hook_latency, 0.5),
                "answer_p99_ms": quantile_ms(&hook_latency, 0.99),
                "replies_sent": api.sent(),
                "outbox_caught_up_seconds_after_load": outbox_done.map(|d| round3(d.as_secs_f64())),
            },
            "http_errors": 0,
            "events": head, "events_per_sec": (head as f64 / busy).round(),
            "lag_p50_ms": quantile_ms(&lag, 0.5), "lag_p99_ms": quantile_ms(&lag, 0.99),
            "lag_max_ms": round3(worst.as_secs_f64().max(quantile_ms(&lag, 1.0) / 1_000.0) * 1_000.0),
            "projector_behind_max": samples.iter().map(|s| s.projector_behind).max(),
            "parked_events": parked,
            "rss_mb_at_60s": rss_warm.map(mb),
            "rss_mb_max_after_60s": rss_max_after.map(mb),
            "rss_growth_after_60s_pct": growth,
            "rss_mb_peak": usage::rss_kb("VmHWM:").map(mb),
            "every_30s": over_time,
            "cpu_seconds": round3(cpu_after - cpu_before),
            "machine_busy_cpu_seconds": round3(machine_after - machine_before),
        })
    );
    anyhow::ensure!(parked == 0, "{parked} events were parked during the soak");
    anyhow::ensure!(
        outbox_done.is_some(),
        "the Telegram outbox was still {} positions behind {} s after the load",
        head - system.outbox_checkpoint().await?,
        DELIVERY_WAIT.as_secs()
    );
    Ok(())
}

/// Readings every [`SAMPLE_EVERY`] until `done`.
async fn sample(
    system: &System,
    started: Instant,
    done: &CancellationToken,
) -> anyhow::Result<Vec<Sample>> {
    let mut samples = Vec::new();
    let mut next = started;
    loop {
        samples.push(system.sample(started).await?);
        next += SAMPLE_EVERY;
        tokio::select! {
            () = done.cancelled() => return Ok(samples),
            () = tokio::time::sleep_until(next.into()) => {}
        }
    }
}

impl System {
    async fn sample(&self, started: Instant) -> anyhow::Result<Sample> {
        let progress = self
            .store
            .progress(event_store::progress::STALE_AFTER)
            .await?;
        let head = progress.head;
        Ok(Sample {
            at: started.elapsed(),
            rss_kb: usage::rss_kb("VmRSS:").unwrap_or(0),
            projector_behind: progress
                .partitions
                .iter()
                .map(|p| p.lag_events)
                .max()
                .unwrap_or(0),
            // The checkpoint is read after the head, so it may have passed it meanwhile.
            outbox_behind: (head - self.outbox_checkpoint().await?).max(0),
        })
    }

    /// The outbox sender's checkpoint: every reply up to it has been sent.
    async fn outbox_checkpoint(&self) -> anyhow::Result<i64> {
        Ok(self
            .store
            .checkpoint(command_service::telegram::outbox::CHECKPOINT)
            .await?
            .unwrap_or(0))
    }
}
