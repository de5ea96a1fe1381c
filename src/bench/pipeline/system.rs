//! The distributed system a lag, pipeline or soak benchmark runs against, all in this process:
//! its start (every partition owned), the positions it samples, and its stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use event_store::transport::{Nats, StreamSettings};
use event_store::{EventStore, Pool};
use testkit::ScratchNats;
use tokio_util::sync::{CancellationToken, DropGuard};

use command_service::telegram::outbox::SenderHealth;
use command_service::telegram::{Telegram, TelegramConfig};

use super::PARTITIONS;
use crate::cli::BenchBackend;
use crate::config::Config;

/// The bot's token at the Bot API stand-in (`<bot id>:<secret>`).
pub(super) const BOT_TOKEN: &str = "7000000001:soak-token";
/// The webhook's `X-Telegram-Bot-Api-Secret-Token`.
pub(super) const WEBHOOK_SECRET: &str = "salesbot-benchmark-webhook-secret";

/// The distributed system in this process: scratch Postgres, private nats-server, the bot's
/// HTTP routes, the relay and one projector worker holding every partition; with
/// [`System::start_with_telegram`] also the Telegram webhook and the outbox sender.
pub(super) struct System {
    /// The web chat's `POST /api/messages`.
    pub(super) url: String,
    /// `POST /telegram/webhook`, when Telegram is on.
    pub(super) webhook: Option<String>,
    pub(super) store: EventStore,
    /// Cancels every part when dropped: by [`System::stop`], or when start-up fails.
    stop: DropGuard,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _nats: ScratchNats,
    db: testkit::ScratchDatabase,
}

impl System {
    pub(super) async fn start(config: &Config) -> anyhow::Result<System> {
        System::start_with(config, None).await
    }

    /// Also Telegram: the bot connects to the Bot API at `api` (`getMe`, `setWebhook`), takes
    /// updates on its webhook (secret [`WEBHOOK_SECRET`]) and sends replies through the outbox.
    pub(super) async fn start_with_telegram(
        config: &Config,
        api: url::Url,
    ) -> anyhow::Result<System> {
        System::start_with(config, Some(api)).await
    }

    async fn start_with(config: &Config, telegram: Option<url::Url>) -> anyhow::Result<System> {
        let db = crate::bench::scratch(BenchBackend::Postgres, config).await?;
        let store = db.open().await.context("opening the scratch store")?;
        let nats_server = ScratchNats::spawn_new()
            .await
            .map_err(|e| anyhow::anyhow!("starting a private nats-server: {e}"))?;
        let settings = StreamSettings {
            replicas: 1,
            max_age: None,
            ack_wait: event_store::transport::DEFAULT_ACK_WAIT,
            partitions: PARTITIONS,
        };
        let nats = Nats::connect(&nats_server.url(), "salesbot-bench", settings, true).await?;
        let catalog = Arc::new(crate::commands::load_catalog(config)?);
        let service = crate::simulate::service(store.clone(), catalog)
            .with_user_rate(crate::bench::RAISED_LIMIT);
        let applier = projector::Applier::live(&store, chrono_tz::UTC, PARTITIONS);
        projector::worker::prepare(&applier, chrono_tz::UTC).await?;
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(event_store::transport::run_relay(
            store.clone(),
            nats.clone(),
            stop.child_token(),
        )));
        let worker = projector::worker::run_workers(
            store.clone(),
            nats,
            applier,
            "bench".into(),
            stop.child_token(),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(error) = worker.await {
                tracing::error!(%error, "bench projector stopped");
            }
        }));
        let (acceptor, addr) = crate::bench::loopback().await?;
        let tg = match telegram {
            Some(api) => {
                let tg = Telegram::connect(
                    &TelegramConfig {
                        token: BOT_TOKEN.into(),
                        api_url: Some(api),
                        webhook_url: Some(format!("https://{addr}/telegram/webhook").parse()?),
                        webhook_secret: Some(WEBHOOK_SECRET.into()),
                        payment_provider_token: None,
                    },
                    service.clone(),
                )
                .await
                .context("connecting to the Bot API")?;
                command_service::telegram::outbox::prepare(&store).await?;
                tasks.push(tokio::spawn(command_service::telegram::outbox::run(
                    store.clone(),
                    tg.sender(),
                    None,
                    service.appended(),
                    SenderHealth::new(),
                    stop.child_token(),
                )));
                Some(tg)
            }
            None => None,
        };
        let webhook = tg
            .as_ref()
            .map(|_| format!("http://{addr}/telegram/webhook"));
        let app = command_service::routes(service, tg, crate::bench::web_config());
        let stopped = stop.child_token();
        tasks.push(tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stopped.cancelled_owned(), None)
                .await;
        }));
        let system = System {
            url: format!("http://{addr}/api/messages"),
            webhook,
            store,
            stop: stop.drop_guard(),
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
    pub(super) async fn positions(&self) -> anyhow::Result<(i64, u32, Vec<i64>)> {
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

    pub(super) async fn stop(self) {
        drop(self.stop);
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.close().await;
        drop(self.db);
    }
}
