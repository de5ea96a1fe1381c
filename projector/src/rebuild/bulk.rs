//! The bulk of a rebuild: read the log up to its head as it moves (several ranges at once, in
//! the background), fold the events in memory, and write the copies in large flushes that
//! commit in order while the next events fold.

use std::time::Instant;

use chrono_tz::Tz;
use event_store::{EventStore, Pool};

use super::Timings;
use crate::apply::{self, Applier, ProjectorError};
use crate::model::{CartUser, Changes, Projection, Rows};

/// Positions read per step (at most [`event_store::MAX_READ_BATCH`] events).
const STEP: i64 = 10_000;
/// Steps read at once.
const READS_AHEAD: usize = 3;
/// Counter rows held across flushes, at most.
const HELD_COUNTER_ROWS: usize = 100_000;

/// Where the bulk left the copies.
pub(super) struct Bulk {
    /// The log position the copies are complete through.
    pub(super) position: i64,
    pub(super) events: u64,
    /// The carts as the bulk left them: the swap folds on from these.
    pub(super) carts: Rows<String, CartUser>,
}

/// Reads, folds and writes every event up to the head into the copies, adding to `timings`'
/// waits and fold; `progress(position, head)` is called after every step.
pub(super) async fn read_fold_write(
    store: &EventStore,
    applier: &Applier,
    projections: &[Projection],
    (partitions, tz): (u32, Tz),
    flush_events: usize,
    timings: &mut Timings,
    progress: &mut impl FnMut(i64, i64),
) -> Result<Bulk, ProjectorError> {
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
            pending.add(projections, e, e.stream_id.partition(partitions), tz);
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
            flush(applier, &mut writing, std::mem::take(&mut pending)).await?;
            timings.write_wait += waited.elapsed();
            pending.cart_users = carts;
            pending_events = 0;
        }
        progress(position, head.max(position));
    }
    pending.absorb_counters(&mut held);
    // The swap folds on from the carts as the bulk left them.
    let carts = pending.cart_users.clone();
    if !pending.is_empty() {
        let waited = Instant::now();
        flush(applier, &mut writing, pending).await?;
        timings.write_wait += waited.elapsed();
    }
    let waited = Instant::now();
    finish(&mut writing).await?;
    timings.write_wait += waited.elapsed();
    Ok(Bulk {
        position,
        events,
        carts,
    })
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
