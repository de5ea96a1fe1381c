//! The pure half of the projector: which rows a batch of events adds to each read table. No I/O;
//! [`crate::sql`] merges these changes into the tables (sums add up, first times keep the
//! earliest, latest values replace).
//!
//! Every figure follows docs/architecture.md's "Metric definitions"; docs/metrics.md says which
//! table answers which figure.
//!
//! [`Changes`] and [`Changes::add`], which hands each event to the projections asked for, are
//! here; each projection's fold is in its own file (`funnel.rs`, `products.rs`, `users.rs`,
//! `conversations.rs`, `business.rs`, `carts.rs`, `questions.rs`), beside the projections
//! themselves (`projection.rs`), the row values (`rows.rs`), the borrowed-key lookup (`key.rs`)
//! and how counters of two batches merge (`counters.rs`).

mod business;
mod carts;
mod conversations;
mod counters;
mod funnel;
mod key;
mod products;
mod projection;
mod questions;
mod rows;
mod users;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use events_schema::RecordedEvent;

pub use carts::{CartLine, CartSession, CartUser, SESSION_TIMEOUT_US, lines_json};
pub use funnel::{Stage, stage_of};
pub use key::{Rows, Shard};
pub use projection::Projection;
pub use rows::{
    BusinessDay, FunnelDay, Message, ProductDay, ProductUser, Sales, UserProduct, UserRow, Values,
};

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The calendar day of an instant in the report time zone.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

type UserDay = (String, NaiveDate);

/// Everything one batch changes, per table, merged by primary key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub funnel_days: Rows<UserDay, FunnelDay>,
    pub funnel_values: Rows<(String, NaiveDate, String), Values>,
    /// Counters shared by every user carry a shard (the event's partition) in their key, so
    /// that partitions never write the same row.
    pub product_days: Rows<(String, NaiveDate, Shard), ProductDay>,
    pub product_sales: Rows<(String, NaiveDate, String, Shard), Sales>,
    pub product_users: Rows<(String, NaiveDate, String), ProductUser>,
    /// Users whose user-level rows go first (erased), before this batch's upserts.
    pub erased_users: BTreeSet<String>,
    pub users: Rows<String, UserRow>,
    pub user_products: Rows<(String, String), UserProduct>,
    pub user_sales: Rows<(String, String), Sales>,
    pub messages: Rows<(String, i64), Message>,
    pub business_days: Rows<(NaiveDate, Shard), BusinessDay>,
    pub sales_days: Rows<(NaiveDate, String, Shard), Sales>,
    /// Every user's cart and session: seeded with the stored rows of the batch's users before
    /// the fold (a cart is a running state, not a sum), written back whole.
    pub cart_users: Rows<String, CartUser>,
    /// Sessions with a cart, by user and start.
    pub cart_sessions: Rows<(String, i64), CartSession>,
    /// Shop questions per topic and day.
    pub questions: Rows<(String, NaiveDate, Shard), i64>,
    /// Each user's first shop question.
    pub question_users: Rows<String, i64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }

    /// The users whose rows in this batch carry personal text (a name, a message), sorted:
    /// the keys to seal with (docs/architecture.md, invariant 8).
    pub fn personal_text_users(&self) -> Vec<&str> {
        let mut users: BTreeSet<&str> = self
            .users
            .iter()
            .filter(|(_, r)| r.username.is_some() || r.display_name.is_some())
            .map(|(u, _)| u.as_str())
            .collect();
        users.extend(
            self.messages
                .iter()
                .filter(|(_, m)| m.text.is_some())
                .map(|((u, _), _)| u.as_str()),
        );
        users.into_iter().collect()
    }

    /// Folds one event of `partition` into the tables of `projections`.
    pub fn add(&mut self, projections: &[Projection], e: &RecordedEvent, partition: u32, tz: Tz) {
        let Some(user) = e.stream_id.user_str() else {
            return;
        };
        let at = micros(e.occurred_at);
        let day = day_of(e.occurred_at, tz);
        for projection in projections {
            match projection {
                Projection::Funnel => self.add_funnel(user, day, at, &e.event),
                Projection::Products => self.add_products(user, day, shard(partition), &e.event),
                Projection::Users => self.add_user(user, day, at, e),
                Projection::Conversations => self.add_message(user, at, e),
                Projection::Business => self.add_business((day, shard(partition)), &e.event),
                Projection::Carts => self.add_cart(user, at, &e.event, tz),
                Projection::Questions => {
                    self.add_question(user, day, shard(partition), at, &e.event)
                }
            }
        }
    }
}

fn shard(partition: u32) -> Shard {
    Shard::try_from(partition).unwrap_or(Shard::MAX)
}
