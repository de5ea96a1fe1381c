//! How far the log's followers have got: the outbox relay, and each projection on each
//! partition (checkpoint, heartbeat, lag in events and seconds). Read by `salesbot check`,
//! `/metrics` and the admin API; written by the relay ([`EventStore::save_checkpoint`]) and by
//! the projector through [`record`], so the progress tables have this one owner.
//!
//! A partition whose worker has not heartbeated for `stale_after` is *stalled*: its lag keeps
//! growing from its last checkpoint, so a dead worker never looks caught up. So is one whose
//! worker heartbeats but has not moved for `stale_after` while an event older than that waits:
//! stall detection follows progress, not only heartbeats (a wedged batch retried forever).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{EventStore, StoreError, db};

pub mod followers;
pub mod parked;
pub mod record;

/// A worker (or partition) silent for this long is dead or stalled: the one threshold every
/// reader of progress uses (the projector's heartbeat, `/metrics`, the admin API's health and
/// live updates, `salesbot check`).
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// One projection on one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionProgress {
    pub projection: String,
    pub partition: u32,
    /// Events at or below this position are applied (and committed with the tables).
    pub checkpoint: i64,
    /// Every event of the partition up to here is applied (the checkpoint, or further when the
    /// partition has had no events since).
    pub caught_up_to: i64,
    /// Log positions between `caught_up_to` and the head (an upper bound of the events still
    /// to apply).
    pub lag_events: i64,
    /// Age of the oldest event not known applied; 0 when caught up.
    pub lag_seconds: f64,
    pub worker: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// No heartbeat for longer than `stale_after` (or never), or no progress for that long
    /// while an event older than that waits.
    pub stalled: bool,
    /// What its worker reports wrong with it (`stream_gap`, `interrupted`), if anything.
    pub fault: Option<String>,
    /// Events of the partition parked because they cannot be decoded
    /// ([`parked`]); the partition is degraded while any are.
    pub parked: i64,
}

/// The relay's progress (distributed mode).
#[derive(Debug, Clone, PartialEq)]
pub struct RelayProgress {
    pub position: i64,
    pub lag_events: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub head: i64,
    pub relay: Option<RelayProgress>,
    /// An event has waited unpublished for longer than `stale_after`: no relay runs (every
    /// command service down) or it cannot publish. Meaningful in distributed mode only, where
    /// a relay should run; judged by the waiting event's age, not by when the relay last wrote,
    /// so an idle relay that has just been handed an event is not taken for a dead one.
    pub relay_stalled: bool,
    pub partitions: Vec<PartitionProgress>,
}

impl Progress {
    /// The worst lag over every projection and partition.
    pub fn max_lag(&self) -> (i64, f64) {
        self.partitions.iter().fold((0, 0.0), |(e, s), p| {
            (e.max(p.lag_events), s.max(p.lag_seconds))
        })
    }

    pub fn stalled(&self) -> impl Iterator<Item = &PartitionProgress> {
        self.partitions.iter().filter(|p| p.stalled)
    }

    /// Partitions stalled or reporting a fault: behind the store for a reason other than load.
    pub fn degraded(&self) -> impl Iterator<Item = &PartitionProgress> {
        self.partitions
            .iter()
            .filter(|p| p.stalled || p.fault.is_some() || p.parked > 0)
    }
}

type CheckpointRow = (String, i64, i64);
type HeartbeatRow = (i64, String, i64, i64, Option<String>, i64);

impl EventStore {
    /// Reads the followers' progress; `stale_after` is how long a silent worker counts as alive.
    pub async fn progress(&self, stale_after: Duration) -> Result<Progress, StoreError> {
        let head = self.head_position().await?;
        let relay = self.checkpoint_row(crate::transport::RELAY).await?;
        let checkpoints_sql = "SELECT projection, CAST(partition AS BIGINT), position \
                               FROM projection_checkpoints ORDER BY projection, partition";
        let heartbeats_sql = "SELECT CAST(partition AS BIGINT), worker, heartbeat_us, \
                              caught_up_to, fault, moved_us FROM projector_heartbeats";
        let checkpoints: Vec<CheckpointRow> =
            db::query(checkpoints_sql).fetch_all(self.pool()).await?;
        let heartbeats: Vec<HeartbeatRow> =
            db::query(heartbeats_sql).fetch_all(self.pool()).await?;
        let heartbeats: HashMap<i64, HeartbeatRow> =
            heartbeats.into_iter().map(|row| (row.0, row)).collect();
        let parked = parked::counts(self.pool()).await?;
        let now = Utc::now();
        let mut oldest_after: HashMap<i64, Option<DateTime<Utc>>> = HashMap::new();
        let mut partitions = Vec::with_capacity(checkpoints.len());
        for (projection, partition, checkpoint) in checkpoints {
            let beat = heartbeats.get(&partition);
            let heartbeat_at = beat.and_then(|b| DateTime::from_timestamp_micros(b.2));
            let older = |at: DateTime<Utc>| (now - at).to_std().unwrap_or_default() > stale_after;
            let silent = heartbeat_at.is_none_or(older);
            let moved_at = beat.and_then(|b| DateTime::from_timestamp_micros(b.5));
            let caught_up_to = checkpoint.max(beat.map_or(0, |b| b.3)).min(head);
            let lag_events = head - caught_up_to;
            let lag_seconds = if lag_events == 0 {
                0.0
            } else {
                let oldest = match oldest_after.get(&caught_up_to) {
                    Some(at) => *at,
                    None => {
                        let at = self.recorded_after(caught_up_to).await?;
                        oldest_after.insert(caught_up_to, at);
                        at
                    }
                };
                oldest.map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0))
            };
            // Heartbeating, but stuck: nothing applied for `stale_after` while an event older
            // than that waits.
            let stuck = lag_seconds > stale_after.as_secs_f64() && moved_at.is_some_and(older);
            partitions.push(PartitionProgress {
                projection,
                partition: u32::try_from(partition).unwrap_or(0),
                checkpoint,
                caught_up_to,
                lag_events,
                lag_seconds,
                worker: beat.map(|b| b.1.clone()),
                heartbeat_at,
                stalled: silent || stuck,
                fault: beat.and_then(|b| b.4.clone()),
                parked: u32::try_from(partition)
                    .ok()
                    .and_then(|p| parked.get(&p))
                    .copied()
                    .unwrap_or(0),
            });
        }
        let relayed = relay.as_ref().map_or(0, |(position, _)| *position);
        let relay_stalled = head > relayed
            && self
                .recorded_after(relayed)
                .await?
                .is_some_and(|at| (now - at).to_std().unwrap_or_default() > stale_after);
        Ok(Progress {
            head,
            relay_stalled,
            relay: relay.map(|(position, updated_at)| RelayProgress {
                position,
                lag_events: (head - position).max(0),
                updated_at,
            }),
            partitions,
        })
    }

    async fn checkpoint_row(&self, name: &str) -> Result<Option<(i64, DateTime<Utc>)>, StoreError> {
        Ok(
            db::query("SELECT position, updated_at FROM checkpoints WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// When the first event after `position` was recorded.
    async fn recorded_after(&self, position: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(db::query(
            "SELECT recorded_at FROM events WHERE global_position > $1 \
             ORDER BY global_position LIMIT 1",
        )
        .bind(position)
        .optional_scalar(self.pool())
        .await?)
    }
}
