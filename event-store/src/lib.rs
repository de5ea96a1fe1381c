//! The salesbot event log: append with optimistic concurrency and group commit, read one stream
//! or the whole log in global order, snapshots, and per-user encryption of personal data.
//! Postgres and SQLite sit behind one interface, chosen by `DATABASE_URL`.

mod checkpoint;
mod config;
mod crypto;
mod error;
mod group_commit;
mod keys;
mod lease;
mod migrate;
mod postgres;
pub mod private;
pub mod progress;
mod read;
mod sqlite;
mod stored;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod transport;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use events_schema::{NewEvent, RawEvent, RecordedEvent, StreamId, UserId};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument as _;

pub use config::{BackendKind, DatabaseUrl, StoreConfig};
pub use crypto::MasterKey;
pub use error::{AppendError, StoreError, transient_sqlx};
pub use lease::Lease;
pub use migrate::MigrationStatus;
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

/// The store's connection pool, for the read models that live in the same database (the
/// projector writes them, the query API reads them).
#[derive(Debug, Clone)]
pub enum Pool {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// What the writer task and readers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) pool: Pool,
    pub(crate) keys: KeyCache,
    /// The highest position this process has committed (0 until its first append).
    pub(crate) committed: tokio::sync::watch::Sender<i64>,
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

pub use read::{SkipReason, skipped_newer};

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
        close(&pool).await;
        status
    }

    pub fn backend(&self) -> BackendKind {
        match self.shared.pool {
            Pool::Postgres(_) => BackendKind::Postgres,
            Pool::Sqlite(_) => BackendKind::Sqlite,
        }
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

    /// Events of one stream with `stream_version >= from_version`, in order.
    pub async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = match &self.shared.pool {
            Pool::Postgres(p) => postgres::read_stream(p, stream_id, from_version).await?,
            Pool::Sqlite(p) => sqlite::read_stream(p, stream_id, from_version).await?,
        };
        self.decode(rows).await
    }

    /// Up to `limit` events with `global_position > after`, in increasing position. An event
    /// never shows up later at a position below one already returned.
    pub async fn read_all(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = self.read_all_stored(after, limit).await?;
        self.decode(rows).await
    }

    /// The events with `after < global_position <= through`, in increasing position, where
    /// `through` is at most [`EventStore::head_position`] read earlier: every position up to the
    /// head has committed, so such a range is complete (a rebuild reads several at once).
    /// Positions are unique, so the range holds at most `through - after` events: the caller
    /// keeps it narrow.
    pub async fn read_range(
        &self,
        after: i64,
        through: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        if through <= after {
            return Ok(Vec::new());
        }
        let rows = match &self.shared.pool {
            Pool::Postgres(p) => postgres::read_range(p, after, through).await?,
            Pool::Sqlite(p) => sqlite::read_range(p, after, through).await?,
        };
        self.decode(rows).await
    }

    /// Like [`EventStore::read_all`], with the position of the last event read, which is past
    /// the last one returned when events a newer release wrote were skipped at the end
    /// ([`Newer::Skip`]): where the next page starts (`after` when nothing was left).
    pub async fn read_all_through(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<RecordedEvent>, i64), StoreError> {
        let rows = self.read_all_stored(after, limit).await?;
        let through = rows.last().map_or(after, |r| r.global_position);
        Ok((self.decode(rows).await?, through))
    }

    async fn decode(&self, rows: Vec<read::Row>) -> Result<Vec<RecordedEvent>, StoreError> {
        let key_ids = read::key_ids(&rows);
        let records = self.key_records(&key_ids).await?;
        read::decode_rows(rows, &records, &self.shared.keys, self.newer)
    }

    async fn key_records(
        &self,
        key_ids: &[uuid::Uuid],
    ) -> Result<HashMap<uuid::Uuid, keys::KeyRecord>, StoreError> {
        if key_ids.is_empty() {
            return Ok(HashMap::new());
        }
        match &self.shared.pool {
            Pool::Postgres(p) => postgres::key_records(p, key_ids).await,
            Pool::Sqlite(p) => sqlite::key_records(p, key_ids).await,
        }
    }

    /// The highest global position handed out (0 for an empty log).
    pub async fn head_position(&self) -> Result<i64, StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => postgres::head(p).await,
            Pool::Sqlite(p) => sqlite::head(p).await,
        }
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => postgres::stats(p).await,
            Pool::Sqlite(p) => sqlite::stats(p).await,
        }
    }

    /// Stores the folded state of a stream at `stream_version`, sealed with the stream user's
    /// key. An older snapshot never replaces a newer one. Returns `false` (nothing stored) when
    /// the user has no live key (never wrote, or was erased): a snapshot never brings erased
    /// data back under a new key.
    pub async fn save_snapshot(
        &self,
        stream_id: &StreamId,
        stream_version: i64,
        state: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let plain = serde_json::to_vec(state)
            .map_err(|e| StoreError::Internal(format!("a snapshot: {e}")))?;
        let aad = |key_id| snapshot_aad(stream_id, stream_version, key_id);
        let user = stream_id.user_id();
        let keys = &self.shared.keys;
        match &self.shared.pool {
            Pool::Postgres(p) => {
                postgres::save_snapshot(p, keys, stream_id, user, stream_version, &plain, aad).await
            }
            Pool::Sqlite(p) => {
                sqlite::save_snapshot(p, keys, stream_id, user, stream_version, &plain, aad).await
            }
        }
    }

    /// The latest snapshot of a stream; `None` if there is none or its user was erased.
    pub async fn load_snapshot(
        &self,
        stream_id: &StreamId,
    ) -> Result<Option<Snapshot>, StoreError> {
        let stored = match &self.shared.pool {
            Pool::Postgres(p) => postgres::load_snapshot(p, stream_id).await?,
            Pool::Sqlite(p) => sqlite::load_snapshot(p, stream_id).await?,
        };
        let Some((stream_version, key_id, sealed)) = stored else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::CorruptKey {
            key_id: key_id.unwrap_or_default(),
            reason: format!("snapshot of {stream_id}: {reason}"),
        };
        let plain = match key_id {
            None => sealed,
            Some(key_id) => {
                let records = self.key_records(&[key_id]).await?;
                let Some(record) = records.get(&key_id) else {
                    return Err(corrupt("its key is missing from user_keys".into()));
                };
                let Some(wrapped) = &record.wrapped else {
                    return Ok(None);
                };
                let key = self.shared.keys.unwrap(key_id, &record.user_id, wrapped)?;
                key.open(
                    &sealed,
                    &snapshot_aad(stream_id, stream_version, Some(key_id)),
                )
                .map_err(|e| corrupt(e.to_string()))?
            }
        };
        let state =
            serde_json::from_slice(&plain).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        Ok(Some(Snapshot {
            stream_version,
            state,
        }))
    }

    /// Crypto-shredding: destroys the user's key (their personal fields then read as `null`,
    /// flagged `erased`) and drops their snapshots. Returns false if they had no live key.
    pub async fn destroy_user_key(&self, user: &UserId) -> Result<bool, StoreError> {
        let destroyed = match &self.shared.pool {
            Pool::Postgres(p) => postgres::destroy_user_key(p, user).await?,
            Pool::Sqlite(p) => sqlite::destroy_user_key(p, user).await?,
        };
        for key_id in &destroyed {
            self.shared.keys.forget(*key_id);
        }
        Ok(!destroyed.is_empty())
    }

    /// Erases a user (crypto-shredding, ARCHITECTURE.md invariant 8): records `UserErased` in
    /// their stream, then destroys their keys and snapshots. Their personal fields read as null
    /// with the `erased` flag from then on, everywhere; the log itself is unchanged, so the
    /// aggregates stay right. `None` when the user has no events.
    ///
    /// The event goes first: the projector removes the user's rows from the user read tables
    /// when it sees it. A crash between the two steps leaves the key in place and the rows
    /// gone; running the erasure again finishes it (it appends nothing when the stream already
    /// ends with `UserErased`, and destroys what key is left). The other order could
    /// leave plaintext in the read tables with no event to remove it.
    pub async fn erase_user(
        &self,
        user: &UserId,
        requested_by: &str,
    ) -> Result<Option<Erased>, AppendError> {
        let stream = user.stream_id();
        let last: Option<(String, i64)> = match &self.shared.pool {
            Pool::Postgres(p) => {
                sqlx::query_as(
                    "SELECT event_type, global_position FROM events WHERE stream_id = $1 \
                     ORDER BY stream_version DESC LIMIT 1",
                )
                .bind(stream.as_str())
                .fetch_optional(p)
                .await
            }
            Pool::Sqlite(p) => {
                sqlx::query_as(
                    "SELECT event_type, global_position FROM events WHERE stream_id = ?1 \
                     ORDER BY stream_version DESC LIMIT 1",
                )
                .bind(stream.as_str())
                .fetch_optional(p)
                .await
            }
        }
        .map_err(StoreError::from)?;
        let position = match last {
            None => return Ok(None),
            // Erased already (or interrupted after the event): only the key may be left.
            Some((event_type, position)) if event_type == "UserErased" => position,
            Some(_) => {
                self.append(
                    &stream,
                    ExpectedVersion::Any,
                    vec![NewEvent::new(
                        events_schema::UserErased {
                            requested_by: requested_by.to_owned(),
                        },
                        chrono::Utc::now(),
                    )],
                )
                .await?
                .last_position
            }
        };
        let key_destroyed = self.destroy_user_key(user).await?;
        Ok(Some(Erased {
            position,
            key_destroyed,
        }))
    }

    /// Empties the log, keys and snapshots. Irreversible.
    pub async fn reset(&self) -> Result<(), StoreError> {
        match &self.shared.pool {
            Pool::Postgres(p) => postgres::reset(p).await?,
            Pool::Sqlite(p) => sqlite::reset(p).await?,
        }
        self.shared.keys.clear();
        Ok(())
    }

    /// Closes the pool once every pending append is answered.
    pub async fn close(self) {
        close(&self.shared.pool).await;
    }
}

fn snapshot_aad(stream_id: &StreamId, version: i64, key_id: Option<uuid::Uuid>) -> Vec<u8> {
    format!(
        "snapshot:{stream_id}:{version}:{}",
        key_id.unwrap_or_default()
    )
    .into_bytes()
}

async fn connect(config: &StoreConfig) -> Result<Pool, StoreError> {
    match config.database_url.kind() {
        BackendKind::Postgres => postgres::connect(config).await.map(Pool::Postgres),
        BackendKind::Sqlite => sqlite::connect(config).await.map(Pool::Sqlite),
    }
}

async fn close(pool: &Pool) {
    match pool {
        Pool::Postgres(p) => p.close().await,
        Pool::Sqlite(p) => p.close().await,
    }
}
