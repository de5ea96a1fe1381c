//! The distributed system a lag or pipeline benchmark runs against, all in this process:
//! its start (every partition owned), the positions it samples, and its stop.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use event_store::transport::{Nats, StreamSettings};
use event_store::{EventStore, Pool};
use testkit::ScratchNats;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::PARTITIONS;
use crate::cli::BenchBackend;
use crate::config::Config;

/// The distributed system in this process: scratch Postgres, private nats-server, the bot's
/// HTTP routes, the relay and one projector worker holding every partition.
pub(super) struct System {
    pub(super) url: String,
    pub(super) store: EventStore,
    /// Cancels every part when dropped: by [`System::stop`], or when start-up fails.
    stop: DropGuard,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _nats: ScratchNats,
    db: testkit::ScratchDatabase,
}

impl System {
    pub(super) async fn start(config: &Config) -> anyhow::Result<System> {
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
        let service = crate::simulate::service(store.clone(), catalog);
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
        let app = crate::bench::chat_routes(service);
        let stopped = stop.child_token();
        tasks.push(tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stopped.cancelled_owned(), None)
                .await;
        }));
        let system = System {
            url: format!("http://{addr}/api/messages"),
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
