//! `GET /admin/live`: Server-Sent Events for the dashboard. `progress` when the read models
//! move (head, how far every projection has applied, lag, stalled partitions), and `events`
//! with the log's new events (type, user, time; no personal data). The server looks every
//! half second; a comment line keeps idle connections open.

use std::time::Duration;

use chrono::{DateTime, Utc};
use event_store::EventStore;
use futures::{Stream, StreamExt as _};
use poem_openapi::Object;

use crate::types::LagSummary;

/// How often the server looks for news.
const TICK: Duration = Duration::from_millis(500);
/// `progress` is sent at least this often, even when nothing moved.
const HEARTBEAT: Duration = Duration::from_secs(15);
/// Most events in one `events` message.
const MAX_EVENTS: usize = 50;

/// One SSE message: its event type is `kind`, its data the field of that name.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LiveUpdate {
    /// `progress` or `events`.
    pub kind: String,
    pub progress: Option<LagSummary>,
    pub events: Option<Vec<LiveEvent>>,
}

/// A new event in the log, without its payload.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example, skip_serializing_if_is_none)]
pub struct LiveEvent {
    pub position: i64,
    pub event_type: String,
    pub user_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

struct Watch {
    store: EventStore,
    stale_after: Duration,
    last: Option<LagSummary>,
    last_sent: tokio::time::Instant,
    after: Option<i64>,
    first: bool,
}

/// The updates for one client, from now on.
pub fn updates(store: EventStore, stale_after: Duration) -> impl Stream<Item = LiveUpdate> + Send {
    let watch = Watch {
        store,
        stale_after,
        last: None,
        last_sent: tokio::time::Instant::now(),
        after: None,
        first: true,
    };
    futures::stream::unfold(watch, |mut w| async move {
        if !w.first {
            tokio::time::sleep(TICK).await;
        }
        w.first = false;
        let batch = w.look().await;
        Some((futures::stream::iter(batch), w))
    })
    .flatten()
}

impl Watch {
    async fn look(&mut self) -> Vec<LiveUpdate> {
        let mut out = Vec::new();
        match self.store.progress(self.stale_after).await {
            Ok(p) => {
                let progress = LagSummary::of(&p);
                let moved = self.last.as_ref().is_none_or(|l| {
                    (l.head, l.applied, l.stalled_partitions)
                        != (progress.head, progress.applied, progress.stalled_partitions)
                });
                if moved || self.last_sent.elapsed() >= HEARTBEAT {
                    self.last_sent = tokio::time::Instant::now();
                    self.last = Some(progress.clone());
                    out.push(LiveUpdate {
                        kind: "progress".into(),
                        progress: Some(progress),
                        events: None,
                    });
                }
                let after = *self.after.get_or_insert(p.head);
                if p.head > after {
                    match self.store.read_all_stored(after, MAX_EVENTS).await {
                        Ok(events) if !events.is_empty() => {
                            self.after = events.last().map(|e| e.global_position);
                            out.push(LiveUpdate {
                                kind: "events".into(),
                                progress: None,
                                events: Some(
                                    events
                                        .into_iter()
                                        .map(|e| LiveEvent {
                                            position: e.global_position,
                                            user_id: e
                                                .stream_id
                                                .strip_prefix(events_schema::StreamId::USER_PREFIX)
                                                .map(str::to_owned),
                                            event_type: e.event_type,
                                            occurred_at: e.occurred_at,
                                        })
                                        .collect(),
                                ),
                            });
                        }
                        Ok(_) => {}
                        Err(error) => tracing::warn!(%error, "live: reading new events"),
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "live: reading progress"),
        }
        out
    }
}
