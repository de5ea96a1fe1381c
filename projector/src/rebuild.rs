//! `salesbot rebuild [PROJECTION]`: replays the event store (the system of record) into fresh
//! copies of a projection's tables (`<table>_rebuild`) while the live tables keep serving, then
//! swaps them in one transaction.
//!
//! The swap transaction locks the projection's checkpoints (live workers wait), brings the new
//! tables exactly up to each partition's checkpoint, moves the checkpoints to where the rebuild
//! read (so workers skip what the new tables already hold), drops the old tables and renames
//! the new ones. Readers see the old tables or the new ones, never an empty or half-built one.
//! Interrupting a rebuild leaves the live tables as they were; a rerun starts over.

use std::time::{Duration, Instant};

use chrono_tz::Tz;
use event_store::db;
use event_store::{EventStore, Pool, Tx};

use crate::apply::{self, Applier, ProjectorError};
use crate::model::{Changes, Projection};
use crate::sql::Dialect;

pub(crate) const SUFFIX: &str = "_rebuild";
/// Positions read per step (at most [`event_store::MAX_READ_BATCH`] events).
const STEP: i64 = 10_000;
/// Steps read at once.
const READS_AHEAD: usize = 3;
/// Counter rows held across flushes, at most.
const HELD_COUNTER_ROWS: usize = 100_000;
/// Events folded in memory between writes, unless the caller says otherwise.
pub const FLUSH_EVENTS: u32 = 50_000;

/// How a rebuild went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    pub projections: Vec<Projection>,
    pub events: u64,
    /// The log position the new tables were complete through at the swap.
    pub position: i64,
    pub timings: Timings,
}

/// Where a rebuild's time went (wall clock; the stages overlap, so the waits are what the fold
/// loop spent waiting for the reader or the writers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for the next step of events (read and decoded in the background).
    pub read_wait: Duration,
    /// Folding events into rows.
    pub fold: Duration,
    /// Waiting for the previous flush to commit.
    pub write_wait: Duration,
    /// Building the indexes deferred until the rows were in (Postgres).
    pub indexes: Duration,
    /// The swap: catching up to the live checkpoints and renaming, in one transaction.
    pub swap: Duration,
}

/// Rebuilds `projections` (all of them when empty), writing after every `flush_events` events.
/// `progress(position, head)` is called after every step.
pub async fn rebuild(
    store: &EventStore,
    tz: Tz,
    partitions: u32,
    projections: &[Projection],
    flush_events: usize,
    mut progress: impl FnMut(i64, i64),
) -> Result<Rebuilt, ProjectorError> {
    let projections = if projections.is_empty() {
        Projection::ALL.to_vec()
    } else {
        projections.to_vec()
    };
    // A rebuild by a release that is behind skips what a newer one wrote (README, "Upgrading").
    let store = &store.skipping_newer();
    let pool = store.pool().clone();
    let full = projections.len() == Projection::ALL.len();
    let settings = crate::worker::read_settings(&pool).await?;
    let same_settings = settings.get("report_timezone").map(String::as_str) == Some(tz.name())
        && settings.get("partitions") == Some(&partitions.to_string());
    if !same_settings && !settings.is_empty() && !full {
        return Err(ProjectorError::Config(
            "REPORT_TIMEZONE or PARTITIONS changed since the read models were built: rebuild \
             every projection (`salesbot rebuild` without a name)"
                .into(),
        ));
    }
    let applier = Applier::rebuilding(pool.clone(), tz, partitions, projections.clone());
    let deferred = create_copies(&pool, &projections).await?;
    let mut timings = Timings::default();
    let mut position = 0;
    let mut events = 0u64;
    // Bulk: read, fold and write up to the head as it moves. Several ranges of the log are read
    // (and their personal fields opened) at once while this one is folded, and flushes are
    // written in the background while the following ones fold.
    let read_range = |after: i64, through: i64| {
        let store = store.clone();
        let read = tokio::spawn(async move { store.read_range(after, through).await });
        (through, read)
    };
    let mut head = store.head_position().await?;
    // Where the log starts (`salesbot reset` leaves the positions below it empty).
    let mut queued = store
        .read_all_stored(0, 1)
        .await?
        .first()
        .map_or(head, |e| e.global_position - 1);
    let mut reads = std::collections::VecDeque::new();
    // A step never holds more events than a flush.
    let step = STEP.min(i64::try_from(flush_events).unwrap_or(STEP)).max(1);
    let mut pending = Changes::default();
    let mut pending_events = 0usize;
    // Counter rows stay in memory across flushes (every flush would otherwise rewrite the same
    // product-day rows), up to a bound.
    let mut held = Changes::default();
    let mut writing = Vec::new();
    loop {
        while reads.len() < READS_AHEAD && queued < head {
            let through = (queued + step).min(head);
            reads.push_back(read_range(queued, through));
            queued = through;
        }
        let Some((through, read)) = reads.pop_front() else {
            // Everything up to the head read last is in: done unless it has moved.
            let now = store.head_position().await?;
            if now <= queued {
                break;
            }
            head = now;
            continue;
        };
        let waited = Instant::now();
        let batch = read
            .await
            .map_err(|e| ProjectorError::Config(format!("rebuild reader: {e}")))??;
        timings.read_wait += waited.elapsed();
        let folding = Instant::now();
        for e in &batch {
            pending.add(&projections, e, e.stream_id.partition(partitions), tz);
        }
        timings.fold += folding.elapsed();
        pending_events += batch.len();
        events += batch.len() as u64;
        position = through;
        // Rows merge in memory over many steps (a user's row is written once per flush, not
        // once per step): far fewer rows reach the database.
        if pending_events >= flush_events {
            held.absorb_counters(&mut pending);
            if held.counter_rows() >= HELD_COUNTER_ROWS {
                pending.absorb_counters(&mut held);
            }
            // Carts are a running state: they stay in memory and are written once, at the end.
            let carts = std::mem::take(&mut pending.cart_users);
            let waited = Instant::now();
            flush(&applier, &mut writing, std::mem::take(&mut pending)).await?;
            timings.write_wait += waited.elapsed();
            pending.cart_users = carts;
            pending_events = 0;
        }
        progress(position, head.max(position));
    }
    pending.absorb_counters(&mut held);
    // The swap folds on from the carts as the bulk left them.
    let mut carts = pending.cart_users.clone();
    if !pending.is_empty() {
        let waited = Instant::now();
        flush(&applier, &mut writing, pending).await?;
        timings.write_wait += waited.elapsed();
    }
    let waited = Instant::now();
    finish(&mut writing).await?;
    timings.write_wait += waited.elapsed();
    let indexing = Instant::now();
    build_deferred(&pool, &deferred).await?;
    timings.indexes = indexing.elapsed();
    let swapping = Instant::now();
    // The swap writes with upserts: every key is indexed by now.
    let applier = applier.upserting();
    // Swap.
    let all: Vec<u32> = (0..partitions).collect();
    let (mut tx, live) = lock_for_swap(&pool, &all, &projections).await?;
    let mut changes = Changes {
        cart_users: std::mem::take(&mut carts),
        ..Changes::default()
    };
    // Only the carts of users with events after the bulk are written again.
    let mut touched = std::collections::HashSet::new();
    if same_settings {
        let target = |projection: Projection, partition: u32| {
            live.get(&(projection.name().to_owned(), partition))
                .copied()
                .unwrap_or(0)
        };
        let highest = live.values().copied().max().unwrap_or(0);
        let mut after = position;
        while after < highest {
            let (batch, last) = store
                .read_all_through(after, event_store::MAX_READ_BATCH)
                .await?;
            if last <= after {
                break;
            }
            for e in &batch {
                let partition = e.stream_id.partition(partitions);
                let behind: Vec<Projection> = projections
                    .iter()
                    .copied()
                    .filter(|&p| e.global_position <= target(p, partition))
                    .collect();
                if behind.contains(&Projection::Carts)
                    && let Some(user) = e.stream_id.user_str()
                {
                    touched.insert(user.to_owned());
                }
                changes.add(&behind, e, partition, tz);
            }
            events += batch.len() as u64;
            after = last;
        }
    }
    changes.cart_users.retain(|user, _| touched.contains(user));
    applier.write(&mut tx, changes).await?;
    let names = projections
        .iter()
        .map(|p| format!("'{}'", p.name()))
        .collect::<Vec<_>>()
        .join(", ");
    if same_settings {
        db::query(format!(
            "UPDATE projection_checkpoints SET \
               position = {greatest}(position, $1) WHERE projection IN ({names})",
            greatest = Dialect::of_tx(&tx).greatest(),
        ))
        .bind(position)
        .execute(&mut tx)
        .await?;
    } else {
        // New partitioning or time zone: every checkpoint starts where the rebuild read, and
        // consumers replay the stream from its start, skipping what the tables hold.
        for table in ["projection_checkpoints", "projector_heartbeats"] {
            db::query(format!("DELETE FROM {table}"))
                .execute(&mut tx)
                .await?;
        }
        for projection in Projection::ALL {
            for partition in 0..partitions {
                db::query(
                    "INSERT INTO projection_checkpoints \
                       (projection, partition, position, stream_seq, updated_us) \
                     VALUES ($1, $2, $3, 0, 0)",
                )
                .bind(projection.name())
                .bind(partition)
                .bind(position)
                .execute(&mut tx)
                .await?;
            }
        }
        db::query("DELETE FROM projection_settings")
            .execute(&mut tx)
            .await?;
        for (name, value) in [
            ("report_timezone", tz.name().to_owned()),
            ("partitions", partitions.to_string()),
        ] {
            db::query("INSERT INTO projection_settings (name, value) VALUES ($1, $2)")
                .bind(name)
                .bind(value)
                .execute(&mut tx)
                .await?;
        }
    }
    for projection in &projections {
        for table in projection.tables() {
            db::query(format!("DROP TABLE {table}"))
                .execute(&mut tx)
                .await?;
            db::query(format!("ALTER TABLE {table}{SUFFIX} RENAME TO {table}"))
                .execute(&mut tx)
                .await?;
        }
    }
    tx.commit().await?;
    timings.swap = swapping.elapsed();
    Ok(Rebuilt {
        projections,
        events,
        position,
        timings,
    })
}

/// Begins the swap transaction: the checkpoints first (as every projector batch takes them, so
/// no batch is left holding a table), then every table involved, without waiting while holding
/// anything: a reader holding one table while waiting for another would otherwise deadlock
/// with the swap. Retries until it has them all.
async fn lock_for_swap(
    pool: &Pool,
    partitions: &[u32],
    projections: &[Projection],
) -> Result<(Tx, std::collections::HashMap<(String, u32), i64>), ProjectorError> {
    let tables: Vec<String> = projections
        .iter()
        .flat_map(|p| p.tables())
        .flat_map(|t| [(*t).to_owned(), format!("{t}{SUFFIX}")])
        .collect();
    let mut attempts = 0u32;
    loop {
        let mut tx = apply::begin(pool).await?;
        let live = apply::locked_checkpoints(&mut tx, partitions).await?;
        if let Tx::Sqlite(_) = tx {
            // The write lock is held; WAL readers keep their snapshot and never block.
            return Ok((tx, live));
        }
        let lock = format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT",
            tables.join(", ")
        );
        match db::query(lock).execute(&mut tx).await {
            Ok(_) => return Ok((tx, live)),
            Err(e)
                if e.as_database_error()
                    .and_then(|d| d.code())
                    .is_some_and(|c| c == "55P03") =>
            {
                drop(tx);
                attempts += 1;
                if attempts.is_multiple_of(100) {
                    tracing::info!(
                        attempts,
                        "rebuild: readers keep the tables busy; still trying to swap"
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

type Writing = Vec<tokio::task::JoinHandle<Result<(), ProjectorError>>>;

/// Writes `changes` in the background while the next events are read and folded. Flushes
/// commit in order (a flush starts once the previous one has committed: the latest username or
/// budget must win). On Postgres the tables go on three connections at once, unless the flush
/// erases a user (its deletes must come first).
async fn flush(
    applier: &Applier,
    writing: &mut Writing,
    mut changes: Changes,
) -> Result<(), ProjectorError> {
    finish(writing).await?;
    let parts = match applier.pool() {
        // Three connections with about the same number of rows each (no two write one table).
        Pool::Postgres(_) if changes.erased_users.is_empty() => {
            let messages = Changes {
                messages: std::mem::take(&mut changes.messages),
                ..Changes::default()
            };
            let users = Changes {
                users: std::mem::take(&mut changes.users),
                user_products: std::mem::take(&mut changes.user_products),
                user_sales: std::mem::take(&mut changes.user_sales),
                funnel_values: std::mem::take(&mut changes.funnel_values),
                ..Changes::default()
            };
            vec![messages, users, changes]
        }
        _ => vec![changes],
    };
    for part in parts {
        let applier = applier.clone();
        writing.push(tokio::spawn(async move {
            let mut tx = apply::begin(applier.pool()).await?;
            applier.write(&mut tx, part).await?;
            tx.commit().await?;
            Ok(())
        }));
    }
    Ok(())
}

/// Waits for the flushes in flight.
async fn finish(writing: &mut Writing) -> Result<(), ProjectorError> {
    for task in writing.drain(..) {
        task.await
            .map_err(|e| ProjectorError::Config(format!("rebuild writer: {e}")))??;
    }
    Ok(())
}

/// Tables whose rows are each one event: a bulk read visits every event once, so it never
/// writes one of their rows twice, and they are filled with plain inserts into a copy without
/// indexes (the key is built once the rows are in: one sort instead of a lookup per row).
pub(crate) const APPEND_ONLY: &[&str] = &["conversation_messages"];

/// Creates empty `<table>_rebuild` copies of the projections' tables, dropping any left by an
/// interrupted rebuild. On Postgres a copy gets only the primary key its upserts need; the other
/// indexes (and the key of an append-only table) are returned, to be built after the bulk
/// write, per table.
async fn create_copies(
    pool: &Pool,
    projections: &[Projection],
) -> Result<Vec<Vec<String>>, ProjectorError> {
    let mut tx = apply::begin(pool).await?;
    let mut deferred = Vec::new();
    for projection in projections {
        for table in projection.tables() {
            db::query(format!("DROP TABLE IF EXISTS {table}{SUFFIX}"))
                .execute(&mut tx)
                .await?;
            match &mut tx {
                Tx::Postgres(t) => {
                    sqlx::query(&format!(
                        "CREATE TABLE {table}{SUFFIX} \
                           (LIKE {table} INCLUDING ALL EXCLUDING INDEXES)"
                    ))
                    .execute(&mut **t)
                    .await?;
                    // The live table's key (as a constraint) and other indexes.
                    let indexes: Vec<(bool, String)> = sqlx::query_as(
                        "SELECT i.indisprimary, CASE WHEN i.indisprimary \
                           THEN pg_get_constraintdef(c.oid) ELSE pg_get_indexdef(i.indexrelid) END \
                         FROM pg_index i LEFT JOIN pg_constraint c \
                           ON c.conindid = i.indexrelid AND c.contype = 'p' \
                         WHERE i.indrelid = $1::regclass ORDER BY i.indexrelid",
                    )
                    .bind(*table)
                    .fetch_all(&mut **t)
                    .await?;
                    let mut later = Vec::new();
                    for (primary, definition) in indexes {
                        let statement = if primary {
                            format!("ALTER TABLE {table}{SUFFIX} ADD {definition}")
                        } else {
                            // `CREATE [UNIQUE] INDEX name ON public.t USING …`: unnamed on the
                            // copy (index names are unique per schema).
                            let (Some(head), Some(using)) =
                                (definition.find(" INDEX "), definition.find(" USING "))
                            else {
                                return Err(ProjectorError::Config(format!(
                                    "cannot copy the index `{definition}` of {table}"
                                )));
                            };
                            format!(
                                "{} INDEX ON {table}{SUFFIX}{}",
                                &definition[..head],
                                &definition[using..]
                            )
                        };
                        if primary && !APPEND_ONLY.contains(table) {
                            sqlx::query(&statement).execute(&mut **t).await?;
                        } else {
                            later.push(statement);
                        }
                    }
                    deferred.push(later);
                }
                Tx::Sqlite(t) => {
                    let ddl: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT type, name, sql FROM sqlite_master \
                         WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC",
                    )
                    .bind(*table)
                    .fetch_all(&mut **t)
                    .await?;
                    for (kind, name, sql) in ddl {
                        // After a rename SQLite quotes names in the stored DDL, so keep only
                        // what follows the first parenthesis and write the head anew.
                        let Some(body) = sql.find('(').map(|i| &sql[i..]) else {
                            continue;
                        };
                        let copy = if kind == "table" {
                            format!("CREATE TABLE {table}{SUFFIX} {body}")
                        } else {
                            // Index names are unique per database: alternate a suffix.
                            let new_name = match name.strip_suffix("__r") {
                                Some(base) => base.to_owned(),
                                None => format!("{name}__r"),
                            };
                            format!("CREATE INDEX {new_name} ON {table}{SUFFIX} {body}")
                        };
                        sqlx::query(&copy).execute(&mut **t).await?;
                    }
                }
            }
        }
    }
    tx.commit().await?;
    Ok(deferred)
}

/// Builds the deferred indexes: each table's in order, two tables at a time (index builds sort,
/// and a machine has more than one core).
async fn build_deferred(pool: &Pool, deferred: &[Vec<String>]) -> Result<(), ProjectorError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let Pool::Postgres(pg) = pool else {
        return Ok(());
    };
    futures::stream::iter(deferred.iter().filter(|d| !d.is_empty()))
        .map(|statements| async move {
            let mut conn = pg.acquire().await?;
            for statement in statements {
                sqlx::query(statement).execute(&mut *conn).await?;
            }
            Ok::<_, ProjectorError>(())
        })
        .buffer_unordered(2)
        .try_collect::<()>()
        .await
}

/// Empties every read table (`salesbot reset`, with the log): checkpoints keep their positions,
/// which stay valid because positions keep increasing after a reset, but JetStream sequences
/// start over with a new stream.
pub async fn clear(pool: &Pool) -> Result<(), ProjectorError> {
    let mut tx = apply::begin(pool).await?;
    for projection in Projection::ALL {
        for table in projection.tables() {
            db::query(format!("DELETE FROM {table}"))
                .execute(&mut tx)
                .await?;
        }
    }
    db::query("UPDATE projection_checkpoints SET stream_seq = 0")
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
