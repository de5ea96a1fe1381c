//! The response schemas of the user routes: the list, one profile, an erasure.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

use super::Money;

/// A user as the list shows them.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct UserSummary {
    /// `telegram:<id>` or `web:<id>`.
    pub user_id: String,
    pub channel: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub messages: i64,
    pub sessions: i64,
    pub product_views: i64,
    /// Furthest funnel stage reached.
    pub stage: String,
    pub orders: i64,
    pub revenue: Vec<Money>,
    /// 0–100, as of now (docs/metrics.md).
    pub engagement_score: i64,
}

/// A page of users.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct UserPage {
    /// Users matching the search.
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub sort: String,
    pub order: String,
    pub items: Vec<UserSummary>,
}

/// A product in a user's history.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct UserProduct {
    pub product_id: String,
    pub name: Option<String>,
    pub views: i64,
    pub intents: i64,
    /// Units ordered.
    pub units: i64,
}

/// What the user said they want.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Preferences {
    /// The budget stated last.
    pub budget: Option<Money>,
    /// The category stated last.
    pub category: Option<String>,
    /// Most viewed first.
    pub favourite_products: Vec<UserProduct>,
}

/// The parts of the engagement score.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Engagement {
    pub score: i64,
    pub last_seen: DateTime<Utc>,
    pub sessions: i64,
    pub stage: String,
    pub products_viewed: i64,
    pub orders: i64,
}

/// A message in or a reply out.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct TimelineMessage {
    pub position: i64,
    pub at: DateTime<Utc>,
    /// `in` (the user) or `out` (the bot).
    pub direction: String,
    /// Absent for media, or when the user was erased.
    pub text: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub product_id: Option<String>,
}

/// Part of a user's conversation history, newest first.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Timeline {
    /// Messages and replies the user has in all.
    pub total: i64,
    pub messages: Vec<TimelineMessage>,
    /// Pass as `before` for the next older page; absent at the start.
    pub next_before: Option<i64>,
}

/// One user in full.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct UserProfile {
    pub user: UserSummary,
    pub preferences: Preferences,
    pub engagement: Engagement,
    pub conversation: Timeline,
}

/// What `DELETE /admin/users/{id}` did.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct ErasedUser {
    pub user_id: String,
    /// Log position of the `UserErased` event.
    pub position: i64,
    /// False when the key had been destroyed already (the erasure was run again).
    pub key_destroyed: bool,
}
