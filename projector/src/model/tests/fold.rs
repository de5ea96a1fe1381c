//! What [`Changes::add`] does for every projection: which events it folds, into which
//! projections, on which day and shard.

use super::*;
use crate::model::{BusinessDay, FunnelDay, Shard};

#[test]
fn a_projection_whose_checkpoint_is_past_an_event_leaves_it_out() {
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:05", viewed("phone")),
        (ANA, "10:10", specs_asked("phone")),
    ]);

    // The funnel has applied the first two events already; the rest of the projections none.
    let changes = given.when_folded_behind(|p| if p == Projection::Funnel { 2 } else { 0 });

    assert_eq!(
        rows(&changes.funnel_days),
        [(
            (key(ANA), day(DAY)),
            FunnelDay {
                first: [None, None, Some(us("10:10")), None, None],
            }
        )]
    );
    // Every other table is as if all were behind.
    let all = given.when_folded_into(&Projection::ALL);
    assert_eq!(
        Changes {
            funnel_days: Rows::default(),
            ..changes
        },
        Changes {
            funnel_days: Rows::default(),
            ..all
        }
    );
}

#[test]
fn a_fold_into_one_projection_writes_only_its_tables() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:00", message("hi")),
        (ANA, "10:01", viewed("phone")),
        (ANA, "10:02", added("phone", 1, usd(79_900))),
        (
            ANA,
            "10:03",
            order(vec![line("phone", 1, usd(79_900))], usd(79_900)),
        ),
        (ANA, "10:04", question("returns")),
    ]);

    let users = given.when_folded_into(&[Projection::Users]);

    let all = given.when_folded_into(&Projection::ALL);
    assert_eq!(
        users,
        Changes {
            users: all.users,
            user_products: all.user_products,
            user_sales: all.user_sales,
            ..Changes::default()
        }
    );
}

#[test]
fn events_of_a_stream_that_is_no_user_s_fold_into_nothing() {
    let given = Given(vec![
        recorded("catalog", 1, at("10:00"), viewed("phone")),
        recorded("user-sms:1", 2, at("10:01"), message("hi")),
    ]);

    let changes = given.when_folded_into(&Projection::ALL);

    assert_eq!(changes, Changes::default());
}

#[test]
fn the_report_time_zone_decides_the_day() {
    // 23:30 UTC on 1 May is 01:30 on 2 May in Berlin.
    let given = given([
        (ANA, "23:30", started()),
        (ANA, "23:30", message("hi")),
        (ANA, "23:31", viewed("phone")),
        (ANA, "23:32", added("phone", 1, usd(79_900))),
        (
            ANA,
            "23:33",
            order(vec![line("phone", 1, usd(79_900))], usd(79_900)),
        ),
        (ANA, "23:34", question("returns")),
    ]);

    let berlin = given.when_folded_with(&Projection::ALL, 0, chrono_tz::Europe::Berlin);
    let utc = given.when_folded_with(&Projection::ALL, 0, chrono_tz::UTC);

    let may_2 = day("2024-05-02");
    assert_eq!(days(&berlin), Days::all(may_2));
    assert_eq!(days(&utc), Days::all(day("2024-05-01")));
}

/// The day of every row that has one, by table.
#[derive(Debug, PartialEq)]
struct Days {
    funnel_days: Vec<NaiveDate>,
    funnel_values: Vec<NaiveDate>,
    product_days: Vec<NaiveDate>,
    product_sales: Vec<NaiveDate>,
    product_users: Vec<NaiveDate>,
    users: Vec<Option<NaiveDate>>,
    business_days: Vec<NaiveDate>,
    sales_days: Vec<NaiveDate>,
    cart_sessions: Vec<NaiveDate>,
    questions: Vec<NaiveDate>,
}

impl Days {
    /// One row in each table, on `day`.
    fn all(day: NaiveDate) -> Days {
        Days {
            funnel_days: vec![day],
            funnel_values: vec![day],
            product_days: vec![day],
            product_sales: vec![day],
            product_users: vec![day],
            users: vec![Some(day)],
            business_days: vec![day],
            sales_days: vec![day],
            cart_sessions: vec![day],
            questions: vec![day],
        }
    }
}

fn days(c: &Changes) -> Days {
    Days {
        funnel_days: c.funnel_days.keys().map(|k| k.1).collect(),
        funnel_values: c.funnel_values.keys().map(|k| k.1).collect(),
        product_days: c.product_days.keys().map(|k| k.1).collect(),
        product_sales: c.product_sales.keys().map(|k| k.1).collect(),
        product_users: c.product_users.keys().map(|k| k.1).collect(),
        users: c.users.values().map(|u| u.first_seen_day).collect(),
        business_days: c.business_days.keys().map(|k| k.0).collect(),
        sales_days: c.sales_days.keys().map(|k| k.0).collect(),
        cart_sessions: c.cart_sessions.values().map(|s| s.day).collect(),
        questions: c.questions.keys().map(|k| k.1).collect(),
    }
}

#[test]
fn counters_shared_by_every_user_are_keyed_by_the_event_s_partition() {
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "10:01", viewed("phone")),
        (
            ANA,
            "10:02",
            order(vec![line("phone", 1, usd(79_900))], usd(79_900)),
        ),
        (ANA, "10:03", question("returns")),
    ]);

    let changes = given.when_folded_with(&Projection::ALL, 7, chrono_tz::UTC);

    let (phone, usd) = ("phone".to_owned(), "USD".to_owned());
    assert_eq!(keys(&changes.product_days), [(phone.clone(), day(DAY), 7)]);
    assert_eq!(
        keys(&changes.product_sales),
        [(phone, day(DAY), usd.clone(), 7)]
    );
    assert_eq!(keys(&changes.business_days), [(day(DAY), 7)]);
    assert_eq!(keys(&changes.sales_days), [(day(DAY), usd, 7)]);
    assert_eq!(
        keys(&changes.questions),
        [("returns".to_owned(), day(DAY), 7)]
    );
}

#[test]
fn a_partition_beyond_the_shard_range_counts_on_the_last_shard() {
    let given = given([(ANA, "10:00", message("hi"))]);

    let changes = given.when_folded_with(&[Projection::Business], 70_000, chrono_tz::UTC);

    assert_eq!(
        rows(&changes.business_days),
        [(
            (day(DAY), Shard::MAX),
            BusinessDay {
                messages: 1,
                ..BusinessDay::default()
            }
        )]
    );
}
