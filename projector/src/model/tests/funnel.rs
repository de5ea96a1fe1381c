//! The funnel: the earliest time of each stage per user and day (`funnel_days`), and the value
//! of intents and orders per user, day and currency (`funnel_values`).

use super::*;
use crate::model::{FunnelDay, Values};

const FUNNEL: &[Projection] = &[Projection::Funnel];

#[test]
fn a_message_marks_the_greeting_stage_of_the_user_s_day_at_its_time() {
    let given = given([(ANA, "10:00", message("hi"))]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        rows(&changes.funnel_days),
        [(
            (key(ANA), day(DAY)),
            FunnelDay {
                first: [Some(us("10:00")), None, None, None, None],
            }
        )]
    );
    assert!(changes.funnel_values.is_empty());
}

#[test]
fn each_stage_keeps_its_earliest_time_of_the_day() {
    // The third event came later in the log but happened earlier.
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:05", viewed("phone")),
        (ANA, "09:00", message("hello")),
        (ANA, "11:00", viewed("case")),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        rows(&changes.funnel_days),
        [(
            (key(ANA), day(DAY)),
            FunnelDay {
                first: [Some(us("09:00")), Some(us("10:05")), None, None, None],
            }
        )]
    );
}

#[test]
fn a_spec_request_or_a_price_inquiry_marks_consideration() {
    let given = given([
        (ANA, "10:10", specs_asked("phone")),
        (ANA, "10:20", price_asked("phone", usd(79_900))),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        changes.funnel_days[&(key(ANA), day(DAY))].first,
        [None, None, Some(us("10:10")), None, None]
    );
}

#[test]
fn an_intent_marks_its_stage_and_adds_quantity_times_unit_price_to_the_intent_value() {
    let given = given([
        (ANA, "10:00", intended("phone", 2, usd(79_900))),
        (ANA, "10:30", intended("case", 1, usd(1_000))),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        changes.funnel_days[&(key(ANA), day(DAY))].first,
        [None, None, None, Some(us("10:00")), None]
    );
    assert_eq!(
        rows(&changes.funnel_values),
        [(
            (key(ANA), day(DAY), "USD".to_owned()),
            Values {
                intent_minor: 2 * 79_900 + 1_000,
                order_minor: 0,
            }
        )]
    );
}

#[test]
fn an_order_marks_its_stage_and_adds_its_total_to_the_order_value_of_its_currency() {
    let given = given([
        (
            ANA,
            "10:00",
            order(vec![line("phone", 2, usd(79_900))], usd(159_800)),
        ),
        (
            ANA,
            "11:00",
            order(vec![line("case", 1, eur(5_000))], eur(5_000)),
        ),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        changes.funnel_days[&(key(ANA), day(DAY))].first,
        [None, None, None, None, Some(us("10:00"))]
    );
    assert_eq!(
        rows(&changes.funnel_values),
        [
            (
                (key(ANA), day(DAY), "EUR".to_owned()),
                Values {
                    intent_minor: 0,
                    order_minor: 5_000,
                }
            ),
            (
                (key(ANA), day(DAY), "USD".to_owned()),
                Values {
                    intent_minor: 0,
                    order_minor: 159_800,
                }
            ),
        ]
    );
}

#[test]
fn each_day_of_a_user_has_its_own_row() {
    let given = given([
        (ANA, "2024-05-01 23:00", message("hi")),
        (ANA, "2024-05-02 01:00", message("still there?")),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(
        rows(&changes.funnel_days),
        [
            (
                (key(ANA), day("2024-05-01")),
                FunnelDay {
                    first: [Some(us("2024-05-01 23:00")), None, None, None, None],
                }
            ),
            (
                (key(ANA), day("2024-05-02")),
                FunnelDay {
                    first: [Some(us("2024-05-02 01:00")), None, None, None, None],
                }
            ),
        ]
    );
}

#[test]
fn events_that_show_no_stage_leave_the_funnel_alone() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", reply("Hi!", &[])),
        (ANA, "10:02", preference(Some(usd(80_000)), Some("phones"))),
        (ANA, "10:03", added("phone", 1, usd(79_900))),
        (ANA, "10:04", question("returns")),
        (ANA, "10:05", erased()),
    ]);

    let changes = given.when_folded_into(FUNNEL);

    assert_eq!(changes, Changes::default());
}
