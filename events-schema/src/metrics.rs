//! Figures whose definition is part of the contract between the projector, the query API and
//! anyone recomputing them from the log. docs/metrics.md explains each.

use chrono::{DateTime, Utc};

/// What the engagement score is computed from: all kept per user in the `users` read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngagementInputs {
    pub last_seen: DateTime<Utc>,
    /// Conversations (ConversationStarted events).
    pub sessions: i64,
    /// Furthest funnel stage reached: 0 greeting … 4 ordered.
    pub stage: i64,
    /// Distinct products viewed.
    pub products_viewed: i64,
    /// Orders placed.
    pub orders: i64,
}

/// The engagement score, 0–100, as of `as_of` (docs/metrics.md):
/// recency 0–30 (30 seen now, falling linearly to 0 at 30 days), frequency 0–25 (5 points per
/// conversation, at most 5), depth 0–25 (5 points per funnel stage past greeting, plus 1 per
/// distinct product viewed, at most 5), purchases 0–20 (10 per order, at most 2).
pub fn engagement_score(inputs: &EngagementInputs, as_of: DateTime<Utc>) -> u8 {
    let idle_days = (as_of - inputs.last_seen).num_seconds().max(0) as f64 / 86_400.0;
    let recency = 30.0 * (1.0 - idle_days / 30.0).max(0.0);
    let frequency = 5.0 * inputs.sessions.clamp(0, 5) as f64;
    let depth = 5.0 * inputs.stage.clamp(0, 4) as f64 + inputs.products_viewed.clamp(0, 5) as f64;
    let purchases = 10.0 * inputs.orders.clamp(0, 2) as f64;
    (recency + frequency + depth + purchases)
        .round()
        .clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days_ago: i64) -> (DateTime<Utc>, DateTime<Utc>) {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        (now - chrono::Duration::days(days_ago), now)
    }

    fn inputs(
        last_seen: DateTime<Utc>,
        sessions: i64,
        stage: i64,
        viewed: i64,
        orders: i64,
    ) -> EngagementInputs {
        EngagementInputs {
            last_seen,
            sessions,
            stage,
            products_viewed: viewed,
            orders,
        }
    }

    #[test]
    fn the_score_is_the_documented_sum() {
        let (seen, now) = at(0);
        assert_eq!(engagement_score(&inputs(seen, 5, 4, 5, 2), now), 100);
        assert_eq!(
            engagement_score(&inputs(seen, 9, 4, 30, 7), now),
            100,
            "each part is capped"
        );
        // A one-message visitor today: recency 30 + one session 5.
        assert_eq!(engagement_score(&inputs(seen, 1, 0, 0, 0), now), 35);
        // 15 days later, the same visitor: recency halves.
        let (seen, now) = at(15);
        assert_eq!(engagement_score(&inputs(seen, 1, 0, 0, 0), now), 20);
        // Browsed two products, asked a price, 10 days ago, twice: 20 + 10 + 10 + 2.
        let (seen, now) = at(10);
        assert_eq!(engagement_score(&inputs(seen, 2, 2, 2, 0), now), 42);
        // Gone for good: only what they did counts.
        let (seen, now) = at(400);
        assert_eq!(
            engagement_score(&inputs(seen, 3, 4, 3, 1), now),
            15 + 20 + 3 + 10
        );
        assert_eq!(engagement_score(&inputs(seen, 0, 0, 0, 0), now), 0);
    }
}
