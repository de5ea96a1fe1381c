//! How committed events reach their followers.
//!
//! - **NATS JetStream** (distributed mode): the outbox relay ([`run_relay`]) publishes the log, in
//!   global order, to the stream `SALESBOT_EVENTS`; projector workers read one partition each
//!   through a durable pull consumer ([`Nats::open_partition`]).
//! - **In process** (embedded mode): followers tail the log itself ([`LogTail`]), woken by this
//!   process's commits.
//!
//! What travels is the stored form ([`StoredEvent`]): personal fields stay sealed, so erasing a
//! user shreds the copies in JetStream too. Subjects and headers carry no personal data: the
//! subject is `salesbot.events.<partition>.<event_type>`, the headers `Nats-Msg-Id` (the event
//! id) and `Salesbot-Position`.
//!
//! The relay publishes with `Nats-Expected-Last-Sequence`, so the stream holds each event once
//! and in position order even when a publish fails half-way or two relays briefly overlap: any
//! mismatch makes it re-read where the stream stands and go on from there.

use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, consumer, stream};
use futures::StreamExt as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::{EventStore, StoreError, StoredEvent};

/// The JetStream stream that carries the log.
pub const STREAM_NAME: &str = "SALESBOT_EVENTS";
/// Every event subject starts with this.
pub const SUBJECT_PREFIX: &str = "salesbot.events";
/// Header with the event's `global_position`.
pub const POSITION_HEADER: &str = "Salesbot-Position";
/// The relay's lease and checkpoint name.
pub const RELAY: &str = "relay";
/// How long JetStream remembers message ids to drop republished events.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// `STREAM_ACK_WAIT` when unset.
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(60);

const RELAY_BATCH: usize = 2_000;
/// How often an idle relay or tail looks for events appended by other processes.
const POLL: Duration = Duration::from_millis(50);
const STANDBY_RETRY: Duration = Duration::from_secs(2);

/// The stream's shape, from configuration.
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// `STREAM_REPLICAS`.
    pub replicas: usize,
    /// `STREAM_MAX_AGE`; `None` keeps events for ever.
    pub max_age: Option<Duration>,
    /// `STREAM_ACK_WAIT`: how long a projector worker may hold a message unacknowledged before
    /// JetStream delivers it again.
    pub ack_wait: Duration,
    /// `PARTITIONS`.
    pub partitions: u32,
}

impl StreamSettings {
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: STREAM_NAME.to_owned(),
            description: Some("salesbot event log, in global order (see deploy/nats)".into()),
            subjects: vec![format!("{SUBJECT_PREFIX}.>")],
            retention: stream::RetentionPolicy::Limits,
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            num_replicas: self.replicas,
            max_age: self.max_age.unwrap_or_default(),
            // JetStream refuses a window longer than the messages live.
            duplicate_window: self
                .max_age
                .map_or(DUPLICATE_WINDOW, |age| age.min(DUPLICATE_WINDOW)),
            ..Default::default()
        }
    }
}

/// The subject an event travels on.
pub fn subject(partition: u32, event_type: &str) -> String {
    format!("{SUBJECT_PREFIX}.{partition}.{event_type}")
}

/// The durable consumer that feeds a partition to the projector.
pub fn consumer_name(partition: u32) -> String {
    format!("projector-p{partition}")
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("JetStream message {stream_sequence} is not a salesbot event: {reason}")]
    BadMessage {
        stream_sequence: u64,
        reason: String,
    },
}

fn nats_error(error: impl std::fmt::Display) -> TransportError {
    TransportError::Nats(error.to_string())
}

/// A connection to NATS with JetStream.
#[derive(Debug, Clone)]
pub struct Nats {
    client: async_nats::Client,
    js: jetstream::Context,
    settings: StreamSettings,
}

impl Nats {
    /// Connects to `url`. With `wait_for_server` false the connection is made in the background
    /// (retrying for ever), so a process can start, and its command side take messages, while
    /// NATS is down.
    pub async fn connect(
        url: &str,
        name: &str,
        settings: StreamSettings,
        wait_for_server: bool,
    ) -> Result<Nats, TransportError> {
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(5));
        if !wait_for_server {
            options = options.retry_on_initial_connect();
        }
        let client = options.connect(url).await.map_err(nats_error)?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .max_ack_inflight(RELAY_BATCH * 2)
            .build(client.clone());
        Ok(Nats {
            client,
            js,
            settings,
        })
    }

    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Creates the stream, or brings its settings in line with the configuration.
    pub async fn ensure_stream(&self) -> Result<stream::Info, TransportError> {
        self.js
            .create_or_update_stream(self.settings.stream_config())
            .await
            .map_err(nats_error)
    }

    /// The stream's message count and last sequence, if it exists.
    pub async fn stream_state(&self) -> Result<Option<stream::State>, TransportError> {
        match self.js.get_stream(STREAM_NAME).await {
            Ok(mut s) => Ok(Some(s.info().await.map_err(nats_error)?.state.clone())),
            Err(e) if e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(nats_error(e)),
        }
    }

    /// Deletes the stream and with it every consumer (`salesbot reset`). Returns whether it
    /// existed.
    pub async fn delete_stream(&self) -> Result<bool, TransportError> {
        match self.js.delete_stream(STREAM_NAME).await {
            Ok(_) => Ok(true),
            Err(e) if e.to_string().contains("not found") => Ok(false),
            Err(e) => Err(nats_error(e)),
        }
    }

    /// Where the stream stands: its last sequence, and the position of the event there when
    /// it is one of `store`'s own (0, 0 for an empty stream). What the message claims is
    /// checked against the store: a foreign or forged message at the tip counts as no event.
    async fn stream_tip(&self, store: &EventStore) -> Result<(u64, Option<i64>), TransportError> {
        let stream = self.js.get_stream(STREAM_NAME).await.map_err(nats_error)?;
        let last = stream.cached_info().state.last_sequence;
        if last == 0 {
            return Ok((0, None));
        }
        let message = match stream.get_raw_message(last).await {
            Ok(message) => message,
            // Expired by `STREAM_MAX_AGE` or purged: the store's checkpoint says how far we got.
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => {
                return Ok((last, None));
            }
            Err(e) => return Err(nats_error(e)),
        };
        Ok((last, ours(store, &message.payload).await?))
    }

    /// Where a partition's consumer starts again: after `seq`, the stream sequence recorded with
    /// the checkpoint `position`, when the message there is the store's event at or below
    /// `position` (so the sequence belongs to this stream); otherwise (the stream was deleted
    /// and made anew, or trimmed past it) before the partition's first message above
    /// `position`, found by a binary search over the stream. Returns the sequence to start
    /// after.
    pub async fn resume_after(
        &self,
        store: &EventStore,
        partition: u32,
        seq: u64,
        position: i64,
    ) -> Result<u64, TransportError> {
        let stream = self.js.get_stream(STREAM_NAME).await.map_err(nats_error)?;
        let state = stream.cached_info().state.clone();
        if seq > 0 && seq <= state.last_sequence {
            match stream.get_raw_message(seq).await {
                Ok(m) => {
                    if ours(store, &m.payload)
                        .await?
                        .is_some_and(|p| p <= position)
                    {
                        return Ok(seq);
                    }
                }
                Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => {}
                Err(e) => return Err(nats_error(e)),
            }
        }
        // The first message of the partition above `position` lies in (lo, hi].
        let subject = format!("{SUBJECT_PREFIX}.{partition}.>");
        let (mut lo, mut hi) = (state.first_sequence.saturating_sub(1), state.last_sequence);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let found = match stream.get_first_raw_message_by_subject(&subject, mid).await {
                Ok(m) => Some((m.sequence, claimed_position(&m.payload))),
                Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => None,
                Err(e) => return Err(nats_error(e)),
            };
            match found {
                // Nothing of the partition from `mid` on, or only what is applied already.
                None => hi = mid - 1,
                Some((at, Some(p))) if p <= position => lo = at,
                // Above `position`, or unreadable: start no later than here.
                Some((at, _)) => hi = at.min(hi) - 1,
            }
        }
        if seq > 0 {
            tracing::warn!(
                partition,
                recorded = seq,
                resume_after = lo,
                "the stream does not match the checkpoint's sequence; resuming where its \
                 events pass the checkpoint"
            );
        } else {
            // Nothing recorded yet (a new partition): not a mismatch.
            tracing::debug!(partition, resume_after = lo, "starting the partition");
        }
        Ok(lo)
    }

    /// A partition's feed for the projector, starting after stream sequence `after`. The
    /// durable consumer is (re)created from that point: the read tables' checkpoint is the
    /// truth, so a worker taking over a partition starts at once where the last one committed.
    pub async fn open_partition(
        &self,
        partition: u32,
        after: u64,
    ) -> Result<PartitionFeed, TransportError> {
        let stream = self.js.get_stream(STREAM_NAME).await.map_err(nats_error)?;
        let name = consumer_name(partition);
        match stream.delete_consumer(&name).await {
            Ok(_) => {}
            Err(e) if e.to_string().contains("not found") => {}
            Err(e) => return Err(nats_error(e)),
        }
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            description: Some(format!("salesbot projector, partition {partition}")),
            filter_subject: format!("{SUBJECT_PREFIX}.{partition}.>"),
            deliver_policy: if after == 0 {
                consumer::DeliverPolicy::All
            } else {
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                }
            },
            ack_policy: consumer::AckPolicy::All,
            ack_wait: self.settings.ack_wait,
            max_ack_pending: 100_000,
            ..Default::default()
        };
        let consumer = stream.create_consumer(config).await.map_err(nats_error)?;
        let messages = consumer
            .stream()
            .max_messages_per_batch(1_000)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
            .map_err(nats_error)?;
        Ok(PartitionFeed {
            partition,
            consumer,
            messages,
            consumer_seq: 0,
        })
    }
}

/// What an event message's payload claims to be, unchecked.
#[derive(serde::Deserialize)]
struct Claim {
    global_position: i64,
    event_id: uuid::Uuid,
}

fn claim(payload: &[u8]) -> Option<Claim> {
    serde_json::from_slice(payload).ok()
}

/// The position an event message's payload claims, unchecked.
fn claimed_position(payload: &[u8]) -> Option<i64> {
    claim(payload).map(|c| c.global_position)
}

/// The position of the event in `payload` when it is `store`'s own event there (same id at
/// the same position): the stream's word is never taken over the store's.
async fn ours(store: &EventStore, payload: &[u8]) -> Result<Option<i64>, TransportError> {
    let Some(claim) = claim(payload) else {
        return Ok(None);
    };
    let stored = store.event_id_at(claim.global_position).await?;
    Ok((stored == Some(claim.event_id)).then_some(claim.global_position))
}

/// One partition's events from JetStream, in order, for one projector worker.
pub struct PartitionFeed {
    partition: u32,
    consumer: consumer::PullConsumer,
    messages: consumer::pull::Stream,
    consumer_seq: u64,
}

/// One event as JetStream delivered it.
#[derive(Debug)]
pub struct Delivered {
    pub event: StoredEvent,
    pub stream_seq: u64,
}

/// Messages received together, acknowledged together once applied.
#[derive(Debug)]
pub struct FeedBatch {
    /// The events that arrived, in increasing position, each once: JetStream delivers a
    /// message again when its ack is late (a paused or slow worker), interleaved with new ones,
    /// so arrival order says nothing about positions. What the payload claims is checked
    /// against the store before it counts (docs/architecture.md, "Projecting").
    pub events: Vec<Delivered>,
    /// Messages that are not salesbot events at all (an unreadable payload), by stream sequence.
    pub unreadable: Vec<u64>,
    /// Deliveries of a message delivered before.
    pub redelivered: usize,
    /// The message with the highest stream sequence: acking it acks every one below.
    highest: (u64, jetstream::Message),
}

impl FeedBatch {
    /// Acknowledges every message of the batch (and below): the consumer acks all.
    pub async fn ack(&self) -> Result<(), TransportError> {
        self.highest.1.ack().await.map_err(nats_error)
    }

    /// The highest stream sequence in the batch.
    pub fn highest_stream_seq(&self) -> u64 {
        self.highest.0
    }
}

impl std::fmt::Debug for PartitionFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionFeed")
            .field("partition", &self.partition)
            .field("consumer_seq", &self.consumer_seq)
            .finish_non_exhaustive()
    }
}

impl PartitionFeed {
    pub fn partition(&self) -> u32 {
        self.partition
    }

    /// Messages of the partition in the stream not yet acknowledged (waiting or delivered and
    /// not yet applied), as the server counts them now.
    pub async fn unfinished(&mut self) -> Result<u64, TransportError> {
        let info = self.consumer.info().await.map_err(nats_error)?;
        Ok(info.num_pending + u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX))
    }

    /// The next messages: waits for the first, then takes what has already arrived, up to
    /// `max`. A gap in the consumer sequence (a message lost on the way) is an error: the
    /// caller reopens the feed from its checkpoint rather than skip an event.
    pub async fn next_batch(&mut self, max: usize) -> Result<FeedBatch, TransportError> {
        let mut events: std::collections::BTreeMap<i64, Delivered> = Default::default();
        let mut unreadable = Vec::new();
        let mut redelivered = 0;
        let mut highest: Option<(u64, jetstream::Message)> = None;
        let mut received = 0;
        while received < max.max(1) {
            let next = if received == 0 {
                self.messages.next().await
            } else {
                match futures::FutureExt::now_or_never(self.messages.next()) {
                    Some(next) => next,
                    None => break,
                }
            };
            let message = match next {
                None => return Err(nats_error("the consumer's message stream ended")),
                Some(Err(e)) => return Err(nats_error(e)),
                Some(Ok(m)) => m,
            };
            received += 1;
            let (stream_seq, consumer_seq, delivered) = {
                let info = message.info().map_err(nats_error)?;
                (info.stream_sequence, info.consumer_sequence, info.delivered)
            };
            if consumer_seq != self.consumer_seq + 1 {
                return Err(nats_error(format!(
                    "partition {}: consumer sequence jumped from {} to {consumer_seq}",
                    self.partition, self.consumer_seq
                )));
            }
            self.consumer_seq = consumer_seq;
            redelivered += usize::from(delivered > 1);
            match serde_json::from_slice::<StoredEvent>(&message.payload) {
                Ok(event) => {
                    events
                        .entry(event.global_position)
                        .or_insert(Delivered { event, stream_seq });
                }
                Err(error) => {
                    tracing::warn!(
                        partition = self.partition,
                        stream_seq,
                        %error,
                        "a message in the event stream is not a salesbot event; ignored"
                    );
                    unreadable.push(stream_seq);
                }
            }
            if highest.as_ref().is_none_or(|(seq, _)| stream_seq > *seq) {
                highest = Some((stream_seq, message));
            }
        }
        let Some(highest) = highest else {
            return Err(nats_error("empty batch"));
        };
        Ok(FeedBatch {
            events: events.into_values().collect(),
            unreadable,
            redelivered,
            highest,
        })
    }
}

/// Publishes committed events to JetStream in global order until `shutdown` is cancelled, while
/// holding the relay lease; stands by while another instance holds it. NATS being down only
/// delays publishing: events wait in the store, and the relay catches up when NATS is back.
pub async fn run_relay(store: EventStore, nats: Nats, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let lease = match store.try_lease(RELAY).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tracing::debug!("another instance relays; standing by");
                wait(&shutdown, STANDBY_RETRY).await;
                continue;
            }
            Err(error) => {
                tracing::warn!(%error, "relay: cannot take the lease");
                wait(&shutdown, STANDBY_RETRY).await;
                continue;
            }
        };
        match relay_while_leader(&store, &nats, lease, &shutdown).await {
            Ok(()) => return,
            Err(error) => {
                tracing::warn!(%error, retry_in = ?backoff, "relay interrupted");
                wait(&shutdown, backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn wait(shutdown: &CancellationToken, pause: Duration) {
    let _ = tokio::time::timeout(pause, shutdown.cancelled()).await;
}

async fn relay_while_leader(
    store: &EventStore,
    nats: &Nats,
    mut lease: crate::Lease,
    shutdown: &CancellationToken,
) -> Result<(), TransportError> {
    nats.ensure_stream().await?;
    let (mut seq, tip) = nats.stream_tip(store).await?;
    let saved = store.checkpoint(RELAY).await?.unwrap_or(0);
    // The stream lacks events this relay published: deleted and made anew, or purged.
    let lost = (seq == 0 && saved > 0) || tip.is_some_and(|tip| tip < saved);
    let after = match tip {
        // Published before a crash took the checkpoint with it.
        Some(tip) if tip >= saved => tip,
        // Publish again, from the store, what the projector still needs from the stream.
        _ if lost => {
            let partitions: Vec<u32> = (0..nats.settings.partitions).collect();
            let (lowest, _) = crate::progress::record::lowest_checkpoint(store.pool(), &partitions)
                .await
                .map_err(StoreError::from)?;
            let from = lowest.min(saved).max(tip.unwrap_or(0));
            if from < saved {
                tracing::warn!(
                    stream_sequence = seq,
                    relayed = saved,
                    from,
                    "the stream lacks events already relayed (deleted, recreated or purged); \
                     publishing them again from the store"
                );
            }
            from
        }
        // The last message expired, or is not one of ours: the store's checkpoint holds.
        _ => saved,
    };
    let mut after = after;
    if after != saved {
        store.save_checkpoint(RELAY, after).await?;
    }
    tracing::info!(after, stream_sequence = seq, "relaying events to JetStream");
    let mut committed = store.watch_committed();
    let mut lease_checked = tokio::time::Instant::now();
    loop {
        if shutdown.is_cancelled() {
            return Ok(());
        }
        if lease_checked.elapsed() > Duration::from_secs(5) {
            if !lease.is_held().await {
                return Err(nats_lost_lease());
            }
            lease_checked = tokio::time::Instant::now();
        }
        let batch = store.read_all_stored(after, RELAY_BATCH).await?;
        let Some(last) = batch.last().map(|e| e.global_position) else {
            tokio::select! {
                _ = committed.changed() => {}
                () = tokio::time::sleep(POLL) => {}
                () = shutdown.cancelled() => return Ok(()),
            }
            continue;
        };
        let mut acks = Vec::with_capacity(batch.len());
        for event in &batch {
            let partition = events_schema::StreamId::new(event.stream_id.clone())
                .map(|s| s.partition(nats.settings.partitions))
                .unwrap_or(0);
            let payload = serde_json::to_vec(event).map_err(|e| nats_error(e.to_string()))?;
            let mut headers = HeaderMap::new();
            headers.insert(POSITION_HEADER, event.global_position.to_string().as_str());
            let message = PublishMessage::build()
                .payload(payload.into())
                .headers(headers)
                .message_id(event.event_id.to_string())
                .expected_last_sequence(seq);
            let ack = nats
                .js
                .send_publish(subject(partition, &event.event_type), message)
                .await
                .map_err(nats_error)?;
            acks.push(ack);
            seq += 1;
        }
        for ack in acks {
            let ack = ack.await.map_err(nats_error)?;
            if ack.duplicate {
                // Already in the stream (a republish after a crash): the expected sequences
                // after it are off by one, so look again where the stream stands.
                return Err(nats_error("a republished event was dropped as a duplicate"));
            }
        }
        store.save_checkpoint(RELAY, last).await?;
        after = last;
    }
}

fn nats_lost_lease() -> TransportError {
    TransportError::Nats("the relay lease was lost (database connection closed)".into())
}

/// Follows the log itself, for in-process followers (embedded mode) and rebuilds.
#[derive(Debug)]
pub struct LogTail {
    store: EventStore,
    after: i64,
    committed: watch::Receiver<i64>,
}

impl LogTail {
    pub fn new(store: EventStore, after: i64) -> LogTail {
        let committed = store.watch_committed();
        LogTail {
            store,
            after,
            committed,
        }
    }

    pub fn position(&self) -> i64 {
        self.after
    }

    /// The next events after the last batch, waiting (woken by this process's commits, or
    /// polling for other processes') until there is at least one.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>, StoreError> {
        loop {
            let batch = self.store.read_all_stored(self.after, max).await?;
            if let Some(last) = batch.last() {
                self.after = last.global_position;
                return Ok(batch);
            }
            tokio::select! {
                _ = self.committed.changed() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    }
}
