//! Applying a batch: the read-table changes and the checkpoints of the partitions it covers,
//! in one transaction. The checkpoints are read inside that transaction (locked on Postgres),
//! and events at or below them are skipped, so a redelivered or concurrently applied event
//! counts once whoever applies it.

use std::collections::{BTreeSet, HashMap};

use chrono_tz::Tz;
use event_store::db::{self, Durability, Value};
use event_store::progress::record as progress;
use event_store::{Pool, Tx};
use events_schema::RecordedEvent;

use crate::model::{CartLine, CartUser, Changes, Projection, Rows};
use crate::sql::{self, Dialect};

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] event_store::StoreError),
    #[error(transparent)]
    Transport(#[from] event_store::transport::TransportError),
    #[error("{0}")]
    Config(String),
}

/// Each projection's checkpoint on each partition, as a batch's transaction read them.
pub(crate) type Checkpoints = HashMap<(String, u32), i64>;

/// What one batch covers: these partitions are complete through `through` once it commits.
#[derive(Debug, Clone)]
pub struct Coverage {
    pub partitions: Vec<u32>,
    pub through: i64,
    /// The JetStream sequence to resume the (single) partition's consumer after.
    pub stream_seq: Option<u64>,
}

/// Applies batches of events to a set of projections' tables.
#[derive(Debug, Clone)]
pub struct Applier {
    pool: Pool,
    /// The store whose user keys seal the personal text written into the read tables, and
    /// whose derived key hashes users' names for search (docs/architecture.md, invariant 8).
    store: event_store::EventStore,
    tz: Tz,
    partitions: u32,
    projections: Vec<Projection>,
    /// Table name suffix (`""` live, `_rebuild` while rebuilding).
    suffix: &'static str,
    /// Whether the batch moves `projection_checkpoints` (not for a rebuild's own tables).
    checkpoints: bool,
    /// Tables written with plain inserts (a rebuild's bulk phase: rows never repeat).
    append_only: &'static [&'static str],
    /// The keys written so far (a rebuild's bulk phase): rows with new keys are plain inserts.
    fresh: Option<std::sync::Arc<sql::FreshKeys>>,
}

impl Applier {
    /// The live applier for every projection.
    pub fn live(store: &event_store::EventStore, tz: Tz, partitions: u32) -> Applier {
        Applier {
            pool: store.pool().clone(),
            store: store.clone(),
            tz,
            partitions,
            projections: Projection::ALL.to_vec(),
            suffix: "",
            checkpoints: true,
            append_only: &[],
            fresh: None,
        }
    }

    /// Writes into `<table>_rebuild` for `projections`, without checkpoints.
    pub(crate) fn rebuilding(
        store: &event_store::EventStore,
        tz: Tz,
        partitions: u32,
        projections: Vec<Projection>,
    ) -> Applier {
        Applier {
            pool: store.pool().clone(),
            store: store.clone(),
            tz,
            partitions,
            projections,
            suffix: crate::rebuild::SUFFIX,
            checkpoints: false,
            append_only: crate::rebuild::APPEND_ONLY,
            fresh: Some(std::sync::Arc::default()),
        }
    }

    /// Writes `projections` into a past model's own tables (`as_of`), in one partition and
    /// without checkpoints: the model is replayed once, from the start.
    pub(crate) fn model(
        store: &event_store::EventStore,
        tz: Tz,
        projections: Vec<Projection>,
    ) -> Applier {
        Applier {
            pool: store.pool().clone(),
            store: store.clone(),
            tz,
            partitions: 1,
            projections,
            suffix: "",
            checkpoints: false,
            append_only: &[],
            fresh: None,
        }
    }

    /// The same, writing every table with upserts.
    pub(crate) fn upserting(&self) -> Applier {
        Applier {
            append_only: &[],
            fresh: None,
            ..self.clone()
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Applies `events` (in position order) and moves the covered checkpoints, in one
    /// transaction. Returns how many events were new to at least one projection.
    pub async fn apply(
        &self,
        events: &[RecordedEvent],
        coverage: &Coverage,
    ) -> Result<usize, ProjectorError> {
        let started = std::time::Instant::now();
        let mut tx = begin(&self.pool).await?;
        let done = self.lock_checkpoints(&mut tx, &coverage.partitions).await?;
        let fresh = self.apply_in(&mut tx, events, &done).await?;
        self.advance(&mut tx, coverage).await?;
        tx.commit().await?;
        crate::metrics::applied(events.len(), fresh, started.elapsed());
        Ok(fresh)
    }

    /// The checkpoints of `partitions`, locked until the transaction ends (none for a
    /// rebuild's own tables).
    pub(crate) async fn lock_checkpoints(
        &self,
        tx: &mut Tx,
        partitions: &[u32],
    ) -> Result<Checkpoints, sqlx::Error> {
        if self.checkpoints {
            progress::lock_checkpoints(tx, partitions).await
        } else {
            Ok(HashMap::new())
        }
    }

    /// Moves the checkpoints of what `coverage` covers, in the batch's transaction.
    pub(crate) async fn advance(
        &self,
        tx: &mut Tx,
        coverage: &Coverage,
    ) -> Result<(), sqlx::Error> {
        if self.checkpoints {
            progress::advance(
                tx,
                &self
                    .projections
                    .iter()
                    .map(|p| p.name())
                    .collect::<Vec<_>>(),
                &coverage.partitions,
                coverage.through,
                coverage.stream_seq,
            )
            .await?;
        }
        Ok(())
    }

    /// Folds `events` into the tables inside `tx`, for each projection only the events above
    /// its checkpoint in `done`; how many events were new to at least one projection.
    pub(crate) async fn apply_in(
        &self,
        tx: &mut Tx,
        events: &[RecordedEvent],
        done: &Checkpoints,
    ) -> Result<usize, ProjectorError> {
        let checkpoint = |projection: Projection, partition| {
            done.get(&(projection.name().to_owned(), partition))
                .copied()
                .unwrap_or(0)
        };
        // Carts are a running state: the batch folds on from the stored state of its users,
        // read under the checkpoint lock (so no other batch of theirs is in between).
        let mut seed = Changes::default();
        if self.projections.contains(&Projection::Carts) {
            let users: BTreeSet<&str> = events
                .iter()
                .filter(|e| {
                    e.global_position
                        > checkpoint(Projection::Carts, e.stream_id.partition(self.partitions))
                })
                .filter_map(|e| e.stream_id.user_str())
                .collect();
            seed.cart_users = cart_users(tx, self.suffix, &users).await?;
        }
        let (changes, fresh) = self.fold(seed, events, checkpoint);
        self.write(tx, changes).await?;
        Ok(fresh)
    }

    pub(crate) fn projections(&self) -> &[Projection] {
        &self.projections
    }

    /// Whether batches move `projection_checkpoints` (the live tables, not a rebuild's).
    pub(crate) fn live_checkpoints(&self) -> bool {
        self.checkpoints
    }

    /// The changes of the events above `checkpoint(projection, partition)`.
    pub(crate) fn fold(
        &self,
        mut changes: Changes,
        events: &[RecordedEvent],
        checkpoint: impl Fn(Projection, u32) -> i64,
    ) -> (Changes, usize) {
        let mut fresh = 0;
        for e in events {
            // One message's path ends here: its events carry the correlation id the command
            // path's span recorded.
            let _span = tracing::trace_span!(
                "project",
                correlation_id = %e.correlation_id,
                position = e.global_position
            )
            .entered();
            let partition = e.stream_id.partition(self.partitions);
            let behind: Vec<Projection> = self
                .projections
                .iter()
                .copied()
                .filter(|&p| e.global_position > checkpoint(p, partition))
                .collect();
            changes.add(&behind, e, partition, self.tz);
            fresh += usize::from(!behind.is_empty());
        }
        (changes, fresh)
    }

    pub(crate) async fn write(&self, tx: &mut Tx, changes: Changes) -> Result<(), ProjectorError> {
        let dialect = Dialect::of(&self.pool);
        // Erased users' rows go first, in one statement per table.
        let erased: Vec<Value> = changes.erased_users.iter().map(Value::from).collect();
        for chunk in erased.chunks(1_000) {
            for table in sql::USER_TABLES {
                let owner = match *table {
                    "conversation_messages" => Projection::Conversations,
                    _ => Projection::Users,
                };
                if self.projections.contains(&owner) {
                    db::query(format!(
                        "DELETE FROM {table}{} WHERE user_id IN ({})",
                        self.suffix,
                        db::placeholders(1, chunk.len())
                    ))
                    .bind_all(chunk.iter().cloned())
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        // Personal text is sealed under its user's live key, read inside this transaction
        // (docs/architecture.md, invariant 8): a user erased meanwhile has none, and nothing
        // of theirs is written.
        let users = changes.personal_text_users();
        let keys = self.store.read_keys_in(tx, &users).await?;
        let seal = sql::Sealing {
            keys: &keys,
            names: self.store.name_index(),
        };
        let mut upserts = sql::upserts(changes, &seal);
        for upsert in &mut upserts {
            upsert.insert_only = self.append_only.contains(&upsert.table);
            if let (Some(fresh), Dialect::Postgres) = (&self.fresh, dialect)
                && !upsert.insert_only
            {
                fresh.split(upsert);
            }
        }
        match tx {
            Tx::Postgres(t) => sql::write_pg(t, upserts, self.suffix).await?,
            Tx::Sqlite(_) => {
                for upsert in upserts {
                    for (statement, values) in upsert.statements(dialect, self.suffix) {
                        db::query(statement)
                            .bind_all(values)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A batch's transaction. Read tables are derived and their checkpoints commit with them, so
/// a commit lost in a database crash rolls back data and checkpoint together, and the events
/// come again from JetStream or the log.
pub(crate) async fn begin(pool: &Pool) -> Result<Tx, sqlx::Error> {
    pool.begin(Durability::Replayable).await
}

/// The stored carts and sessions of `users` (`cart_users`, with the table suffix), to fold a
/// batch on from. Users without a row have an empty cart and no session.
async fn cart_users(
    tx: &mut Tx,
    suffix: &str,
    users: &BTreeSet<&str>,
) -> Result<Rows<String, CartUser>, sqlx::Error> {
    let users: Vec<&str> = users.iter().copied().collect();
    let mut found = Rows::default();
    for chunk in users.chunks(1_000) {
        type Row = (String, Option<i64>, i64, i64, i64, String);
        let rows: Vec<Row> = db::query(format!(
            "SELECT user_id, session_start_us, last_activity_us, CAST(carted AS BIGINT), \
               CAST(ordered AS BIGINT), lines \
             FROM cart_users{suffix} WHERE user_id IN ({})",
            db::placeholders(1, chunk.len())
        ))
        .bind_all(chunk.iter().map(|&u| Value::from(u)))
        .fetch_all(&mut *tx)
        .await?;
        for (user, start, last, carted, ordered, lines) in rows {
            let lines: Vec<CartLine> = serde_json::from_str(&lines).map_err(|e| {
                sqlx::Error::Protocol(format!("cart_users{suffix}: `lines` of {user}: {e}"))
            })?;
            found.insert(
                user,
                CartUser {
                    session_start_us: start,
                    last_activity_us: last,
                    carted: carted != 0,
                    ordered: ordered != 0,
                    lines,
                },
            );
        }
    }
    Ok(found)
}
