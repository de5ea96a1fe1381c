//! A response cache for the period figures (dashboard, funnel), keyed by the state of the read
//! models: each request first reads the projection checkpoints (one small query on a table of
//! projections × partitions rows) and an entry serves only while they are unchanged, and for
//! at most [`MAX_AGE`] (figures that move with the clock, like lag and open windows, stay
//! fresh). So a cached answer is always the one the tables would give now.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use event_store::Pool;

/// Longest an entry serves, whatever the checkpoints say.
pub const MAX_AGE: Duration = Duration::from_secs(30);
/// Most entries kept (periods × windows in use); the stale go first, then all.
const CAPACITY: usize = 256;

/// What the read models hold, as far as a cached figure can tell: the checkpoints' positions
/// and last update.
type Signature = (i64, i64);

async fn signature(pool: &Pool) -> Result<Signature, sqlx::Error> {
    let sql = "SELECT CAST(COALESCE(SUM(position), 0) AS BIGINT), \
                      CAST(COALESCE(MAX(updated_us), 0) AS BIGINT) \
               FROM projection_checkpoints";
    event_store::db::query(sql).fetch_one(pool).await
}

/// Cached values of one kind, by key.
#[derive(Debug)]
pub struct Cache<K, V> {
    entries: std::sync::Mutex<HashMap<K, (Signature, Instant, V)>>,
    /// Misses compute one at a time, so a burst of requests for a figure not yet cached
    /// computes it once, not once per request.
    computing: tokio::sync::Mutex<()>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: std::sync::Mutex::new(HashMap::new()),
            computing: tokio::sync::Mutex::new(()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Cache<K, V> {
    fn fresh(&self, key: &K, now: Signature) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        let (s, at, value) = entries.get(key)?;
        (*s == now && at.elapsed() < MAX_AGE).then(|| value.clone())
    }

    /// The cached value while the read models are unchanged, else `compute`'s (then kept).
    pub async fn get_or<E, F>(&self, pool: &Pool, key: K, compute: F) -> Result<V, E>
    where
        F: std::future::Future<Output = Result<V, E>>,
        E: From<sqlx::Error>,
    {
        let now = signature(pool).await?;
        if let Some(value) = self.fresh(&key, now) {
            return Ok(value);
        }
        let _one_at_a_time = self.computing.lock().await;
        if let Some(value) = self.fresh(&key, now) {
            return Ok(value);
        }
        let value = compute.await?;
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= CAPACITY {
                entries.retain(|_, (s, at, _)| *s == now && at.elapsed() < MAX_AGE);
                if entries.len() >= CAPACITY {
                    entries.clear();
                }
            }
            entries.insert(key, (now, Instant::now(), value.clone()));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use testkit::TestDatabase;

    use super::*;

    async fn checkpoint(pool: &Pool, position: i64) {
        let sql = "INSERT INTO projection_checkpoints \
                     (projection, partition, position, stream_seq, updated_us) \
                   VALUES ('funnel', 0, $1, 0, $1) \
                   ON CONFLICT (projection, partition) DO UPDATE \
                   SET position = excluded.position, updated_us = excluded.updated_us";
        event_store::db::query(sql)
            .bind(position)
            .execute(pool)
            .await
            .expect("checkpoint");
    }

    /// An entry serves while the checkpoints are unchanged, and never after they move.
    #[tokio::test]
    async fn entries_serve_only_while_the_read_models_are_unchanged() {
        let db = TestDatabase::sqlite_for_test();
        let store = db.open_for_test().await;
        let pool = store.pool();
        let computed = AtomicU32::new(0);
        let cache: Cache<&str, u32> = Cache::default();
        let get = || {
            cache.get_or(pool, "figure", async {
                Ok::<_, sqlx::Error>(computed.fetch_add(1, Ordering::SeqCst) + 1)
            })
        };
        checkpoint(pool, 10).await;
        assert_eq!(get().await.expect("first"), 1);
        assert_eq!(get().await.expect("cached"), 1);
        checkpoint(pool, 11).await;
        assert_eq!(get().await.expect("after a move"), 2);
        assert_eq!(get().await.expect("cached again"), 2);
        assert_eq!(computed.load(Ordering::SeqCst), 2);
        store.close().await;
    }
}
