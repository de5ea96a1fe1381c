//! The values of the read tables' rows, one type per table (the keys are in
//! [`super::Changes`]), and text as a read table holds it.

use chrono::NaiveDate;

/// Earliest time per stage on one user-day (`None`: not reached that day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunnelDay {
    pub first: [Option<i64>; 5],
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub intent_minor: i64,
    pub order_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductDay {
    pub views: i64,
    pub price_inquiries: i64,
    pub spec_requests: i64,
    pub purchase_intents: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sales {
    pub orders: i64,
    pub units: i64,
    pub revenue_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductUser {
    pub viewed: bool,
    pub intended: bool,
}

/// Changes to one user's row. Counters add; first/last keep the extreme; the rest replace
/// when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRow {
    pub channel: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    pub first_seen_day: Option<NaiveDate>,
    pub messages: i64,
    pub sessions: i64,
    pub product_views: i64,
    pub stage: Option<i64>,
    pub budget: Option<(i64, String)>,
    pub category: Option<String>,
    pub orders: i64,
    pub last_position: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProduct {
    pub views: i64,
    pub intents: i64,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub occurred_us: i64,
    pub direction: &'static str,
    pub text: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessDay {
    pub messages: i64,
    pub sessions: i64,
    pub replies: i64,
}
/// Text a shopper wrote (or a reply that names them), as a read table holds it. Postgres `text`
/// cannot hold NUL, and one NUL would stop every projection on every partition for good (the
/// batch could never commit), so a NUL shows as U+FFFD here, on both backends alike; the log
/// keeps the original.
pub(super) fn storable(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| {
        if t.contains('\0') {
            t.replace('\0', "\u{fffd}")
        } else {
            t.clone()
        }
    })
}
