//! Reading the log: one stream, the whole log in global order or a range of it, the head, and
//! the counts of `salesbot stats`. The SQL is written once for both backends (`db::query`);
//! turning rows back into events is `read.rs`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use events_schema::{RecordedEvent, StreamId};
use uuid::Uuid;

use crate::db::{self, placeholders};
use crate::keys::KeyRecord;
use crate::{EventStore, Stats, StoreError, StoredEvent, read};

/// Every column of [`StoredEvent`], in its order, typed alike on both backends.
pub(crate) const SELECT_EVENTS: &str = "SELECT global_position, event_id, stream_id, stream_version, \
    event_type, CAST(schema_version AS BIGINT) AS schema_version, occurred_at, recorded_at, \
    correlation_id, causation_id, CAST(payload AS TEXT) AS payload, key_id, personal \
    FROM events";

/// Key ids per `IN (…)` list: well under both backends' limits on bound values.
const IDS_PER_QUERY: usize = 5_000;

impl EventStore {
    /// Events of one stream with `stream_version >= from_version`, in order.
    pub async fn read_stream(
        &self,
        stream_id: &StreamId,
        from_version: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let rows = db::query(format!(
            "{SELECT_EVENTS} WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version"
        ))
        .bind(stream_id.as_str())
        .bind(from_version)
        .fetch_all(self.pool())
        .await?;
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

    /// Like [`EventStore::read_all`], in stored form: nothing is opened or decoded.
    pub async fn read_all_stored(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let limit = i64::try_from(limit.clamp(1, crate::MAX_READ_BATCH)).unwrap_or(1);
        Ok(db::query(format!(
            "{SELECT_EVENTS} WHERE global_position > $1 ORDER BY global_position LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
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
        let rows = db::query(format!(
            "{SELECT_EVENTS} WHERE global_position > $1 AND global_position <= $2 \
             ORDER BY global_position"
        ))
        .bind(after)
        .bind(through)
        .fetch_all(self.pool())
        .await?;
        self.decode(rows).await
    }

    /// Like [`EventStore::read_all`], with the position of the last event read, which is past
    /// the last one returned when events a newer release wrote were skipped at the end
    /// ([`crate::Newer::Skip`]): where the next page starts (`after` when nothing was left).
    pub async fn read_all_through(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<(Vec<RecordedEvent>, i64), StoreError> {
        let rows = self.read_all_stored(after, limit).await?;
        let through = rows.last().map_or(after, |r| r.global_position);
        Ok((self.decode(rows).await?, through))
    }

    pub(crate) async fn decode(
        &self,
        rows: Vec<StoredEvent>,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        let key_ids = read::key_ids(&rows);
        let records = self.key_records(&key_ids).await?;
        // A key destroyed by another process leaves this one's memory too.
        for (key_id, record) in &records {
            if record.wrapped.is_none() {
                self.shared.keys.forget(*key_id);
            }
        }
        read::decode_rows(rows, &records, &self.shared.keys, self.newer)
    }

    /// Opens each stored event on its own: the unreadable ones come back named with their
    /// reason instead of failing the rest ([`crate::Unreadable`]). A database error still fails
    /// the whole call: waiting may help with that.
    pub async fn open_each(
        &self,
        rows: Vec<StoredEvent>,
    ) -> Result<Vec<Result<RecordedEvent, crate::Unreadable>>, StoreError> {
        let key_ids = read::key_ids(&rows);
        let records = self.key_records(&key_ids).await?;
        Ok(read::decode_each(rows, &records, &self.shared.keys))
    }

    /// The `user_keys` rows of these key ids, destroyed ones included.
    pub(crate) async fn key_records(
        &self,
        key_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, KeyRecord>, StoreError> {
        let mut records = HashMap::with_capacity(key_ids.len());
        for chunk in key_ids.chunks(IDS_PER_QUERY) {
            let rows: Vec<(Uuid, String, Option<Vec<u8>>)> = db::query(format!(
                "SELECT key_id, user_id, wrapped_key FROM user_keys WHERE key_id IN ({})",
                placeholders(1, chunk.len())
            ))
            .bind_all(chunk.iter().map(|&id| id.into()))
            .fetch_all(self.pool())
            .await?;
            records.extend(
                rows.into_iter()
                    .map(|(id, user_id, wrapped)| (id, KeyRecord { user_id, wrapped })),
            );
        }
        Ok(records)
    }

    /// What the log holds of one partition (of `partitions`) after `after`: the position and id
    /// of each of its events with `after < position <= through`, in order, looking at no more
    /// than `scan` events of all partitions; and the position the look reached (`through`, or
    /// less when `scan` ran out first). `through` must be a committed position (at most a
    /// [`EventStore::head_position`] read earlier), so the range is complete. The projector
    /// checks what JetStream delivered against this (docs/architecture.md, "Projecting").
    pub async fn partition_index(
        &self,
        partition: u32,
        partitions: u32,
        after: i64,
        through: i64,
        scan: usize,
    ) -> Result<(Vec<(i64, Uuid)>, i64), StoreError> {
        if through <= after {
            return Ok((Vec::new(), after));
        }
        let limit = i64::try_from(scan.max(1)).unwrap_or(i64::MAX);
        let rows: Vec<(i64, Uuid, String)> = db::query(
            "SELECT global_position, event_id, stream_id FROM events \
             WHERE global_position > $1 AND global_position <= $2 \
             ORDER BY global_position LIMIT $3",
        )
        .bind(after)
        .bind(through)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        let reached = if rows.len() < scan.max(1) {
            through
        } else {
            rows.last().map_or(after, |r| r.0)
        };
        let index = rows
            .into_iter()
            .filter(|(_, _, stream)| {
                StreamId::new(stream.clone()).is_ok_and(|s| s.partition(partitions) == partition)
            })
            .map(|(position, id, _)| (position, id))
            .collect();
        Ok((index, reached))
    }

    /// The stored events at `positions` (those that exist), in increasing position.
    pub async fn read_positions(&self, positions: &[i64]) -> Result<Vec<StoredEvent>, StoreError> {
        let mut events = Vec::with_capacity(positions.len());
        for chunk in positions.chunks(IDS_PER_QUERY) {
            let rows: Vec<StoredEvent> = db::query(format!(
                "{SELECT_EVENTS} WHERE global_position IN ({}) ORDER BY global_position",
                placeholders(1, chunk.len())
            ))
            .bind_all(chunk.iter().map(|&p| p.into()))
            .fetch_all(self.pool())
            .await?;
            events.extend(rows);
        }
        events.sort_by_key(|e| e.global_position);
        Ok(events)
    }

    /// The id of the event at `position`, if there is one.
    pub async fn event_id_at(&self, position: i64) -> Result<Option<Uuid>, StoreError> {
        Ok(
            db::query("SELECT event_id FROM events WHERE global_position = $1")
                .bind(position)
                .optional_scalar(self.pool())
                .await?,
        )
    }

    /// The last position recorded at or before `at` (0 when none was): where time travel
    /// (`as_of=<instant>`) stops. `recorded_at` comes from the clock of the writer that
    /// appended the event, so with several writers it is not monotonic in the position; the
    /// answer is the highest position whose own stamp is not after `at` (docs/architecture.md,
    /// "Time travel"). On SQLite the stamps are text written by the same encoder as `at`, in
    /// UTC, so they compare in time order.
    pub async fn position_recorded_by(&self, at: DateTime<Utc>) -> Result<i64, StoreError> {
        Ok(db::query(
            "SELECT global_position FROM events WHERE recorded_at <= $1 \
             ORDER BY global_position DESC LIMIT 1",
        )
        .bind(at)
        .optional_scalar(self.pool())
        .await?
        .unwrap_or(0))
    }

    /// When the event at `position` was recorded, if there is one.
    pub async fn recorded_at(&self, position: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(
            db::query("SELECT recorded_at FROM events WHERE global_position = $1")
                .bind(position)
                .optional_scalar(self.pool())
                .await?,
        )
    }

    /// The highest global position handed out (0 for an empty log).
    pub async fn head_position(&self) -> Result<i64, StoreError> {
        Ok(db::query("SELECT position FROM log_head")
            .scalar(self.pool())
            .await?)
    }

    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let pool = self.pool();
        let by_type: Vec<(String, i64)> = db::query(
            "SELECT event_type, CAST(count(*) AS BIGINT) FROM events \
             GROUP BY event_type ORDER BY event_type",
        )
        .fetch_all(pool)
        .await?;
        let (events, streams): (i64, i64) = db::query(
            "SELECT CAST(count(*) AS BIGINT), CAST(count(DISTINCT stream_id) AS BIGINT) \
             FROM events",
        )
        .fetch_one(pool)
        .await?;
        // One row each, not `min()`: an aggregate loses the column's type on SQLite, where
        // times are text.
        let occurred = |order: &'static str| {
            db::query(format!(
                "SELECT occurred_at FROM events ORDER BY occurred_at {order} LIMIT 1"
            ))
            .optional_scalar::<DateTime<Utc>>(pool)
        };
        Ok(Stats {
            events,
            streams,
            head_position: self.head_position().await?,
            by_type,
            first_occurred_at: occurred("ASC").await?,
            last_occurred_at: occurred("DESC").await?,
        })
    }
}
