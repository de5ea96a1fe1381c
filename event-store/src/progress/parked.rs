//! Events the projector parked: ones it could not decode, and those of the same stream after
//! them, kept out of the read tables until they decode (docs/architecture.md, "Parked
//! events"). Written and removed inside the projector's batch transactions, so an event is
//! either parked, applied, or neither, never both; read by `/admin/health`, `salesbot check`
//! and `GET /admin/parked-events`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::record::partition_list;
use crate::Pool;
use crate::db::{self, Tx, placeholders};

/// One parked event.
#[derive(Debug, Clone, PartialEq)]
pub struct ParkedEvent {
    pub global_position: i64,
    pub partition: u32,
    pub stream_id: String,
    pub event_type: String,
    /// The projections that had not applied it when it was parked.
    pub projections: Vec<String>,
    pub reason: String,
    pub parked_at: DateTime<Utc>,
}

type ParkedRow = (i64, i64, String, String, String, String, i64);

const COLUMNS: &str = "global_position, CAST(partition AS BIGINT), stream_id, event_type, projections, reason, \
     parked_us";

fn parked_event(
    (global_position, partition, stream_id, event_type, projections, reason, parked_us): ParkedRow,
) -> ParkedEvent {
    ParkedEvent {
        global_position,
        partition: u32::try_from(partition).unwrap_or(0),
        stream_id,
        event_type,
        projections: projections
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        reason,
        parked_at: DateTime::from_timestamp_micros(parked_us).unwrap_or_default(),
    }
}

/// Parks `events` (inside the batch's transaction); one already parked stays as it was.
pub async fn park(tx: &mut Tx, events: &[ParkedEvent]) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(500) {
        let rows = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 7 + 1, 7)))
            .collect::<Vec<_>>()
            .join(", ");
        db::query(format!(
            "INSERT INTO parked_events (global_position, partition, stream_id, event_type, \
               projections, reason, parked_us) VALUES {rows} \
             ON CONFLICT (global_position) DO NOTHING"
        ))
        .bind_all(chunk.iter().flat_map(|e| {
            [
                e.global_position.into(),
                e.partition.into(),
                e.stream_id.as_str().into(),
                e.event_type.as_str().into(),
                e.projections.join(",").into(),
                e.reason.as_str().into(),
                e.parked_at.timestamp_micros().into(),
            ]
        }))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The streams with an event parked on `partitions`, each with its first parked position:
/// their later events wait behind it, so each stream's events apply in order.
pub async fn blocked_streams(
    tx: &mut Tx,
    partitions: &[u32],
) -> Result<HashMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = db::query(format!(
        "SELECT stream_id, MIN(global_position) FROM parked_events \
         WHERE partition IN ({}) GROUP BY stream_id",
        partition_list(partitions)
    ))
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Takes the parked events at `positions` out (inside the transaction that applies them);
/// the positions that were still parked, so a race with another worker applies each once.
pub async fn unpark(tx: &mut Tx, positions: &[i64]) -> Result<Vec<i64>, sqlx::Error> {
    let mut gone = Vec::with_capacity(positions.len());
    for chunk in positions.chunks(500) {
        let rows: Vec<i64> = db::query(format!(
            "DELETE FROM parked_events WHERE global_position IN ({}) RETURNING global_position",
            placeholders(1, chunk.len())
        ))
        .bind_all(chunk.iter().map(|&p| p.into()))
        .scalars(&mut *tx)
        .await?;
        gone.extend(rows);
    }
    Ok(gone)
}

/// The first `limit` parked events in position order, of `partitions` (all when `None`).
pub async fn list(
    pool: &Pool,
    partitions: Option<&[u32]>,
    limit: i64,
) -> Result<Vec<ParkedEvent>, sqlx::Error> {
    let filter = partitions.map_or(String::new(), |p| {
        format!("WHERE partition IN ({})", partition_list(p))
    });
    let rows: Vec<ParkedRow> = db::query(format!(
        "SELECT {COLUMNS} FROM parked_events {filter} ORDER BY global_position LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(parked_event).collect())
}

/// How many events are parked, by partition.
pub async fn counts(pool: &Pool) -> Result<HashMap<u32, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = db::query(
        "SELECT CAST(partition AS BIGINT), COUNT(*) FROM parked_events GROUP BY partition",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(p, n)| (u32::try_from(p).unwrap_or(0), n))
        .collect())
}
