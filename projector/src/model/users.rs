//! Users: one row per user (`users`: first and last seen, counts, furthest stage, stated
//! preferences), their products (`user_products`) and their sales per currency (`user_sales`).

use chrono::NaiveDate;
use events_schema::{Event, RecordedEvent};

use super::Changes;
use super::funnel::stage_of;
use super::key::Ref;
use super::rows::{UserRow, storable};

impl Changes {
    pub(super) fn add_user(&mut self, user: &str, day: NaiveDate, at: i64, e: &RecordedEvent) {
        if let Event::UserErased(_) = e.event {
            self.erased_users.insert(user.to_owned());
            self.users.remove(user);
            self.user_products.retain(|(u, _), _| u != user);
            self.user_sales.retain(|(u, _), _| u != user);
            return;
        }
        let row = self.users.entry_ref(user).or_insert_with(|| UserRow {
            channel: user.split(':').next().unwrap_or_default().to_owned(),
            first_seen_us: at,
            last_seen_us: at,
            first_seen_day: Some(day),
            ..UserRow::default()
        });
        if at < row.first_seen_us {
            row.first_seen_us = at;
            row.first_seen_day = Some(day);
        }
        row.last_seen_us = row.last_seen_us.max(at);
        row.last_position = row.last_position.max(e.global_position);
        if let Some(stage) = stage_of(&e.event) {
            row.stage = Some(row.stage.unwrap_or(0).max(stage as i64));
        }
        match &e.event {
            Event::ConversationStarted(c) => {
                row.sessions += 1;
                if c.username.is_some() {
                    row.username = storable(&c.username);
                }
                if c.display_name.is_some() {
                    row.display_name = storable(&c.display_name);
                }
            }
            Event::MessageReceived(_) => row.messages += 1,
            Event::ProductViewed(p) => {
                row.product_views += 1;
                self.user_products
                    .entry_ref(&Ref((user, p.product_id.as_str())))
                    .or_default()
                    .views += 1;
            }
            Event::PreferenceStated(p) => {
                if let Some(budget) = &p.budget {
                    row.budget = Some((budget.amount_minor, budget.currency.as_str().to_owned()));
                }
                if p.category.is_some() {
                    row.category.clone_from(&p.category);
                }
            }
            Event::PurchaseIntended(p) => {
                self.user_products
                    .entry_ref(&Ref((user, p.product_id.as_str())))
                    .or_default()
                    .intents += 1;
            }
            Event::OrderPlaced(o) => {
                row.orders += 1;
                let sales = self
                    .user_sales
                    .entry_ref(&Ref((user, o.total.currency.as_str())))
                    .or_default();
                sales.orders += 1;
                sales.revenue_minor += o.total.amount_minor;
                for line in &o.lines {
                    self.user_products
                        .entry_ref(&Ref((user, line.product_id.as_str())))
                        .or_default()
                        .units += i64::from(line.quantity);
                }
            }
            _ => {}
        }
    }
}
