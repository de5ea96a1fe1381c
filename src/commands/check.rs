//! `salesbot check`: one line per part (database, migrations, master key, events, head
//! position, NATS and the stream, the relay, each projection's lag and heartbeat, the Telegram
//! outbox sender); a non-zero
//! exit when any is unhealthy. Changes nothing.

use std::process::ExitCode;

use event_store::{BackendKind, EventStore, Migrations, StoreError};

use crate::config::Config;

fn line(name: &str, ok: bool, detail: &str) {
    println!("{name}: {} {detail}", if ok { "ok" } else { "FAIL" });
}

pub async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let url = &config.database_url;
    if url.kind() == BackendKind::Sqlite
        && let Some(path) = url.sqlite_dir().map(|d| d.join("master.key"))
        && config.master_key.is_none()
        && !path.exists()
    {
        line(
            "database",
            false,
            &format!("({url}) has never been started: run `salesbot migrate` or `salesbot`"),
        );
        return Ok(ExitCode::FAILURE);
    }
    let store_config = match config.store_config() {
        Ok(c) => c,
        Err(e) => {
            line("master key", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let status = match EventStore::inspect(&store_config).await {
        Ok(status) => {
            line("database", true, &format!("({url})"));
            status
        }
        Err(e @ StoreError::Unreachable { .. }) => {
            line("database", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            line("database", true, &format!("({url})"));
            line("migrations", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let applied = format!("{} of {} applied", status.applied.len(), status.known);
    if !status.pending.is_empty() {
        line(
            "migrations",
            false,
            &format!("{applied}; run `salesbot migrate`"),
        );
        return Ok(ExitCode::FAILURE);
    }
    line("migrations", true, &applied);
    let store = match EventStore::open_with(&store_config, Migrations::Require).await {
        Ok(store) => {
            line("master key", true, "matches this database");
            store
        }
        Err(e) => {
            line("master key", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let result = async {
        let stats = store.stats().await?;
        line("events", true, &stats.events.to_string());
        line("head position", true, &stats.head_position.to_string());
        Ok::<_, StoreError>(())
    }
    .await;
    if let Err(e) = result {
        line("events", false, &e.to_string());
        store.close().await;
        return Ok(ExitCode::FAILURE);
    }
    let mut healthy = true;
    if config.nats_url.is_some() {
        healthy &= check_nats(config).await;
    }
    healthy &= check_followers(&store, config.nats_url.is_some()).await;
    healthy &= check_parked(&store).await;
    healthy &= check_telegram_sender(&store, config.telegram_bot_token.is_some()).await;
    store.close().await;
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn check_nats(config: &Config) -> bool {
    let nats = match tokio::time::timeout(
        std::time::Duration::from_secs(5),
        super::connect_nats(config, "salesbot-check", true),
    )
    .await
    {
        Ok(Ok(Some(nats))) => nats,
        Ok(Ok(None)) => return true,
        Ok(Err(e)) => {
            line("nats", false, &format!("{e:#}"));
            return false;
        }
        Err(_) => {
            line("nats", false, "no answer within 5 s");
            return false;
        }
    };
    line("nats", true, "connected");
    match nats.stream_state().await {
        Ok(Some(state)) => {
            line(
                "stream",
                true,
                &format!(
                    "{} holds {} messages, last sequence {}",
                    event_store::transport::STREAM_NAME,
                    state.messages,
                    state.last_sequence
                ),
            );
            true
        }
        Ok(None) => {
            line(
                "stream",
                false,
                &format!(
                    "{} does not exist yet: start command-service (or salesbot) to create it",
                    event_store::transport::STREAM_NAME
                ),
            );
            false
        }
        Err(e) => {
            line("stream", false, &e.to_string());
            false
        }
    }
}

/// The relay (distributed mode) and every projection on every partition.
async fn check_followers(store: &EventStore, distributed: bool) -> bool {
    let progress = match store.progress(crate::metrics::STALE_AFTER).await {
        Ok(p) => p,
        Err(e) => {
            line("projections", false, &e.to_string());
            return false;
        }
    };
    let mut healthy = true;
    if distributed {
        match &progress.relay {
            Some(relay) => {
                // Events waiting longer than the threshold: no command service relays.
                healthy &= !progress.relay_stalled;
                line(
                    "relay",
                    !progress.relay_stalled,
                    &format!(
                        "published through position {} ({} behind), last at {}{}",
                        relay.position,
                        relay.lag_events,
                        relay.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
                        if progress.relay_stalled {
                            "; events wait unpublished: is command-service running?"
                        } else {
                            ""
                        }
                    ),
                );
            }
            None if progress.head == 0 => line("relay", true, "nothing to publish yet"),
            None => {
                healthy = false;
                line(
                    "relay",
                    false,
                    "has never published: is command-service (or salesbot) running?",
                );
            }
        }
    }
    if progress.partitions.is_empty() && progress.head == 0 {
        line("projections", true, "nothing to project yet");
        return healthy;
    }
    if progress.partitions.is_empty() {
        line(
            "projections",
            false,
            "the projector has never run: start salesbot (or the projector)",
        );
        return false;
    }
    let now = chrono::Utc::now();
    let mut by_projection: std::collections::BTreeMap<&str, Vec<_>> = Default::default();
    for p in &progress.partitions {
        by_projection
            .entry(p.projection.as_str())
            .or_default()
            .push(p);
    }
    for (projection, parts) in by_projection {
        let degraded: Vec<String> = parts
            .iter()
            .filter_map(|p| {
                let why = if p.stalled {
                    match p.heartbeat_at {
                        None => "never heartbeated".to_owned(),
                        Some(at)
                            if (now - at).to_std().unwrap_or_default()
                                > crate::metrics::STALE_AFTER =>
                        {
                            format!("silent for {:.0} s", (now - at).as_seconds_f64())
                        }
                        Some(_) => format!(
                            "makes no progress while events wait ({:.0} s behind)",
                            p.lag_seconds
                        ),
                    }
                } else if p.parked > 0 {
                    format!("has {} parked events", p.parked)
                } else {
                    fault_text(p.fault.as_deref()?).to_owned()
                };
                Some(format!("partition {} {why}", p.partition))
            })
            .collect();
        let lag_events = parts.iter().map(|p| p.lag_events).max().unwrap_or(0);
        let lag_seconds = parts.iter().map(|p| p.lag_seconds).fold(0.0, f64::max);
        let checkpoint = parts.iter().map(|p| p.checkpoint).min().unwrap_or(0);
        let detail = format!(
            "{} partitions, checkpoint >= {checkpoint}, lag {lag_events} events / {lag_seconds:.1} s",
            parts.len()
        );
        if degraded.is_empty() {
            line(&format!("projection {projection}"), true, &detail);
        } else {
            healthy = false;
            line(
                &format!("projection {projection}"),
                false,
                &format!("{detail}; degraded: {}", degraded.join(", ")),
            );
        }
    }
    healthy
}

/// Events the projector parked, with the first reasons: the line fails while any are.
async fn check_parked(store: &EventStore) -> bool {
    use event_store::progress::parked;
    let (counts, first) = match tokio::try_join!(
        parked::counts(store.pool()),
        parked::list(store.pool(), None, 3)
    ) {
        Ok(found) => found,
        Err(error) => {
            line("parked events", false, &format!("cannot read: {error}"));
            return false;
        }
    };
    let total: i64 = counts.values().sum();
    if total == 0 {
        line("parked events", true, "none");
        return true;
    }
    let examples: Vec<String> = first
        .iter()
        .map(|p| {
            format!(
                "position {} ({}, partition {}): {}",
                p.global_position, p.event_type, p.partition, p.reason
            )
        })
        .collect();
    line(
        "parked events",
        false,
        &format!(
            "{total} parked, applied once they decode (GET /admin/parked-events); {}",
            examples.join("; ")
        ),
    );
    false
}

/// What a partition's fault means, for an operator (docs/architecture.md, "Projecting").
fn fault_text(fault: &str) -> &str {
    match fault {
        "stream_gap" => {
            "lacked events in the stream (deleted, trimmed or purged); applying them from the store"
        }
        "interrupted" => "cannot follow the stream (NATS or the database failing); retrying",
        other => other,
    }
}

/// The Telegram outbox sender, as its lease holder last reported itself (`follower_status`), and
/// how far its checkpoint is behind the log's head. Unhealthy when it is failing, or when replies
/// wait and no holder has reported for [`crate::metrics::STALE_AFTER`].
async fn check_telegram_sender(store: &EventStore, configured: bool) -> bool {
    use command_service::telegram::outbox::CHECKPOINT;
    use event_store::progress::followers::HolderState;
    const NAME: &str = "telegram sender";
    let status = match store.follower_status(CHECKPOINT).await {
        Ok(status) => status,
        Err(e) => {
            line(NAME, false, &e.to_string());
            return false;
        }
    };
    // How far the sender is behind the log (unknown when its checkpoint cannot be read).
    let checkpoint = store.checkpoint(CHECKPOINT).await;
    let behind = match (&checkpoint, store.head_position().await) {
        (Ok(Some(c)), Ok(head)) => Some((head - c).max(0)),
        (Ok(None), Ok(_)) => Some(0),
        _ => None,
    };
    let waiting = behind != Some(0);
    let behind = match (behind, &checkpoint) {
        (Some(n), _) => format!("{n} log events not yet passed"),
        (None, Err(e)) => format!("its checkpoint cannot be read: {e}"),
        (None, Ok(_)) => "the log's head cannot be read".to_owned(),
    };
    let Some(status) = status else {
        if configured || matches!(checkpoint, Ok(Some(_))) {
            line(NAME, true, "has not held its lease yet");
        }
        return true;
    };
    let now = chrono::Utc::now();
    let seconds = |at: chrono::DateTime<chrono::Utc>| (now - at).as_seconds_f64().max(0.0);
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let silent = seconds(status.updated_at) > crate::metrics::STALE_AFTER.as_secs_f64();
    let (ok, detail) = match status.state {
        HolderState::Failing => (
            false,
            format!(
                "failing since {} ({:.0} s) on {}: {}; {behind}",
                when(status.failing_since.unwrap_or(status.since)),
                seconds(status.failing_since.unwrap_or(status.since)),
                status.instance,
                status.error.as_deref().unwrap_or("unknown error"),
            ),
        ),
        HolderState::Holding if silent => (
            !waiting,
            format!(
                "the holder {} has been silent for {:.0} s; {behind}",
                status.instance,
                seconds(status.updated_at)
            ),
        ),
        HolderState::Holding => (
            true,
            format!(
                "holding on {} (epoch {}) since {}; {behind}",
                status.instance,
                status.epoch,
                when(status.since)
            ),
        ),
        HolderState::Released => (
            !waiting,
            format!(
                "no instance holds the lease (released at {}); {behind}",
                when(status.since)
            ),
        ),
    };
    line(NAME, ok, &detail);
    ok
}
