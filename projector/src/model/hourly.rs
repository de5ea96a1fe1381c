//! Hourly activity: each user's messages per hour of the report time zone (`hourly_activity`),
//! so that an hour's active users are its rows and its messages their sum. Built the way
//! docs/projections.md describes.

use chrono::{DateTime, Timelike as _, Utc};
use chrono_tz::Tz;
use events_schema::Event;

use super::key::Ref;
use super::{Changes, day_of, micros};

/// The start of the hour of `at` in `tz`, in microseconds: `at` less its minutes, seconds and
/// fraction there. An offset that is not a whole number of hours (India, Nepal) moves the hour
/// with it; the two hours a clock repeats in autumn are two hours.
pub fn hour_of(at: DateTime<Utc>, tz: Tz) -> i64 {
    let local = at.with_timezone(&tz);
    let into_hour = i64::from(local.minute()) * 60_000_000
        + i64::from(local.second()) * 1_000_000
        + i64::from(local.nanosecond() / 1_000);
    micros(at) - into_hour
}

impl Changes {
    pub(super) fn add_hourly(&mut self, user: &str, at: DateTime<Utc>, tz: Tz, event: &Event) {
        if let Event::MessageReceived(_) = event {
            let row = self
                .hourly
                .entry_ref(&Ref((user, hour_of(at, tz))))
                .or_insert_with(|| super::Hour {
                    day: day_of(at, tz),
                    messages: 0,
                });
            row.messages += 1;
        }
    }
}
