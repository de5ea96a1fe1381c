//! `salesbot rebuild [PROJECTION]`: replays the event store (the system of record) into fresh
//! copies of a projection's tables (`<table>_rebuild`) while the live tables keep serving, then
//! swaps them in one transaction.
//!
//! The swap transaction locks the projection's checkpoints (live workers wait), brings the new
//! tables exactly up to each partition's checkpoint, moves the checkpoints to where the rebuild
//! read (so workers skip what the new tables already hold), drops the old tables and renames
//! the new ones. Readers see the old tables or the new ones, never an empty or half-built one.
//! Interrupting a rebuild leaves the live tables as they were; a rerun starts over.

mod bulk;
mod copies;
mod swap;

use std::time::{Duration, Instant};

use chrono_tz::Tz;
use event_store::db;
use event_store::{EventStore, Pool};

use crate::apply::{self, Applier, ProjectorError};
use crate::model::Projection;

pub(crate) use copies::APPEND_ONLY;

pub(crate) const SUFFIX: &str = "_rebuild";
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
    let applier = Applier::rebuilding(store, tz, partitions, projections.clone());
    let deferred = copies::create_copies(&pool, &projections).await?;
    let mut timings = Timings::default();
    let bulk::Bulk {
        position,
        mut events,
        carts,
    } = bulk::read_fold_write(
        store,
        &applier,
        &projections,
        (partitions, tz),
        flush_events,
        &mut timings,
        &mut progress,
    )
    .await?;
    let indexing = Instant::now();
    copies::build_deferred(&pool, &deferred).await?;
    timings.indexes = indexing.elapsed();
    let swapping = Instant::now();
    // The swap writes with upserts: every key is indexed by now.
    let applier = applier.upserting();
    events += swap::swap(
        store,
        &applier,
        &projections,
        (partitions, tz),
        same_settings,
        position,
        carts,
    )
    .await?;
    timings.swap = swapping.elapsed();
    Ok(Rebuilt {
        projections,
        events,
        position,
        timings,
    })
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
    event_store::progress::record::forget_stream_sequences(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}
