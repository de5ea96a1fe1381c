//! The salesbot event log: append with optimistic concurrency and group commit, read one stream
//! or the whole log in global order, snapshots, and per-user encryption of personal data.
//! Postgres and SQLite sit behind one interface, chosen by `DATABASE_URL`.

pub mod backup;
mod checkpoint;
mod config;
mod crypto;
pub mod db;
mod erase;
mod error;
mod group_commit;
mod keys;
mod lease;
pub mod metrics;
mod migrate;
mod postgres;
pub mod private;
pub mod progress;
mod read;
mod reading;
mod sealed;
mod snapshot;
mod sqlite;
mod stored;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod transport;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use events_schema::{NewEvent, RawEvent, StreamId};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

pub use config::{BackendKind, DatabaseUrl, StoreConfig};
pub use crypto::MasterKey;
pub use db::{Pool, Tx};
pub use error::{AppendError, StoreError, transient_sqlx};
pub use lease::Lease;
pub use migrate::MigrationStatus;
pub use sealed::{NAME_PREFIX_CHARS, NameIndex, ReadKeys, normalise_name};
pub use stored::StoredEvent;

use group_commit::Job;
use keys::KeyCache;

/// The most events one `read_all` returns.
pub const MAX_READ_BATCH: usize = 10_000;

/// The most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// Group commit: at most this many appends, and about this many events, go in one transaction.
const MAX_JOBS_PER_BATCH: usize = 1_024;
const MAX_EVENTS_PER_BATCH: usize = 20_000;

/// What the writer expects the stream's version to be before the append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the version.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version (0 = no stream).
    Exact(i64),
}

impl ExpectedVersion {
    fn admits(self, current: i64) -> bool {
        match self {
            ExpectedVersion::Any => true,
            ExpectedVersion::NoStream => current == 0,
            ExpectedVersion::Exact(v) => current == v,
        }
    }
}

/// Events to append to one stream, in stored form (any schema version; see [`RawEvent`]).
#[derive(Debug, Clone)]
pub struct AppendRequest {
    pub stream_id: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<RawEvent>,
}

/// What an erasure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// Where `UserErased` went in the log.
    pub position: i64,
    /// False when the key was destroyed already (an erasure run again).
    pub key_destroyed: bool,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Version of the stream's last event after the append.
    pub last_version: i64,
    pub first_position: i64,
    pub last_position: i64,
    /// True when every event id was stored already: nothing was written, the positions are
    /// those of the stored events.
    pub duplicate: bool,
}

/// Counts for `salesbot stats`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub events: i64,
    pub streams: i64,
    pub head_position: i64,
    pub by_type: Vec<(String, i64)>,
    pub first_occurred_at: Option<DateTime<Utc>>,
    pub last_occurred_at: Option<DateTime<Utc>>,
}

/// A stream's folded state at a version.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub stream_version: i64,
    pub state: serde_json::Value,
}

/// What the writer task and readers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) keys: KeyCache,
    /// The highest position this process has committed (0 until its first append).
    pub(crate) committed: tokio::sync::watch::Sender<i64>,
    /// Who hears of this process's erasures ([`EventStore::on_erasure`]).
    pub(crate) erasures: Erasures,
}

/// A listener of erasures: told the user; false once it no longer needs to hear.
type Listener = Box<dyn Fn(&events_schema::UserId) -> bool + Send + Sync>;

/// The listeners of [`EventStore::on_erasure`].
#[derive(Default)]
pub(crate) struct Erasures {
    listeners: std::sync::Mutex<Vec<Listener>>,
}

impl std::fmt::Debug for Erasures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Erasures")
            .field("listeners", &self.lock().len())
            .finish()
    }
}

impl Erasures {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Listener>> {
        // A listener that panicked leaves the list itself whole.
        self.listeners.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn tell(&self, user: &events_schema::UserId) {
        self.lock().retain(|listener| listener(user));
    }
}

/// A handle to the log. Cheap to clone; all clones share one pool and one writer task.
#[derive(Debug, Clone)]
pub struct EventStore {
    shared: Arc<Shared>,
    writer: mpsc::Sender<Job>,
    url: DatabaseUrl,
    /// What reads through this handle do with events a newer release wrote.
    newer: Newer,
}

/// What a reader does with an event a newer release wrote: one whose type, or whose schema
/// version of a known type, this build does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Newer {
    /// A `Corrupt` error naming the position (the default: the command path must never decide
    /// on a stream it cannot read whole).
    #[default]
    Refuse,
    /// Leave the event out with a warning and count it ([`skipped_newer`]): the projector and
    /// the query API of a release that is behind keep going (README, "Upgrading").
    Skip,
}

pub use read::{SkipReason, Unreadable, skipped_newer};

/// Whether opening the store applies pending migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Apply pending migrations (what every process does at start-up).
    Apply,
    /// Leave the schema as it is; refuse to open if it is not up to date.
    Require,
}

impl EventStore {
    /// Connects, applies pending migrations, checks the upcaster chain and the master key, and
    /// starts the writer task.
    pub async fn open(config: &StoreConfig) -> Result<EventStore, StoreError> {
        Self::open_with(config, Migrations::Apply).await
    }

    pub async fn open_with(
        config: &StoreConfig,
        migrations: Migrations,
    ) -> Result<EventStore, StoreError> {
        events_schema::upcast::check_chain(events_schema::upcast::UPCASTERS)
            .map_err(|e| StoreError::Internal(format!("the upcaster chain: {e}")))?;
        let pool = connect(config).await?;
        let status = migrate::status(&pool).await?;
        match migrations {
            Migrations::Apply => migrate::apply(&pool).await?,
            Migrations::Require if !status.pending.is_empty() => {
                return Err(StoreError::MigrationsPending {
                    pending: status.pending.len(),
                });
            }
            Migrations::Require => {}
        }
        keys::verify_master_key(&pool, &config.master_key).await?;
        let shared = Arc::new(Shared {
            pool,
            keys: KeyCache::new(config.master_key.clone()),
            committed: tokio::sync::watch::Sender::new(0),
            erasures: Erasures::default(),
        });
        let (tx, rx) = mpsc::channel(MAX_JOBS_PER_BATCH * 4);
        tokio::spawn(
            group_commit::run_writer(shared.clone(), rx)
                .instrument(tracing::info_span!("event_writer")),
        );
        Ok(EventStore {
            shared,
            writer: tx,
            url: config.database_url.clone(),
            newer: Newer::Refuse,
        })
    }

    /// This handle, reading events a newer release wrote as [`Newer::Skip`] says: left out,
    /// with a warning and a count. For readers that only fold or show the log (projector,
    /// query API), never for the command path.
    pub fn skipping_newer(&self) -> EventStore {
        EventStore {
            newer: Newer::Skip,
            ..self.clone()
        }
    }

    /// Connects without touching the schema, to report on it (`salesbot check`).
    pub async fn inspect(config: &StoreConfig) -> Result<MigrationStatus, StoreError> {
        let pool = connect(config).await?;
        let status = migrate::status(&pool).await;
        pool.close().await;
        status
    }

    pub fn backend(&self) -> BackendKind {
        self.shared.pool.kind()
    }

    pub fn pool(&self) -> &Pool {
        &self.shared.pool
    }

    pub fn database_url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Appends typed events (current schema version) to one stream.
    pub async fn append(
        &self,
        stream_id: &StreamId,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<Appended, AppendError> {
        let events = events
            .into_iter()
            .map(NewEvent::into_raw)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| AppendError::Invalid(format!("payload does not serialise: {e}")))?;
        self.submit(AppendRequest {
            stream_id: stream_id.clone(),
            expected,
            events,
        })
        .await
    }

    /// Appends stored-form events of any known schema version (imports, restores). Each
    /// payload is checked against its schema first.
    pub async fn append_raw(&self, mut request: AppendRequest) -> Result<Appended, AppendError> {
        for e in &mut request.events {
            let invalid =
                |err: events_schema::upcast::UpcastError| AppendError::Invalid(err.to_string());
            events_schema::upcast::check_fields(e.event_type, e.schema_version, &e.payload)
                .map_err(invalid)?;
            let event =
                events_schema::upcast::decode(e.event_type, e.schema_version, e.payload.clone())
                    .map_err(invalid)?;
            if e.schema_version == e.event_type.current_version() {
                // Stored as the types write it: a field the types do not know could never be
                // sealed or erased.
                e.payload = event
                    .payload_json()
                    .map_err(|err| AppendError::Invalid(err.to_string()))?;
            }
        }
        self.submit(request).await
    }

    async fn submit(&self, request: AppendRequest) -> Result<Appended, AppendError> {
        if request.events.is_empty() {
            return Err(AppendError::Invalid(
                "an append needs at least one event".into(),
            ));
        }
        if request.events.len() > MAX_EVENTS_PER_APPEND {
            return Err(AppendError::Invalid(format!(
                "{} events in one append; the limit is {MAX_EVENTS_PER_APPEND}",
                request.events.len()
            )));
        }
        let (reply, answer) = oneshot::channel();
        self.writer
            .send(Job { request, reply })
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Follows the highest position committed by appends through this handle (and its clones):
    /// how in-process followers of the log learn of new events without polling. Appends by
    /// other processes are not seen here.
    pub fn watch_committed(&self) -> tokio::sync::watch::Receiver<i64> {
        self.shared.committed.subscribe()
    }

    /// Calls `forget` with each user an erasure through this handle (or a clone) erased, as soon
    /// as the erasure has committed and before it returns: what this process keeps of the user
    /// in memory (the command path's folded state) goes at once. `forget` answers false once it
    /// no longer needs to hear (its owner is gone) and is then dropped. It runs under a lock:
    /// keep it short, and never erase or register from inside it.
    ///
    /// Other processes do not hear of it; they never need to for safety: every append and read
    /// checks the key row in the database (docs/architecture.md, invariant 8).
    pub fn on_erasure(
        &self,
        forget: impl Fn(&events_schema::UserId) -> bool + Send + Sync + 'static,
    ) {
        self.shared.erasures.lock().push(Box::new(forget));
    }

    /// Closes the pool once every pending append is answered.
    pub async fn close(self) {
        self.shared.pool.close().await;
    }
}

async fn connect(config: &StoreConfig) -> Result<Pool, StoreError> {
    match config.database_url.kind() {
        BackendKind::Postgres => postgres::connect(config).await.map(Pool::Postgres),
        BackendKind::Sqlite => sqlite::connect(config).await.map(Pool::Sqlite),
    }
}
