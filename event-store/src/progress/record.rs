//! The write half of progress, for the projector: the checkpoint of each projection on each
//! partition (locked, moved and read inside a batch's transaction, so data and checkpoint commit
//! together), the heartbeats of partition owners, and the register of live workers. The read
//! half, lag and liveness, is [`super`]; this module and that one are the only code that touches
//! `projection_checkpoints`, `projector_heartbeats` and `projector_workers`
//! (docs/architecture.md, "Storage").

use std::collections::HashMap;

use chrono::Utc;

use super::STALE_AFTER;
use crate::db::{self, Tx, placeholders};
use crate::{BackendKind, Pool};

/// Partitions as an SQL list: they are our own small integers, never user input.
pub(super) fn partition_list(partitions: &[u32]) -> String {
    if partitions.is_empty() {
        return "-1".to_owned();
    }
    partitions
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The larger of two non-null values, as each backend spells it.
fn greatest(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Postgres => "GREATEST",
        BackendKind::Sqlite => "MAX",
    }
}

/// Makes sure every `projection` has a checkpoint row on partitions `0..partitions` (new ones
/// at 0).
pub async fn ensure_checkpoints(
    tx: &mut Tx,
    projections: &[&str],
    partitions: u32,
) -> Result<(), sqlx::Error> {
    let now = Utc::now().timestamp_micros();
    for projection in projections {
        for partition in 0..partitions {
            db::query(
                "INSERT INTO projection_checkpoints \
                   (projection, partition, position, stream_seq, updated_us) \
                 VALUES ($1, $2, 0, 0, $3) ON CONFLICT (projection, partition) DO NOTHING",
            )
            .bind(*projection)
            .bind(partition)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// The checkpoints of `partitions` by `(projection, partition)`, locked until commit on
/// Postgres (SQLite's write lock is held by the transaction already).
pub async fn lock_checkpoints(
    tx: &mut Tx,
    partitions: &[u32],
) -> Result<HashMap<(String, u32), i64>, sqlx::Error> {
    let lock = match tx {
        Tx::Postgres(_) => " FOR UPDATE",
        Tx::Sqlite(_) => "",
    };
    let rows: Vec<(String, i64, i64)> = db::query(format!(
        "SELECT projection, CAST(partition AS BIGINT), position FROM projection_checkpoints \
         WHERE partition IN ({}) ORDER BY projection, partition{lock}",
        partition_list(partitions)
    ))
    .fetch_all(tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, partition, position)| {
            ((name, u32::try_from(partition).unwrap_or(0)), position)
        })
        .collect())
}

/// Moves the checkpoints of `projections` on `partitions` to `through` (never back), and the
/// JetStream sequence they were read at, when there is one.
pub async fn advance(
    tx: &mut Tx,
    projections: &[&str],
    partitions: &[u32],
    through: i64,
    stream_seq: Option<u64>,
) -> Result<(), sqlx::Error> {
    let kind = tx.kind();
    let seq = stream_seq.map(|s| i64::try_from(s).unwrap_or(i64::MAX));
    db::query(format!(
        "UPDATE projection_checkpoints SET \
           position = {greatest}(position, $1), \
           stream_seq = COALESCE($2, stream_seq), updated_us = $3 \
         WHERE projection IN ({names}) AND partition IN ({list})",
        greatest = greatest(kind),
        names = placeholders(4, projections.len()),
        list = partition_list(partitions),
    ))
    .bind(through)
    .bind(seq)
    .bind(Utc::now().timestamp_micros())
    .bind_all(projections.iter().map(|&p| p.into()))
    .execute(tx)
    .await?;
    Ok(())
}

/// A rebuild that kept the settings: every checkpoint of `projections` is at least `position`.
pub async fn raise_checkpoints(
    tx: &mut Tx,
    projections: &[&str],
    position: i64,
) -> Result<(), sqlx::Error> {
    let kind = tx.kind();
    db::query(format!(
        "UPDATE projection_checkpoints SET position = {greatest}(position, $1) \
         WHERE projection IN ({names})",
        greatest = greatest(kind),
        names = placeholders(2, projections.len()),
    ))
    .bind(position)
    .bind_all(projections.iter().map(|&p| p.into()))
    .execute(tx)
    .await?;
    Ok(())
}

/// A rebuild with new partitioning or time zone: every checkpoint starts again at `position`
/// (consumers replay the stream from its start, skipping what the tables hold), and the old
/// partitions' heartbeats go.
pub async fn restart_checkpoints(
    tx: &mut Tx,
    projections: &[&str],
    partitions: u32,
    position: i64,
) -> Result<(), sqlx::Error> {
    for table in ["projection_checkpoints", "projector_heartbeats"] {
        db::query(format!("DELETE FROM {table}"))
            .execute(&mut *tx)
            .await?;
    }
    for projection in projections {
        for partition in 0..partitions {
            db::query(
                "INSERT INTO projection_checkpoints \
                   (projection, partition, position, stream_seq, updated_us) \
                 VALUES ($1, $2, $3, 0, 0)",
            )
            .bind(*projection)
            .bind(partition)
            .bind(position)
            .execute(&mut *tx)
            .await?;
        }
    }
    Ok(())
}

/// The read tables were emptied for a new stream: no checkpoint holds a JetStream sequence.
pub async fn forget_stream_sequences(tx: &mut Tx) -> Result<(), sqlx::Error> {
    db::query("UPDATE projection_checkpoints SET stream_seq = 0")
        .execute(tx)
        .await?;
    Ok(())
}

/// The lowest checkpoint over every projection of `partitions` (where a follower must start),
/// and the lowest JetStream sequence.
pub async fn lowest_checkpoint(pool: &Pool, partitions: &[u32]) -> Result<(i64, u64), sqlx::Error> {
    let (position, seq): (i64, i64) = db::query(format!(
        "SELECT CAST(COALESCE(MIN(position), 0) AS BIGINT), \
                CAST(COALESCE(MIN(stream_seq), 0) AS BIGINT) \
         FROM projection_checkpoints WHERE partition IN ({})",
        partition_list(partitions)
    ))
    .fetch_one(pool)
    .await?;
    Ok((position, u64::try_from(seq).unwrap_or(0)))
}

/// `worker` owns `partitions`, has applied every event of them up to `caught_up_to`, has
/// `pending` events in hand, and reports `fault` (`None` when all is well). One row per
/// partition; a new owner replaces the old.
pub async fn heartbeat(
    pool: &Pool,
    worker: &str,
    partitions: &[u32],
    caught_up_to: i64,
    pending: u64,
    fault: Option<&str>,
) -> Result<(), sqlx::Error> {
    if partitions.is_empty() {
        return Ok(());
    }
    let now = Utc::now().timestamp_micros();
    let pending = i64::try_from(pending).unwrap_or(i64::MAX);
    let rows = (0..partitions.len())
        .map(|i| format!("({})", placeholders(i * 7 + 1, 7)))
        .collect::<Vec<_>>()
        .join(", ");
    // `moved_us` changes only when `caught_up_to` does: progress, not liveness.
    db::query(format!(
        "INSERT INTO projector_heartbeats \
           (partition, worker, heartbeat_us, caught_up_to, pending, fault, moved_us) \
         VALUES {rows} \
         ON CONFLICT (partition) DO UPDATE SET worker = excluded.worker, \
           heartbeat_us = excluded.heartbeat_us, \
           moved_us = CASE WHEN excluded.caught_up_to > projector_heartbeats.caught_up_to \
             THEN excluded.heartbeat_us ELSE projector_heartbeats.moved_us END, \
           caught_up_to = {greatest}(projector_heartbeats.caught_up_to, excluded.caught_up_to), \
           pending = excluded.pending, fault = excluded.fault",
        greatest = greatest(pool.kind()),
    ))
    .bind_all(partitions.iter().flat_map(|&partition| {
        [
            partition.into(),
            worker.into(),
            now.into(),
            caught_up_to.into(),
            pending.into(),
            fault.into(),
            now.into(),
        ]
    }))
    .execute(pool)
    .await?;
    Ok(())
}

/// Records `worker` as live (and forgets workers silent for a minute past [`STALE_AFTER`]);
/// how many workers are live.
pub async fn register_worker(pool: &Pool, worker: &str) -> Result<u32, sqlx::Error> {
    let now = Utc::now().timestamp_micros();
    let since = now - i64::try_from(STALE_AFTER.as_micros()).unwrap_or(i64::MAX);
    db::query(
        "INSERT INTO projector_workers (worker, heartbeat_us) VALUES ($1, $2) \
         ON CONFLICT (worker) DO UPDATE SET heartbeat_us = excluded.heartbeat_us",
    )
    .bind(worker)
    .bind(now)
    .execute(pool)
    .await?;
    db::query("DELETE FROM projector_workers WHERE heartbeat_us < $1")
        .bind(since - 60_000_000)
        .execute(pool)
        .await?;
    let live: i64 = db::query(
        "SELECT CAST(count(*) AS BIGINT) FROM projector_workers WHERE heartbeat_us >= $1",
    )
    .bind(since)
    .scalar(pool)
    .await?;
    Ok(u32::try_from(live).unwrap_or(1))
}

/// `worker` is stopping: its partitions are free to take at once.
pub async fn deregister_worker(pool: &Pool, worker: &str) -> Result<(), sqlx::Error> {
    db::query("DELETE FROM projector_workers WHERE worker = $1")
        .bind(worker)
        .execute(pool)
        .await?;
    Ok(())
}
