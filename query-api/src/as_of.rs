//! Time travel (`as_of`): the figures routes answered from the read tables as they stood at one
//! position of the log. The query service does not fold events itself (the projector does, and
//! the services never depend on each other): whoever starts it hands it a [`Replay`] that builds
//! such tables, and the last few are kept here, so a dashboard paging through one moment replays
//! once (docs/architecture.md, "Time travel").

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_store::{EventStore, Pool};
use futures::future::BoxFuture;

use crate::error::ApiError;
use crate::period::clip;
use crate::state::State;
use crate::types::AsOfInfo;

/// Past models kept; a new one evicts the least recently used.
const KEPT: usize = 4;

/// Builds the read tables as they stood once the log was applied through a position.
pub trait Replay: Send + Sync + std::fmt::Debug + 'static {
    fn replay(&self, through: i64) -> BoxFuture<'static, Result<Past, String>>;
}

/// Read tables complete through `through`, in a store of their own; `keep` is whatever must
/// live as long as they are read (their temporary files).
pub struct Past {
    pub store: EventStore,
    pub through: i64,
    pub keep: Box<dyn std::any::Any + Send + Sync>,
}

impl std::fmt::Debug for Past {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Past")
            .field("through", &self.through)
            .finish()
    }
}

/// The replay and the models it built last, newest first. The lock is held while a model is
/// built, so one replay runs at a time and a second request for the same position waits for
/// the first one's model instead of building its own.
#[derive(Debug)]
pub(crate) struct History {
    replay: Arc<dyn Replay>,
    models: tokio::sync::Mutex<VecDeque<Arc<Past>>>,
}

impl History {
    pub(crate) fn new(replay: Arc<dyn Replay>) -> History {
        History {
            replay,
            models: tokio::sync::Mutex::default(),
        }
    }

    /// The model through `position`, kept or built.
    async fn model(&self, position: i64) -> Result<Arc<Past>, ApiError> {
        let mut models = self.models.lock().await;
        if let Some(at) = models.iter().position(|m| m.through == position) {
            let model = models.remove(at).expect("an index just found");
            models.push_front(model.clone());
            return Ok(model);
        }
        let model = Arc::new(self.replay.replay(position).await.map_err(|error| {
            tracing::error!(%error, position, "as_of: the replay failed");
            ApiError::internal()
        })?);
        models.push_front(model.clone());
        models.truncate(KEPT);
        Ok(model)
    }
}

/// What a figures route reads: the live tables now, or a past model at its position.
pub(crate) struct Reading {
    pool: Pool,
    /// The instant the period's `days` count back from, and open windows and carts are judged
    /// at.
    pub now: DateTime<Utc>,
    pub as_of: Option<AsOfInfo>,
    /// Holds the past model while it is read.
    _past: Option<Arc<Past>>,
}

impl Reading {
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Where `as_of` stops: an exact position, or the last one recorded at or before an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    Position(i64),
    Instant(DateTime<Utc>),
}

fn parse(raw: &str) -> Result<Point, ApiError> {
    let raw = raw.trim();
    let wrong = || {
        ApiError::bad_request(format!(
            "`as_of` must be a log position (an integer, 0 or more) or an RFC 3339 date-time \
             such as 2026-11-01T09:30:00Z (got `{}`)",
            clip(raw)
        ))
    };
    if raw.starts_with(|c: char| c.is_ascii_digit() || c == '-') && !raw.contains(['T', 't', ':']) {
        return match raw.parse::<i64>() {
            Ok(position) if position >= 0 => Ok(Point::Position(position)),
            _ => Err(wrong()),
        };
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|at| Point::Instant(at.with_timezone(&Utc)))
        .map_err(|_| wrong())
}

impl State {
    /// What to read for `as_of` (the live tables without it).
    pub(crate) async fn reading(&self, as_of: Option<&str>) -> Result<Reading, ApiError> {
        let Some(raw) = as_of else {
            return Ok(Reading {
                pool: self.store.pool().clone(),
                now: Utc::now(),
                as_of: None,
                _past: None,
            });
        };
        let point = parse(raw)?;
        let Some(history) = &self.history else {
            return Err(ApiError::bad_request(
                "`as_of` is not served by this process (it was started without a replay)",
            ));
        };
        let head = self.store.head_position().await?;
        let (position, now) = match point {
            Point::Position(position) if position > head => {
                return Err(ApiError::bad_request(format!(
                    "`as_of` position {position} is beyond the head of the log ({head}): \
                     nothing is recorded there yet"
                )));
            }
            Point::Position(position) => (position, None),
            Point::Instant(at) => (self.store.position_recorded_by(at).await?, Some(at)),
        };
        let recorded_at = self.store.recorded_at(position).await?;
        let past = history.model(position).await?;
        Ok(Reading {
            pool: past.store.pool().clone(),
            now: now.or(recorded_at).unwrap_or_else(Utc::now),
            as_of: Some(AsOfInfo {
                position,
                recorded_at,
                head,
            }),
            _past: Some(past),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_instants_parse_and_the_rest_is_refused() {
        assert_eq!(parse("0").ok(), Some(Point::Position(0)));
        assert_eq!(parse(" 1234 ").ok(), Some(Point::Position(1234)));
        let at = "2026-11-01T09:30:00+01:00";
        assert_eq!(
            parse(at).ok(),
            Some(Point::Instant(
                DateTime::parse_from_rfc3339("2026-11-01T08:30:00Z")
                    .expect("time")
                    .with_timezone(&Utc)
            ))
        );
        for wrong in [
            "-1",
            "1.5",
            "12abc",
            "2026-11-01",
            "yesterday",
            "99999999999999999999",
        ] {
            assert!(parse(wrong).is_err(), "{wrong}");
        }
    }
}
