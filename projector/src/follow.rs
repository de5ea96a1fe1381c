//! One partition followed through JetStream and checked against the store, the system of
//! record (docs/architecture.md, "Projecting").
//!
//! The stream only says *which* events to apply next; what is applied is always the store's
//! copy, and only after the store confirms the partition holds nothing else below it:
//!
//! - A batch may hold messages JetStream delivered again (a paused or slow worker let the ack
//!   wait pass), in any order among new ones. Its events are applied once each, through the
//!   highest position the store confirms, and the checkpoint moves there, never to wherever
//!   the last message happened to be.
//! - A message whose event is not the store's at that position (forged, foreign, or from
//!   another store) is ignored, and so is a position above the store's head.
//! - Events of the partition the stream never delivered (the stream deleted and made anew,
//!   trimmed by `STREAM_MAX_AGE`, purged) are read from the store and applied in their place,
//!   and the partition reports the `stream_gap` fault while that happens, so health tells.

use std::collections::HashMap;

use event_store::EventStore;
use event_store::transport::{FeedBatch, Nats, PartitionFeed};

use crate::apply::{Applier, Coverage, ProjectorError};

/// Events of every partition one look at the store covers at most.
const SCAN: usize = 20_000;
/// How long a partition reports `stream_gap` after the stream was last found lacking events:
/// long enough for health to be seen saying so, not only for the instant it happened.
const GAP_SHOWN: std::time::Duration = std::time::Duration::from_secs(5);

/// What is wrong with a partition, for its heartbeat (and so for health and `salesbot check`):
/// the stream lacked events the store holds, which are being applied from the store.
pub(crate) const STREAM_GAP: &str = "stream_gap";
/// The worker cannot follow the partition's stream (NATS or the database failing); it retries.
pub(crate) const INTERRUPTED: &str = "interrupted";

pub(crate) struct Follow<'a> {
    store: &'a EventStore,
    applier: &'a Applier,
    partition: u32,
    /// Every event of the partition up to here is applied.
    pub(crate) caught_up_to: i64,
    /// The stream sequence of the last event the stream delivered and the store confirmed.
    stream_seq: u64,
    /// The first event an idle look found missing from the stream: it gets one more heartbeat
    /// to arrive (the server's count of unfinished messages may lag its deliveries) before the
    /// store fills it in.
    suspect: Option<i64>,
    /// When the stream was last found lacking events the store holds.
    gap_at: Option<std::time::Instant>,
}

impl<'a> Follow<'a> {
    pub(crate) fn new(
        store: &'a EventStore,
        applier: &'a Applier,
        partition: u32,
        position: i64,
        stream_seq: u64,
    ) -> Follow<'a> {
        Follow {
            store,
            applier,
            partition,
            caught_up_to: position,
            stream_seq,
            suspect: None,
            gap_at: None,
        }
    }

    pub(crate) fn fault(&self) -> Option<&'static str> {
        self.gap_at
            .is_some_and(|at| at.elapsed() < GAP_SHOWN)
            .then_some(STREAM_GAP)
    }

    /// The partition's feed, from where the stream passes what is applied.
    pub(crate) async fn open(&self, nats: &Nats) -> Result<PartitionFeed, ProjectorError> {
        let after = nats
            .resume_after(
                self.store,
                self.partition,
                self.stream_seq,
                self.caught_up_to,
            )
            .await?;
        Ok(nats.open_partition(self.partition, after).await?)
    }

    /// Applies what a batch says is next, as the store has it. Returns true when the feed must
    /// be opened again: the batch reached further than one look at the store covers, so the
    /// rest comes again rather than being acknowledged unapplied.
    pub(crate) async fn apply_delivered(
        &mut self,
        batch: FeedBatch,
    ) -> Result<bool, ProjectorError> {
        let done = self.caught_up_to;
        let head = self.store.head_position().await?;
        let claimed = batch
            .events
            .last()
            .map_or(done, |d| d.event.global_position)
            .min(head);
        let (index, reached) = self
            .store
            .partition_index(
                self.partition,
                self.applier.partitions(),
                done,
                claimed,
                SCAN,
            )
            .await?;
        let expected: HashMap<i64, uuid::Uuid> = index.iter().copied().collect();
        let mut delivered = 0;
        let mut foreign = batch.unreadable.len();
        let mut deferred = false;
        for d in &batch.events {
            let position = d.event.global_position;
            if position <= done {
                continue;
            }
            if position > reached {
                if position <= head {
                    deferred = true;
                } else {
                    foreign += 1;
                }
            } else if expected.get(&position) == Some(&d.event.event_id) {
                delivered += 1;
                self.stream_seq = self.stream_seq.max(d.stream_seq);
            } else {
                foreign += 1;
            }
        }
        if foreign > 0 {
            tracing::warn!(
                partition = self.partition,
                foreign,
                "messages in the event stream are not this store's events; ignored"
            );
            crate::metrics::foreign(foreign);
        }
        crate::metrics::redelivered(batch.redelivered);
        let missing = index.len() - delivered;
        self.apply_from_store(&index, reached, Some(self.stream_seq))
            .await?;
        self.note_gap(missing);
        if !deferred {
            batch.ack().await?;
        }
        Ok(deferred)
    }

    /// With nothing of the partition unfinished in the stream: every event of it up to
    /// `relayed` (which the relay has published) should be applied. If the store holds more,
    /// the stream lost them; after one heartbeat's grace they are applied from the store.
    pub(crate) async fn check_idle(&mut self, relayed: i64) -> Result<(), ProjectorError> {
        let done = self.caught_up_to;
        if relayed <= done {
            return Ok(());
        }
        let (index, reached) = self
            .store
            .partition_index(
                self.partition,
                self.applier.partitions(),
                done,
                relayed,
                SCAN,
            )
            .await?;
        match index.first() {
            None => {
                self.caught_up_to = reached;
                self.suspect = None;
            }
            Some(&(first, _)) if self.suspect == Some(first) => {
                tracing::warn!(
                    partition = self.partition,
                    missing = index.len(),
                    from = first,
                    "the stream lacks events the store holds; applying them from the store"
                );
                self.apply_from_store(&index, reached, None).await?;
                self.note_gap(index.len());
                self.suspect = None;
            }
            Some(&(first, _)) => self.suspect = Some(first),
        }
        Ok(())
    }

    /// Applies the partition's parked events that decode now (docs/architecture.md, "Parked
    /// events").
    pub(crate) async fn retry_parked(&self) -> Result<(), ProjectorError> {
        self.applier
            .retry_parked(self.store, &[self.partition])
            .await?;
        Ok(())
    }

    /// Applies the store's copies of the events at `index`, and the checkpoint through
    /// `reached`.
    async fn apply_from_store(
        &mut self,
        index: &[(i64, uuid::Uuid)],
        reached: i64,
        stream_seq: Option<u64>,
    ) -> Result<(), ProjectorError> {
        if reached <= self.caught_up_to {
            return Ok(());
        }
        let positions: Vec<i64> = index.iter().map(|(p, _)| *p).collect();
        let stored = self.store.read_positions(&positions).await?;
        let coverage = Coverage {
            partitions: vec![self.partition],
            through: reached,
            stream_seq: stream_seq.filter(|&s| s > 0),
        };
        self.applier
            .apply_or_park(self.store, stored, &coverage)
            .await?;
        self.caught_up_to = reached;
        Ok(())
    }

    fn note_gap(&mut self, missing: usize) {
        if missing > 0 {
            crate::metrics::from_store(missing);
            self.gap_at = Some(std::time::Instant::now());
        }
    }
}
