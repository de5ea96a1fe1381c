//! Backup and restore of the whole log (`salesbot export-log` / `import-log`,
//! docs/architecture.md, "Backup and restore"): the events in stored form (personal fields still
//! sealed) and the per-user keys still wrapped by the master key, read from one consistent
//! snapshot; and their import into an empty store, in one transaction, keeping every event's
//! id and position, with the erasures the log records applied again.
//!
//! The file format itself (lines, header, compression) belongs to the CLI; this module moves
//! rows.

use chrono::{DateTime, Utc};
use events_schema::EventType;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::{self, Durability, Pool, Tx};
use crate::group_commit::NewRow;
use crate::read::COLUMNS;
use crate::{EventStore, StoreError, StoredEvent};

/// One row of `user_keys`: the user's data key wrapped by the master key, or `None` once the
/// key was destroyed (the user was erased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupKey {
    pub key_id: Uuid,
    pub user_id: String,
    #[serde(with = "crate::stored::base64_bytes")]
    pub wrapped_key: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub destroyed_at: Option<DateTime<Utc>>,
}

/// A `user_keys` row as selected: key id, user id, wrapped key, created, destroyed.
type KeyRow = (
    Uuid,
    String,
    Option<Vec<u8>>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// How much one snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupCounts {
    pub events: u64,
    pub keys: u64,
    /// The last position in the snapshot (0 when empty).
    pub head: i64,
}

/// A read transaction over the log and the keys: every page read through it comes from the
/// same moment, however long the export takes and whatever is appended meanwhile.
#[derive(Debug)]
pub struct BackupSnapshot {
    tx: Tx,
}

impl EventStore {
    /// A value that tells whether a backup was written under this store's master key, revealing
    /// nothing about the key: HKDF-SHA256 of the master key with a fixed purpose (a keyed PRF of
    /// a fixed string), base64.
    pub fn backup_check(&self) -> String {
        self.shared.keys.master().backup_check()
    }

    /// Starts a consistent read of the log and the keys (Postgres `REPEATABLE READ`, a SQLite
    /// read transaction). It takes no write lock: appends go on while it is open.
    pub async fn backup_snapshot(&self) -> Result<BackupSnapshot, StoreError> {
        let tx = match self.pool() {
            Pool::Postgres(p) => Tx::Postgres(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN DEFERRED").await?),
        };
        Ok(BackupSnapshot { tx })
    }

    /// Starts an import: refused unless the store is empty and has never handed out a
    /// position (docs/decisions/0018-import-only-into-an-empty-store.md). Holds the write lock
    /// (SQLite) or the `log_head` row (Postgres) until [`Import::commit`], so nothing else
    /// appends meanwhile.
    pub async fn begin_import(&self) -> Result<Import, StoreError> {
        let mut tx = self.pool().begin(Durability::Flushed).await?;
        let lock_head = match tx.kind() {
            crate::BackendKind::Postgres => "SELECT position FROM log_head FOR UPDATE",
            crate::BackendKind::Sqlite => "SELECT position FROM log_head",
        };
        let head: i64 = db::query(lock_head).scalar(&mut tx).await?;
        let events: i64 = db::query("SELECT CAST(COUNT(*) AS BIGINT) FROM events")
            .scalar(&mut tx)
            .await?;
        let keys: i64 = db::query("SELECT CAST(COUNT(*) AS BIGINT) FROM user_keys")
            .scalar(&mut tx)
            .await?;
        if head != 0 || events != 0 || keys != 0 {
            return Err(StoreError::NotEmpty { events, keys, head });
        }
        Ok(Import {
            tx,
            store: self.clone(),
            last_position: 0,
            events: 0,
            keys: 0,
        })
    }
}

impl BackupSnapshot {
    pub async fn counts(&mut self) -> Result<BackupCounts, StoreError> {
        let (events, head): (i64, i64) = db::query(
            "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(MAX(global_position), 0) AS BIGINT) \
             FROM events",
        )
        .fetch_one(&mut self.tx)
        .await?;
        let keys: i64 = db::query("SELECT CAST(COUNT(*) AS BIGINT) FROM user_keys")
            .scalar(&mut self.tx)
            .await?;
        Ok(BackupCounts {
            events: u64::try_from(events).unwrap_or(0),
            keys: u64::try_from(keys).unwrap_or(0),
            head,
        })
    }

    /// Up to `limit` keys after `after` in key id order.
    pub async fn keys(
        &mut self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<BackupKey>, StoreError> {
        let limit = i64::try_from(limit.max(1)).unwrap_or(1);
        let rows: Vec<KeyRow> = match after {
            None => db::query(
                "SELECT key_id, user_id, wrapped_key, created_at, destroyed_at \
                     FROM user_keys ORDER BY key_id LIMIT $1",
            )
            .bind(limit),
            Some(after) => db::query(
                "SELECT key_id, user_id, wrapped_key, created_at, destroyed_at \
                     FROM user_keys WHERE key_id > $1 ORDER BY key_id LIMIT $2",
            )
            .bind(after)
            .bind(limit),
        }
        .fetch_all(&mut self.tx)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(key_id, user_id, wrapped_key, created_at, destroyed_at)| BackupKey {
                    key_id,
                    user_id,
                    wrapped_key,
                    created_at,
                    destroyed_at,
                },
            )
            .collect())
    }

    /// Up to `limit` events after position `after`, in stored form (nothing opened).
    pub async fn events(
        &mut self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = i64::try_from(limit.clamp(1, crate::MAX_READ_BATCH)).unwrap_or(1);
        Ok(db::query(format!(
            "{} WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            crate::reading::SELECT_EVENTS
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&mut self.tx)
        .await?)
    }

    /// Ends the read (it wrote nothing).
    pub async fn close(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}

/// An import in progress: one transaction, committed by [`Import::commit`] or rolled back when
/// dropped, so a failed or interrupted import leaves the store empty.
#[derive(Debug)]
pub struct Import {
    tx: Tx,
    store: EventStore,
    last_position: i64,
    events: u64,
    keys: u64,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub events: u64,
    pub keys: u64,
    pub head: i64,
    /// Users whose erasure (a `UserErased` in the log) destroyed a key the file still held
    /// live: an erasure interrupted before its key was destroyed, in the source.
    pub erasures_reapplied: Vec<String>,
}

/// SQLite allows 32,766 bound variables per statement; keys have 5 columns.
const KEYS_PER_INSERT: usize = 2_000;

impl Import {
    /// Adds keys. Every live key must unwrap under this store's master key, with its own key
    /// id and user id: a file from another master key, or an altered one, is refused.
    pub async fn keys(&mut self, keys: Vec<BackupKey>) -> Result<(), StoreError> {
        let master = self.store.shared.keys.master();
        for k in &keys {
            if let Some(wrapped) = &k.wrapped_key {
                master
                    .unwrap(wrapped, k.key_id, &k.user_id)
                    .map_err(|_| StoreError::WrongMasterKey)?;
            }
        }
        for chunk in keys.chunks(KEYS_PER_INSERT) {
            let mut sql = String::from(
                "INSERT INTO user_keys (key_id, user_id, wrapped_key, created_at, destroyed_at) \
                 VALUES ",
            );
            let mut values: Vec<db::Value> = Vec::with_capacity(chunk.len() * 5);
            for (i, k) in chunk.iter().enumerate() {
                let n = i * 5;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5
                ));
                values.extend([
                    k.key_id.into(),
                    k.user_id.as_str().into(),
                    k.wrapped_key.clone().into(),
                    k.created_at.into(),
                    k.destroyed_at.into(),
                ]);
            }
            db::query(sql)
                .bind_all(values)
                .execute(&mut self.tx)
                .await?;
        }
        self.keys += keys.len() as u64;
        Ok(())
    }

    /// Adds events, which must come in increasing position after those added before. Their
    /// ids, positions and sealed fields are kept as they are.
    pub async fn events(&mut self, events: Vec<StoredEvent>) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            if e.global_position <= self.last_position {
                return Err(StoreError::BadImport(format!(
                    "event at position {} comes after position {}: events must be in \
                     increasing position",
                    e.global_position, self.last_position
                )));
            }
            self.last_position = e.global_position;
            let event_type = EventType::parse(&e.event_type).ok_or_else(|| {
                StoreError::BadImport(format!(
                    "event at position {} has type `{}`, which this release does not know: \
                     import with the release that wrote it, or a newer one",
                    e.global_position, e.event_type
                ))
            })?;
            let schema_version = i32::try_from(e.schema_version)
                .ok()
                .filter(|v| *v >= 1 && i64::from(*v) <= i64::from(event_type.current_version()))
                .ok_or_else(|| {
                    StoreError::BadImport(format!(
                        "event at position {} is {} version {}, which this release does not \
                         know",
                        e.global_position, e.event_type, e.schema_version
                    ))
                })?;
            rows.push(NewRow {
                global_position: e.global_position,
                event_id: e.event_id,
                stream_id: e.stream_id,
                stream_version: e.stream_version,
                event_type: event_type.as_str(),
                schema_version,
                occurred_at: e.occurred_at,
                recorded_at: e.recorded_at,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
                payload: e.payload,
                key_id: e.key_id,
                personal: e.personal,
            });
        }
        self.events += rows.len() as u64;
        match &mut self.tx {
            Tx::Postgres(tx) => {
                let sql = format!(
                    "INSERT INTO events ({COLUMNS}) {}",
                    crate::postgres::UNNEST_ROWS
                );
                crate::postgres::bind_rows(sqlx::query(&sql), rows)
                    .execute(&mut **tx)
                    .await?;
            }
            Tx::Sqlite(tx) => crate::sqlite::insert_rows(tx, "events", rows).await?,
        }
        Ok(())
    }

    /// Moves the log head to the last event, destroys the keys of users the log says were
    /// erased (invariant 8: erased stays erased), checks that every event's key came with the
    /// file, and commits.
    pub async fn commit(mut self) -> Result<Imported, StoreError> {
        db::query("UPDATE log_head SET position = $1")
            .bind(self.last_position)
            .execute(&mut self.tx)
            .await?;
        let orphans: i64 = db::query(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM events e WHERE e.key_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM user_keys k WHERE k.key_id = e.key_id)",
        )
        .scalar(&mut self.tx)
        .await?;
        if orphans > 0 {
            return Err(StoreError::BadImport(format!(
                "{orphans} events are sealed under keys the file does not hold"
            )));
        }
        let erasures: Vec<(String, i64)> = db::query(
            "SELECT stream_id, CAST(MAX(global_position) AS BIGINT) FROM events \
             WHERE event_type = 'UserErased' GROUP BY stream_id ORDER BY stream_id",
        )
        .fetch_all(&mut self.tx)
        .await?;
        let now = Utc::now();
        let mut reapplied = Vec::new();
        let mut destroyed_keys = Vec::new();
        for (stream_id, erased_at) in erasures {
            let Some(user_id) = stream_id.strip_prefix("user-") else {
                continue;
            };
            // Keys the user's events after the erasure use belong to the user who came back
            // (a new key, docs/architecture.md, "Invariants", 8); every other key goes.
            let destroyed: Vec<Uuid> = db::query(
                "UPDATE user_keys SET wrapped_key = NULL, destroyed_at = $1 \
                 WHERE user_id = $2 AND wrapped_key IS NOT NULL AND key_id NOT IN \
                   (SELECT key_id FROM events WHERE stream_id = $3 AND global_position > $4 \
                    AND key_id IS NOT NULL) \
                 RETURNING key_id",
            )
            .bind(now)
            .bind(user_id)
            .bind(stream_id.as_str())
            .bind(erased_at)
            .scalars(&mut self.tx)
            .await?;
            if !destroyed.is_empty() {
                reapplied.push(user_id.to_owned());
                destroyed_keys.extend(destroyed);
            }
        }
        self.tx.commit().await?;
        for key_id in destroyed_keys {
            self.store.shared.keys.forget(key_id);
        }
        if !reapplied.is_empty() {
            crate::erase::wipe_freed_space(self.store.pool()).await;
        }
        Ok(Imported {
            events: self.events,
            keys: self.keys,
            head: self.last_position,
            erasures_reapplied: reapplied,
        })
    }
}
