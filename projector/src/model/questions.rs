//! Shop questions: how many per topic and day (`shop_question_days`), and when each user first
//! asked one (`shop_question_users`).

use chrono::NaiveDate;
use events_schema::Event;

use super::Changes;
use super::key::{Ref, Shard};

impl Changes {
    pub(super) fn add_question(
        &mut self,
        user: &str,
        day: NaiveDate,
        shard: Shard,
        at: i64,
        event: &Event,
    ) {
        if let Event::ShopQuestionAsked(q) = event {
            *self
                .questions
                .entry_ref(&Ref((q.topic.as_str(), day, shard)))
                .or_default() += 1;
            let first = self.question_users.entry_ref(user).or_insert(at);
            *first = (*first).min(at);
        }
    }
}
