//! Read-table values as the API shows them: a stage's name, a user's engagement score, a time.

use chrono::{DateTime, Utc};
use events_schema::metrics::{EngagementInputs, engagement_score};

use crate::read::{self, STAGES};

/// A stage's name from its index.
pub fn stage_name(stage: i64) -> String {
    STAGES[usize::try_from(stage.clamp(0, 4)).unwrap_or(0)].to_owned()
}

/// The engagement score of a users row, as of `now`.
pub fn engagement(row: &read::UserRow, now: DateTime<Utc>) -> i64 {
    i64::from(engagement_score(
        &EngagementInputs {
            last_seen: micros_to_time(row.last_seen_us),
            sessions: row.sessions,
            stage: row.stage,
            products_viewed: row.products_viewed,
            orders: row.orders,
        },
        now,
    ))
}

pub fn micros_to_time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}
