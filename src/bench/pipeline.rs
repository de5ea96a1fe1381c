//! `salesbot bench rebuild | lag | pipeline`: the read side.
//!
//! - `rebuild`: a synthetic log of N events (a realistic mix, personal fields sealed) is
//!   rebuilt into every projection; events/s and the peak RSS of the rebuild.
//! - `lag`: Postgres + a private nats-server; the bot, the relay and one projector worker in
//!   this process; steady chat at R messages/s over HTTP; the time from an event's commit to
//!   every projection on every partition having applied it (p50/p99).
//! - `pipeline`: the same system flooded through `POST /api/messages`; messages/s until every
//!   message is visible in the read tables, and the worst lag seen on the way.
//!
//! Everything (load generator included) shares this machine's cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use event_store::transport::{Nats, StreamSettings};
use event_store::{EventStore, ExpectedVersion, Pool};
use events_schema::{
    BotReplied, Channel, ConversationStarted, Currency, Intent, MessageKind, MessageReceived,
    Money, NewEvent, OrderLine, OrderPlaced, PaymentMethod, PriceInquired, ProductViewed,
    PurchaseIntended, Sentiment, UserId, ViewSource,
};
use rand::{Rng as _, SeedableRng as _};
use serde_json::json;
use testkit::ScratchNats;
use tokio::sync::watch;

use super::{histogram, quantile_ms, round3};
use crate::cli::{BenchBackend, BenchLagArgs, BenchPipelineArgs, BenchRebuildArgs};
use crate::config::Config;

const PARTITIONS: u32 = 8;

pub async fn rebuild(config: &Config, args: &BenchRebuildArgs) -> anyhow::Result<()> {
    let db = super::scratch(args.backend, config).await?;
    let store = db.open().await.context("opening the scratch store")?;
    let result = async {
        let filled = fill(&store, args.events, args.users).await?;
        for run in 1..=args.runs {
            reset_peak_rss();
            let rss_before = rss_kb("VmRSS");
            let bar = super::progress(0, "rebuilding");
            let cpu_before = cpu_seconds();
            let started = Instant::now();
            let only: Vec<_> = args.projection.into_iter().collect();
            let rebuilt = projector::rebuild::rebuild(
                &store,
                chrono_tz::UTC,
                PARTITIONS,
                &only,
                projector::rebuild::FLUSH_EVENTS as usize,
                |p, h| {
                    bar.set_length(u64::try_from(h).unwrap_or(0));
                    bar.set_position(u64::try_from(p).unwrap_or(0));
                },
            )
            .await?;
            let elapsed = started.elapsed().as_secs_f64();
            let cpu_after = cpu_seconds();
            bar.finish_and_clear();
            let t = &rebuilt.timings;
            println!(
                "{}",
                json!({
                    "bench": "rebuild", "backend": backend_name(args.backend), "run": run,
                    "projections": rebuilt.projections.iter().map(|p| p.name()).collect::<Vec<_>>(),
                    "events": rebuilt.events, "users": args.users, "generated_events": filled,
                    "seconds": round3(elapsed),
                    "events_per_sec": (rebuilt.events as f64 / elapsed.max(1e-9)).round(),
                    "rss_before_mb": rss_before.map(|kb| kb / 1024),
                    "peak_rss_mb": rss_kb("VmHWM").map(|kb| kb / 1024),
                    "read_wait_s": round3(t.read_wait.as_secs_f64()),
                    "fold_s": round3(t.fold.as_secs_f64()),
                    "write_wait_s": round3(t.write_wait.as_secs_f64()),
                    "indexes_s": round3(t.indexes.as_secs_f64()),
                    "swap_s": round3(t.swap.as_secs_f64()),
                    "cpu_self_s": round3(cpu_after.0 - cpu_before.0),
                    "cpu_others_s": round3(
                        ((cpu_after.1 - cpu_before.1) - (cpu_after.0 - cpu_before.0)).max(0.0),
                    ),
                })
            );
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    drop(db);
    result
}

fn backend_name(backend: BenchBackend) -> &'static str {
    match backend {
        BenchBackend::Postgres => "postgres",
        BenchBackend::Sqlite => "sqlite",
    }
}

/// Appends about `events` events from `users` shoppers over the last 30 days: sessions of
/// messages and replies, views, prices, intents and orders, as the bot writes them.
pub(crate) async fn fill(store: &EventStore, events: u64, users: u64) -> anyhow::Result<u64> {
    let bar = super::progress(events, "generating a log");
    let writers = 16u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, bar) = (store.clone(), bar.clone());
        let quota = events / writers;
        let my_users: Vec<u64> = (0..users).filter(|u| u % writers == w).collect();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(w);
            let usd = Currency::new("USD")?;
            let mut written = 0u64;
            let now = Utc::now();
            let mut i = 0usize;
            while written < quota && !my_users.is_empty() {
                let u = my_users[i % my_users.len()];
                i += 1;
                let user = UserId::new(Channel::Web, &format!("bench{u}"))?;
                let mut at = now - chrono::Duration::seconds(rng.random_range(0..30 * 86_400));
                let mut batch = vec![NewEvent::new(
                    ConversationStarted {
                        channel: Channel::Web,
                        username: Some(format!("shopper{u}")),
                        display_name: Some(format!("Shopper {u}")),
                        language: None,
                        returning: i > my_users.len(),
                    },
                    at,
                )];
                for m in 0..rng.random_range(2..8u32) {
                    at += chrono::Duration::seconds(rng.random_range(5..90));
                    let product = format!("product-{}", rng.random_range(0..30u32));
                    let price = Money {
                        amount_minor: rng.random_range(1_000..200_000),
                        currency: usd.clone(),
                    };
                    let step = rng.random_range(0..10u32);
                    batch.push(NewEvent::new(
                        MessageReceived {
                            kind: MessageKind::Text,
                            message_id: None,
                            text: Some(format!("message {m} about {product}")),
                            intent: Intent::ProductInfo,
                            sentiment: Sentiment::Neutral,
                            product_id: Some(product.clone()),
                            language: Some("en".into()),
                            understood_by: events_schema::UnderstoodBy::Rules,
                        },
                        at,
                    ));
                    batch.push(NewEvent::new(
                        ProductViewed {
                            product_id: product.clone(),
                            source: ViewSource::Mention,
                        },
                        at,
                    ));
                    if step >= 5 {
                        batch.push(NewEvent::new(
                            PriceInquired {
                                product_id: product.clone(),
                                price: price.clone(),
                            },
                            at,
                        ));
                    }
                    if step >= 8 {
                        batch.push(NewEvent::new(
                            PurchaseIntended {
                                product_id: product.clone(),
                                quantity: 1,
                                unit_price: price.clone(),
                            },
                            at,
                        ));
                    }
                    if step == 9 {
                        batch.push(NewEvent::new(
                            OrderPlaced {
                                order_id: format!("ord-{w}-{i}-{m}"),
                                lines: vec![OrderLine {
                                    product_id: product.clone(),
                                    quantity: 1,
                                    unit_price: price.clone(),
                                }],
                                total: price.clone(),
                                payment: PaymentMethod::ChatConfirmation,
                                contact: None,
                            },
                            at,
                        ));
                    }
                    batch.push(NewEvent::new(
                        BotReplied {
                            channel: Channel::Web,
                            in_reply_to: None,
                            chat_id: None,
                            text: Some(format!("Here is {product}.")),
                            buttons: Vec::new(),
                            products: vec![product],
                        },
                        at,
                    ));
                }
                let n = batch.len() as u64;
                store
                    .append(&user.stream_id(), ExpectedVersion::Any, batch)
                    .await?;
                written += n;
                bar.inc(n);
            }
            anyhow::Ok(written)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    bar.finish_and_clear();
    Ok(total)
}

/// Linux: clears the process's peak RSS (VmHWM), so it measures what follows.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// CPU seconds so far: this process's (user + system) and the whole machine's busy time (every
/// core: Postgres, NATS and whatever else runs).
fn cpu_seconds() -> (f64, f64) {
    // Clock ticks: USER_HZ, 100 on Linux.
    let ticks = |fields: &[&str]| -> f64 {
        fields
            .iter()
            .filter_map(|f| f.parse::<f64>().ok())
            .sum::<f64>()
            / 100.0
    };
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(ticks(fields.get(11..13)?))
        })
        .unwrap_or(0.0);
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let fields: Vec<&str> = s.lines().next()?.split_whitespace().skip(1).collect();
            // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
            let busy: Vec<&str> = fields
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
                .map(|(_, f)| *f)
                .collect();
            Some(ticks(&busy))
        })
        .unwrap_or(0.0);
    (own, machine)
}

fn rss_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The distributed system in this process: scratch Postgres, private nats-server, the bot's
/// HTTP routes, the relay and one projector worker holding every partition.
struct System {
    url: String,
    store: EventStore,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _nats: ScratchNats,
    db: testkit::ScratchDatabase,
}

impl System {
    async fn start(config: &Config) -> anyhow::Result<System> {
        let db = super::scratch(BenchBackend::Postgres, config).await?;
        let store = db.open().await.context("opening the scratch store")?;
        let nats_server = ScratchNats::spawn_new()
            .await
            .map_err(|e| anyhow::anyhow!("starting a private nats-server: {e}"))?;
        let settings = StreamSettings {
            replicas: 1,
            max_age: None,
            partitions: PARTITIONS,
        };
        let nats = Nats::connect(&nats_server.url(), "salesbot-bench", settings, true).await?;
        let catalog = Arc::new(crate::commands::load_catalog(config)?);
        let service = crate::simulate::service(store.clone(), catalog);
        let applier = projector::Applier::live(store.pool().clone(), chrono_tz::UTC, PARTITIONS);
        projector::worker::prepare(&applier, chrono_tz::UTC).await?;
        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(event_store::transport::run_relay(
            store.clone(),
            nats.clone(),
            stop.subscribe(),
        )));
        let worker = projector::worker::run_workers(
            store.clone(),
            nats,
            applier,
            "bench".into(),
            stop.subscribe(),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(error) = worker.await {
                tracing::error!(%error, "bench projector stopped");
            }
        }));
        let (acceptor, addr) = super::loopback().await?;
        let app = super::chat_routes(service);
        let mut stopped = stop.subscribe();
        tasks.push(tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(
                    app,
                    async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    },
                    None,
                )
                .await;
        }));
        let system = System {
            url: format!("http://{addr}/api/messages"),
            store,
            stop,
            tasks,
            _nats: nats_server,
            db,
        };
        system.wait_owned().await?;
        Ok(system)
    }

    /// Until the worker holds every partition.
    async fn wait_owned(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let p = self
                .store
                .progress(event_store::progress::STALE_AFTER)
                .await?;
            if p.partitions.iter().filter(|x| !x.stalled).count()
                == (PARTITIONS as usize) * projector::Projection::ALL.len()
            {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "the projector did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The head position, its event's partition, and each partition's lowest checkpoint over
    /// every projection.
    async fn positions(&self) -> anyhow::Result<(i64, u32, Vec<i64>)> {
        let Pool::Postgres(p) = self.store.pool() else {
            anyhow::bail!("the pipeline benchmarks run on Postgres");
        };
        let (head, stream): (i64, Option<String>) = sqlx::query_as(
            "SELECT h.position, (SELECT stream_id FROM events WHERE global_position = h.position) \
             FROM log_head h",
        )
        .fetch_one(p)
        .await?;
        let rows: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT partition, MIN(position) FROM projection_checkpoints GROUP BY partition",
        )
        .fetch_all(p)
        .await?;
        let mut applied = vec![0; PARTITIONS as usize];
        for (partition, position) in rows {
            if let Some(slot) = applied.get_mut(usize::try_from(partition).unwrap_or(usize::MAX)) {
                *slot = position;
            }
        }
        let partition = stream
            .and_then(|s| events_schema::StreamId::new(s).ok())
            .map_or(0, |s| s.partition(PARTITIONS));
        Ok((head, partition, applied))
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.close().await;
        drop(self.db);
    }
}

/// Samples the head every 2 ms until `done`: when each new head event was first seen
/// committed, and when its partition's checkpoint (lowest over the projections) first covered
/// it. Every projection commits a batch together, so that is when it became visible everywhere.
async fn watch_lag(
    system: &System,
    done: &mut watch::Receiver<bool>,
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
        if *done.borrow() && committed.is_empty() {
            return Ok((latency, worst));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub async fn lag(config: &Config, args: &BenchLagArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be a positive number of messages per second"
    );
    let system = System::start(config).await?;
    let result = async {
        let (done_tx, mut done) = watch::channel(false);
        let messages = (args.rate * args.seconds as f64).round() as u64;
        let chat = super::chat::load_on(
            &system.url,
            args.users,
            messages,
            Some(args.rate),
            "lag",
            crate::cli::ChatMix::English,
        );
        let watcher = watch_lag(&system, &mut done);
        let sent = async {
            let r = chat.await;
            let _ = done_tx.send(true);
            r
        };
        let (sent, watched) = tokio::join!(sent, watcher);
        let (rate, reply_latency, _) = sent?;
        let (lag, worst) = watched?;
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
        let (done_tx, mut done) = watch::channel(false);
        let started = Instant::now();
        let chat = super::chat::load_on(
            &system.url,
            args.users,
            args.messages,
            None,
            "pipeline",
            crate::cli::ChatMix::English,
        );
        let watcher = watch_lag(&system, &mut done);
        let sent = async {
            let r = chat.await;
            let _ = done_tx.send(true);
            r
        };
        let (sent, watched) = tokio::join!(sent, watcher);
        let (accepted_rate, _, sending) = sent?;
        let (lag, worst) = watched?;
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
