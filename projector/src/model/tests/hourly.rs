//! Hourly activity: each user's messages per hour of the report time zone (`hourly`), keyed by
//! the user and the start of the hour.

use super::*;
use crate::model::Hour;

const HOURLY: &[Projection] = &[Projection::Hourly];

fn hour(day_: &str, messages: i64) -> Hour {
    Hour {
        day: day(day_),
        messages,
    }
}

#[test]
fn messages_count_per_user_and_hour() {
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:59", message("phones?")),
        (BEN, "10:30", message("hello")),
        (ANA, "11:00", message("thanks")),
    ]);

    let changes = given.when_folded_into(HOURLY);

    assert_eq!(
        rows(&changes.hourly),
        [
            ((key(BEN), us("10:00")), hour(DAY, 1)),
            ((key(ANA), us("10:00")), hour(DAY, 2)),
            ((key(ANA), us("11:00")), hour(DAY, 1)),
        ]
    );
}

#[test]
fn only_messages_make_a_user_active() {
    let given = given([
        (ANA, "10:00", reply("Hello!", &[])),
        (ANA, "10:01", question("returns")),
    ]);

    let changes = given.when_folded_into(HOURLY);

    assert_eq!(changes, Changes::default());
}

#[test]
fn hours_and_days_are_those_of_the_report_time_zone() {
    // Kolkata is 5:30 ahead: 18:40 UTC is 00:10 the next day there, in the hour from 18:30 UTC.
    let given = given([(ANA, "18:40", message("late"))]);

    let changes = given.when_folded_with(HOURLY, 0, chrono_tz::Asia::Kolkata);

    assert_eq!(
        rows(&changes.hourly),
        [((key(ANA), us("18:30")), hour("2024-05-02", 1))]
    );
}
