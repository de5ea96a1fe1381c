//! Questions about the shop: its policies and FAQ, answered in the shopper's language from the
//! catalog's `[shop]` section and recorded with their topic.

use events_schema::{Event, ShopQuestionAsked};

use super::{Reply, Turn};
use crate::catalog::Topic;
use crate::engine::understand::Understanding;

impl Turn<'_> {
    pub(super) fn shop_question(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let Some(topic) = &u.topic else {
            return self.fallback();
        };
        events.push(Event::ShopQuestionAsked(ShopQuestionAsked {
            topic: topic.clone(),
        }));
        let shop = self.catalog.shop();
        let answer = match Topic::parse(topic) {
            Some(t) => shop
                .policies
                .iter()
                .find(|p| p.topic == t)
                .and_then(|p| p.answer.get(self.language)),
            None => shop
                .faq
                .iter()
                .find(|f| &f.id == topic)
                .and_then(|f| f.answer.get(self.language)),
        };
        Reply::text(answer.map_or_else(|| self.say("shop_unknown", &[]), str::to_owned))
    }
}
