//! The swap: in one transaction, with the live checkpoints locked, bring the copies up to each
//! partition's checkpoint, move the checkpoints (or, after a change of partitioning or time
//! zone, start them afresh), drop the live tables and rename the copies.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use event_store::db;
use event_store::{EventStore, Pool, Tx};

use super::SUFFIX;
use crate::apply::{self, Applier, ProjectorError};
use crate::model::{CartUser, Changes, Projection, Rows};
use event_store::progress::record as progress;

/// Swaps the copies of `projections` in, folding on from the bulk's `position` and `carts`.
/// Returns how many events it folded on the way.
pub(super) async fn swap(
    store: &EventStore,
    applier: &Applier,
    projections: &[Projection],
    (partitions, tz): (u32, Tz),
    same_settings: bool,
    position: i64,
    carts: Rows<String, CartUser>,
) -> Result<u64, ProjectorError> {
    let mut events = 0u64;
    let all: Vec<u32> = (0..partitions).collect();
    let (mut tx, live) = lock_for_swap(applier.pool(), &all, projections).await?;
    let mut changes = Changes {
        cart_users: carts,
        ..Changes::default()
    };
    // Only the carts of users with events after the bulk are written again.
    let mut touched = HashSet::new();
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
    let names: Vec<&str> = projections.iter().map(|p| p.name()).collect();
    if same_settings {
        progress::raise_checkpoints(&mut tx, &names, position).await?;
    } else {
        // New partitioning or time zone: every checkpoint starts where the rebuild read, and
        // consumers replay the stream from its start, skipping what the tables hold.
        let all: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
        progress::restart_checkpoints(&mut tx, &all, partitions, position).await?;
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
    for projection in projections {
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
    Ok(events)
}

/// Begins the swap transaction: the checkpoints first (as every projector batch takes them, so
/// no batch is left holding a table), then every table involved, without waiting while holding
/// anything: a reader holding one table while waiting for another would otherwise deadlock
/// with the swap. Retries until it has them all.
async fn lock_for_swap(
    pool: &Pool,
    partitions: &[u32],
    projections: &[Projection],
) -> Result<(Tx, HashMap<(String, u32), i64>), ProjectorError> {
    let tables: Vec<String> = projections
        .iter()
        .flat_map(|p| p.tables())
        .flat_map(|t| [(*t).to_owned(), format!("{t}{SUFFIX}")])
        .collect();
    let mut attempts = 0u32;
    loop {
        let mut tx = apply::begin(pool).await?;
        let live = progress::lock_checkpoints(&mut tx, partitions).await?;
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
