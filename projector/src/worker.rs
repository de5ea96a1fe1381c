//! Running the projector.
//!
//! - [`run_embedded`]: one task follows the log itself (in-process transport) and applies it to
//!   every partition at once: `salesbot serve` on SQLite.
//! - [`run_workers`]: a worker process (`projector`, or `salesbot serve` in distributed mode)
//!   takes partitions under leases and reads each through its JetStream consumer. Partitions are
//!   shared out among the live workers; a dead worker's leases fall free with its database
//!   connection and the others take its partitions over.
//!
//! Both heartbeat each partition they own, with how far it is known complete, into
//! `projector_heartbeats`: `salesbot check`, `/metrics` and the query API read lag from there,
//! and a worker that stops heartbeating shows as stalled, never as caught up.

use std::collections::HashMap;
use std::time::Duration;

use event_store::progress::record as progress;
use event_store::transport::{self, LogTail, Nats};
use event_store::{EventStore, Pool, db};
use tokio_util::sync::CancellationToken;

use crate::apply::{Applier, Coverage, ProjectorError};
use crate::follow::Follow;
use crate::model::Projection;

/// Events per batch.
pub const BATCH: usize = 1_000;
const HEARTBEAT: Duration = Duration::from_secs(1);
/// A worker (or partition) silent for this long is dead or stalled.
pub use event_store::progress::STALE_AFTER;

/// A unique name for this worker process.
pub fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..6]
    )
}

/// Checks (or, on a fresh database, records) what the read models are built with, and makes
/// sure every checkpoint row exists.
pub async fn prepare(applier: &Applier, tz: chrono_tz::Tz) -> Result<(), ProjectorError> {
    let settings = [
        ("report_timezone", tz.name().to_owned()),
        ("partitions", applier.partitions().to_string()),
    ];
    let mut tx = crate::apply::begin(applier.pool()).await?;
    for (name, value) in &settings {
        db::query(
            "INSERT INTO projection_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(*name)
        .bind(value)
        .execute(&mut tx)
        .await?;
    }
    let names: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
    progress::ensure_checkpoints(&mut tx, &names, applier.partitions()).await?;
    tx.commit().await?;
    let stored = read_settings(applier.pool()).await?;
    for (name, value) in &settings {
        let built = stored.get(*name).map(String::as_str).unwrap_or_default();
        if built != value {
            let variable = match *name {
                "report_timezone" => "REPORT_TIMEZONE",
                _ => "PARTITIONS",
            };
            return Err(ProjectorError::Config(format!(
                "{variable} is {value}, but the read models were built with {built}; \
                 run `salesbot rebuild` to rebuild them with the new setting"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn read_settings(pool: &Pool) -> Result<HashMap<String, String>, sqlx::Error> {
    let sql = "SELECT name, value FROM projection_settings";
    let rows: Vec<(String, String)> = db::query(sql).fetch_all(pool).await?;
    Ok(rows.into_iter().collect())
}

/// Embedded mode: follows the log in this process and applies it to every partition, until
/// `shutdown` is cancelled. The batch in flight is finished first.
pub async fn run_embedded(
    store: EventStore,
    applier: Applier,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    // Events a newer release wrote are parked with a warning, never a stop (README,
    // "Upgrading"); the checkpoint moves past them, and they are applied once they decode.
    let store = store.skipping_newer();
    let worker = worker_id();
    let mut backoff = Duration::from_millis(200);
    loop {
        match follow_log(&store, &applier, &worker, &shutdown).await {
            Ok(()) => return Ok(()),
            Err(error) => {
                // A busy or briefly unreachable database: start again from the checkpoints.
                tracing::warn!(%error, retry_in = ?backoff, "projector interrupted");
                let _ = tokio::time::timeout(backoff, shutdown.cancelled()).await;
                if shutdown.is_cancelled() {
                    return Ok(());
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn follow_log(
    store: &EventStore,
    applier: &Applier,
    worker: &str,
    shutdown: &CancellationToken,
) -> Result<(), ProjectorError> {
    let all: Vec<u32> = (0..applier.partitions()).collect();
    let (start, _) = progress::lowest_checkpoint(applier.pool(), &all).await?;
    let mut tail = LogTail::new(store.clone(), start);
    let mut applied = start;
    let mut beat = tokio::time::interval(HEARTBEAT);
    tracing::info!(after = start, "projector following the log in process");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = beat.tick() => {
                applier.retry_parked(store, &all).await?;
                progress::heartbeat(applier.pool(), worker, &all, applied, 0, None).await?;
            }
            batch = tail.next_batch(BATCH) => {
                let batch = batch?;
                let through = batch.last().map_or(applied, |e| e.global_position);
                let coverage = Coverage { partitions: all.clone(), through, stream_seq: None };
                applier.apply_or_park(store, batch, &coverage).await?;
                applied = through;
            }
        }
    }
}

/// A worker process: shares the partitions with the other live workers and projects the ones
/// it holds from JetStream, until `shutdown` is cancelled. Each partition it holds runs on a
/// child of `shutdown`, so a shutdown reaches them all at once, each finishing its batch.
pub async fn run_workers(
    store: EventStore,
    nats: Nats,
    applier: Applier,
    worker: String,
    shutdown: CancellationToken,
) -> Result<(), ProjectorError> {
    // As in `run_embedded`: what a newer release wrote is parked, never a stop.
    let store = store.skipping_newer();
    let partitions = applier.partitions();
    let mut owned: HashMap<u32, Owned> = HashMap::new();
    let mut tick = tokio::time::interval(HEARTBEAT);
    tracing::info!(%worker, partitions, "projector worker started");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        if let Err(error) = rebalance(&store, &nats, &applier, &worker, &shutdown, &mut owned).await
        {
            tracing::warn!(%error, "projector: rebalancing failed; retrying");
        }
    }
    for (_, o) in owned.drain() {
        o.stop.cancel();
        let _ = o.task.await;
    }
    let _ = progress::deregister_worker(applier.pool(), &worker).await;
    Ok(())
}

struct Owned {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

async fn rebalance(
    store: &EventStore,
    nats: &Nats,
    applier: &Applier,
    worker: &str,
    shutdown: &CancellationToken,
    owned: &mut HashMap<u32, Owned>,
) -> Result<(), ProjectorError> {
    let partitions = applier.partitions();
    let live = progress::register_worker(applier.pool(), worker)
        .await?
        .max(1);
    let fair = partitions.div_ceil(live) as usize;
    owned.retain(|partition, o| {
        if o.task.is_finished() {
            tracing::info!(partition, "partition task ended; will take it again");
            false
        } else {
            true
        }
    });
    while owned.len() > fair {
        // Hand the highest partition back: it finishes its batch and drops its lease.
        let Some(&partition) = owned.keys().max() else {
            break;
        };
        if let Some(o) = owned.remove(&partition) {
            tracing::info!(
                partition,
                fair,
                live,
                "handing a partition to another worker"
            );
            o.stop.cancel();
            let _ = o.task.await;
        }
    }
    for partition in 0..partitions {
        if owned.len() >= fair {
            break;
        }
        if owned.contains_key(&partition) {
            continue;
        }
        let Some(lease) = store.try_lease(&format!("projector-{partition}")).await? else {
            continue;
        };
        tracing::info!(partition, %worker, "took partition");
        let stop = shutdown.child_token();
        let task = tokio::spawn(run_partition(
            store.clone(),
            nats.clone(),
            applier.clone(),
            worker.to_owned(),
            partition,
            lease,
            stop.clone(),
        ));
        owned.insert(partition, Owned { stop, task });
    }
    Ok(())
}

/// Projects one partition while holding its lease, until told to stop or the lease is lost.
async fn run_partition(
    store: EventStore,
    nats: Nats,
    applier: Applier,
    worker: String,
    partition: u32,
    mut lease: event_store::Lease,
    stop: CancellationToken,
) {
    let mut backoff = Duration::from_millis(200);
    while !stop.is_cancelled() {
        match project_partition(
            &store, &nats, &applier, &worker, partition, &mut lease, &stop,
        )
        .await
        {
            Ok(()) => return,
            Err(error) => {
                if !lease.is_held().await {
                    tracing::warn!(partition, %error, "partition lease lost; giving it up");
                    return;
                }
                tracing::warn!(partition, %error, retry_in = ?backoff, "partition interrupted");
                // Health tells at once, not only when the heartbeats have gone stale.
                let (position, _) = progress::lowest_checkpoint(applier.pool(), &[partition])
                    .await
                    .unwrap_or_default();
                let fault = Some(crate::follow::INTERRUPTED);
                let _ =
                    progress::heartbeat(applier.pool(), &worker, &[partition], position, 0, fault)
                        .await;
                let _ = tokio::time::timeout(backoff, stop.cancelled()).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn project_partition(
    store: &EventStore,
    nats: &Nats,
    applier: &Applier,
    worker: &str,
    partition: u32,
    lease: &mut event_store::Lease,
    stop: &CancellationToken,
) -> Result<(), ProjectorError> {
    let (position, seq) = progress::lowest_checkpoint(applier.pool(), &[partition]).await?;
    let mut follow = Follow::new(store, applier, partition, position, seq);
    let mut feed = follow.open(nats).await?;
    let mut beat = tokio::time::interval(HEARTBEAT);
    let mut beats = 0u32;
    loop {
        tokio::select! {
            () = stop.cancelled() => return Ok(()),
            _ = beat.tick() => {
                beats += 1;
                if beats.is_multiple_of(5) && !lease.is_held().await {
                    return Err(ProjectorError::Config("lease lost".into()));
                }
                // Read the relay's checkpoint first: if nothing of this partition is
                // unfinished in the stream afterwards, the store says whether every event of
                // it up to there has come.
                follow.retry_parked().await?;
                let relayed = store.checkpoint(transport::RELAY).await?.unwrap_or(0);
                let unfinished = feed.unfinished().await?;
                if unfinished == 0 {
                    follow.check_idle(relayed).await?;
                }
                progress::heartbeat(
                    applier.pool(),
                    worker,
                    &[partition],
                    follow.caught_up_to,
                    unfinished,
                    follow.fault(),
                )
                .await?;
            }
            batch = feed.next_batch(BATCH) => {
                if follow.apply_delivered(batch?).await? {
                    feed = follow.open(nats).await?;
                }
            }
        }
    }
}
