//! Events the projector cannot decode are parked, never retried forever nor skipped
//! (docs/architecture.md, "Parked events"): a newer release wrote them during a rolling
//! upgrade, their key row is missing, or they are damaged. The partition goes on past them;
//! the later events of the same stream wait behind them, so each stream still applies in
//! order; once they decode (the upgrade done, the key row restored) they are applied, in order,
//! and unparked in the same transaction, so each counts once and the reconciliation ends exact.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use event_store::progress::parked::{self, ParkedEvent};
use event_store::{EventStore, StoredEvent, Unreadable};
use events_schema::{RecordedEvent, StreamId};

use crate::apply::{Applier, Checkpoints, Coverage, ProjectorError, begin};

/// Parked events one retry looks at, at most.
const RETRY_BATCH: i64 = 1_000;

impl Applier {
    /// Applies the store's `rows` (in position order) and moves the checkpoints of `coverage`,
    /// in one transaction, as [`Applier::apply`] does; except that an event that cannot be
    /// decoded is parked with its reason, and so is every later event of its stream while it
    /// waits. For the live tables only.
    pub async fn apply_or_park(
        &self,
        store: &EventStore,
        rows: Vec<StoredEvent>,
        coverage: &Coverage,
    ) -> Result<usize, ProjectorError> {
        if !self.live_checkpoints() {
            return Err(ProjectorError::Config(
                "only the live tables park events".into(),
            ));
        }
        let started = std::time::Instant::now();
        let total = rows.len();
        let opened = store.open_each(rows).await?;
        let mut tx = begin(self.pool()).await?;
        let done = self.lock_checkpoints(&mut tx, &coverage.partitions).await?;
        let mut blocked = parked::blocked_streams(&mut tx, &coverage.partitions).await?;
        let mut events = Vec::with_capacity(opened.len());
        let mut parking = Vec::new();
        for item in opened {
            let (position, stream_id, event_type) = match &item {
                Ok(e) => (
                    e.global_position,
                    e.stream_id.as_str().to_owned(),
                    e.event.event_type().as_str().to_owned(),
                ),
                Err(u) => (u.global_position, u.stream_id.clone(), u.event_type.clone()),
            };
            let partition = StreamId::new(stream_id.as_str())
                .map_or(coverage.partitions[0], |s| s.partition(self.partitions()));
            let behind = self.behind(&done, partition, position);
            if behind.is_empty() {
                // Applied before (a redelivery): nothing to do, parked or not.
                continue;
            }
            let reason = match (item, blocked.get(&stream_id)) {
                (Ok(event), None) => {
                    events.push(event);
                    continue;
                }
                (_, Some(first)) => {
                    format!("waits for the parked event at position {first} of the same stream")
                }
                (Err(Unreadable { reason, .. }), None) => reason,
            };
            tracing::warn!(
                position,
                partition,
                %stream_id,
                %event_type,
                %reason,
                "event parked: it cannot be applied yet"
            );
            blocked.entry(stream_id.clone()).or_insert(position);
            parking.push(ParkedEvent {
                global_position: position,
                partition,
                stream_id,
                event_type,
                projections: behind,
                reason,
                parked_at: Utc::now(),
            });
        }
        let fresh = self.apply_in(&mut tx, &events, &done).await?;
        parked::park(&mut tx, &parking).await?;
        self.advance(&mut tx, coverage).await?;
        tx.commit().await?;
        crate::metrics::parked(parking.len());
        crate::metrics::applied(total, fresh, started.elapsed());
        Ok(fresh)
    }

    /// Applies the parked events of `partitions` that decode now, in position order: each
    /// stream's up to its first that still does not. Returns how many were applied.
    pub async fn retry_parked(
        &self,
        store: &EventStore,
        partitions: &[u32],
    ) -> Result<usize, ProjectorError> {
        let waiting = parked::list(self.pool(), Some(partitions), RETRY_BATCH).await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let positions: Vec<i64> = waiting.iter().map(|p| p.global_position).collect();
        let rows = store.read_positions(&positions).await?;
        let mut opened: HashMap<i64, Result<RecordedEvent, Unreadable>> = store
            .open_each(rows)
            .await?
            .into_iter()
            .map(|r| {
                let position = match &r {
                    Ok(e) => e.global_position,
                    Err(u) => u.global_position,
                };
                (position, r)
            })
            .collect();
        let mut stuck: HashSet<&str> = HashSet::new();
        let mut ready: Vec<(RecordedEvent, &ParkedEvent)> = Vec::new();
        for p in &waiting {
            if stuck.contains(p.stream_id.as_str()) {
                continue;
            }
            match opened.remove(&p.global_position) {
                Some(Ok(event)) => ready.push((event, p)),
                _ => {
                    stuck.insert(&p.stream_id);
                }
            }
        }
        if ready.is_empty() {
            return Ok(0);
        }
        let mut tx = begin(self.pool()).await?;
        // Under the checkpoint lock, like a batch: no other batch of these partitions between.
        self.lock_checkpoints(&mut tx, partitions).await?;
        let ready_positions: Vec<i64> = ready.iter().map(|(e, _)| e.global_position).collect();
        let gone: HashSet<i64> = parked::unpark(&mut tx, &ready_positions)
            .await?
            .into_iter()
            .collect();
        ready.retain(|(e, _)| gone.contains(&e.global_position));
        // Each event counts for the projections that had not applied it when it was parked:
        // to the fold, their checkpoint is below it and every other one above.
        let mut applied = 0;
        let mut groups: Vec<(&[String], Vec<RecordedEvent>)> = Vec::new();
        for (event, p) in ready {
            match groups.last_mut() {
                Some((projections, events)) if *projections == p.projections.as_slice() => {
                    events.push(event);
                }
                _ => groups.push((&p.projections, vec![event])),
            }
        }
        for (projections, events) in &groups {
            let done: Checkpoints = self
                .projections()
                .iter()
                .flat_map(|projection| {
                    let at = if projections.iter().any(|n| n == projection.name()) {
                        0
                    } else {
                        i64::MAX
                    };
                    partitions
                        .iter()
                        .map(move |&partition| ((projection.name().to_owned(), partition), at))
                })
                .collect();
            applied += self.apply_in(&mut tx, events, &done).await?;
        }
        tx.commit().await?;
        tracing::info!(applied, "parked events decode now; applied");
        crate::metrics::unparked(applied);
        Ok(applied)
    }

    /// The projections whose checkpoint on `partition` is below `position`.
    fn behind(&self, done: &Checkpoints, partition: u32, position: i64) -> Vec<String> {
        self.projections()
            .iter()
            .map(|p| p.name())
            .filter(|name| {
                done.get(&((*name).to_owned(), partition))
                    .is_none_or(|&at| at < position)
            })
            .map(str::to_owned)
            .collect()
    }
}
