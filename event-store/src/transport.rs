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
            duplicate_window: DUPLICATE_WINDOW,
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

    /// Where the stream stands: its last sequence and the position of the event stored there
    /// (0, 0 for an empty stream).
    async fn stream_tip(&self) -> Result<(u64, i64), TransportError> {
        let stream = self.js.get_stream(STREAM_NAME).await.map_err(nats_error)?;
        let last = stream.cached_info().state.last_sequence;
        if last == 0 {
            return Ok((0, 0));
        }
        let position = match stream.get_raw_message(last).await {
            Ok(message) => position_of(message.headers.get(POSITION_HEADER), last)?,
            // Expired by `STREAM_MAX_AGE` or purged: the store's checkpoint says how far we got.
            Err(e) if e.kind() == stream::RawMessageErrorKind::NoMessageFound => 0,
            Err(e) => return Err(nats_error(e)),
        };
        Ok((last, position))
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

fn position_of(value: Option<&async_nats::HeaderValue>, seq: u64) -> Result<i64, TransportError> {
    value
        .and_then(|v| v.as_str().parse().ok())
        .ok_or_else(|| TransportError::BadMessage {
            stream_sequence: seq,
            reason: format!("no numeric {POSITION_HEADER} header"),
        })
}

/// One partition's events from JetStream, in order, for one projector worker.
pub struct PartitionFeed {
    partition: u32,
    consumer: consumer::PullConsumer,
    messages: consumer::pull::Stream,
    consumer_seq: u64,
}

/// Events received together, acknowledged together once applied.
#[derive(Debug)]
pub struct FeedBatch {
    pub events: Vec<StoredEvent>,
    /// The stream sequence of the last message.
    pub last_stream_seq: u64,
    /// Messages of the partition still waiting in the stream after this batch.
    pub pending: u64,
    last: jetstream::Message,
}

impl FeedBatch {
    /// Acknowledges every message up to the last (the consumer acks all).
    pub async fn ack(&self) -> Result<(), TransportError> {
        self.last.ack().await.map_err(nats_error)
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
        let mut events = Vec::new();
        let mut last: Option<(jetstream::Message, u64, u64)> = None;
        while events.len() < max.max(1) {
            let next = if events.is_empty() {
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
            let (stream_seq, consumer_seq, pending) = {
                let info = message.info().map_err(nats_error)?;
                (info.stream_sequence, info.consumer_sequence, info.pending)
            };
            if consumer_seq != self.consumer_seq + 1 {
                return Err(nats_error(format!(
                    "partition {}: consumer sequence jumped from {} to {consumer_seq}",
                    self.partition, self.consumer_seq
                )));
            }
            self.consumer_seq = consumer_seq;
            let event: StoredEvent = serde_json::from_slice(&message.payload).map_err(|e| {
                TransportError::BadMessage {
                    stream_sequence: stream_seq,
                    reason: e.to_string(),
                }
            })?;
            events.push(event);
            last = Some((message, stream_seq, pending));
        }
        let Some((last, last_stream_seq, pending)) = last else {
            return Err(nats_error("empty batch"));
        };
        Ok(FeedBatch {
            events,
            last_stream_seq,
            pending,
            last,
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
    let (mut seq, in_stream) = nats.stream_tip().await?;
    let saved = store.checkpoint(RELAY).await?.unwrap_or(0);
    let mut after = saved.max(in_stream);
    if after > saved {
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
