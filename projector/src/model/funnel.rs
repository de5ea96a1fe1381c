//! The funnel: the stages a user reaches, the earliest time of each per user and day
//! (`funnel_user_days`), and the value of intents and orders (`funnel_value_days`).

use chrono::NaiveDate;
use events_schema::Event;

use super::Changes;
use super::key::Ref;
use super::rows::Values;

/// Funnel stages, in order; a user counts at a stage if they reached it or any later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Greeting = 0,
    Browsing = 1,
    Consideration = 2,
    Intent = 3,
    Ordered = 4,
}

/// The stage an event shows a user reached, if any.
pub fn stage_of(event: &Event) -> Option<Stage> {
    match event {
        Event::MessageReceived(_) => Some(Stage::Greeting),
        Event::ProductViewed(_) => Some(Stage::Browsing),
        Event::PriceInquired(_) | Event::SpecsRequested(_) => Some(Stage::Consideration),
        Event::PurchaseIntended(_) => Some(Stage::Intent),
        Event::OrderPlaced(_) => Some(Stage::Ordered),
        _ => None,
    }
}

impl Changes {
    pub(super) fn add_funnel(&mut self, user: &str, day: NaiveDate, at: i64, event: &Event) {
        let Some(stage) = stage_of(event) else {
            return;
        };
        let row = self.funnel_days.entry_ref(&Ref((user, day))).or_default();
        let slot = &mut row.first[stage as usize];
        *slot = Some(slot.map_or(at, |t| t.min(at)));
        let value = match event {
            Event::PurchaseIntended(p) => Some((
                p.unit_price.currency.as_str(),
                Values {
                    intent_minor: p.unit_price.amount_minor * i64::from(p.quantity),
                    order_minor: 0,
                },
            )),
            Event::OrderPlaced(o) => Some((
                o.total.currency.as_str(),
                Values {
                    intent_minor: 0,
                    order_minor: o.total.amount_minor,
                },
            )),
            _ => None,
        };
        if let Some((currency, v)) = value {
            let sum = self
                .funnel_values
                .entry_ref(&Ref((user, day, currency)))
                .or_default();
            sum.intent_minor += v.intent_minor;
            sum.order_minor += v.order_minor;
        }
    }
}
