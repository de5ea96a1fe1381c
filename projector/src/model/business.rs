//! The business: messages, sessions and replies per day (`business_days`), orders and revenue
//! per day and currency (`sales_days`).

use chrono::NaiveDate;
use events_schema::Event;

use super::Changes;
use super::key::{Ref, Shard};

impl Changes {
    pub(super) fn add_business(&mut self, day: (NaiveDate, Shard), event: &Event) {
        match event {
            Event::MessageReceived(_) => self.business_days.entry(day).or_default().messages += 1,
            Event::ConversationStarted(_) => {
                self.business_days.entry(day).or_default().sessions += 1;
            }
            Event::BotReplied(_) => self.business_days.entry(day).or_default().replies += 1,
            Event::OrderPlaced(o) => {
                let sales = self
                    .sales_days
                    .entry_ref(&Ref((day.0, o.total.currency.as_str(), day.1)))
                    .or_default();
                sales.orders += 1;
                sales.revenue_minor += o.total.amount_minor;
            }
            _ => {}
        }
    }
}
