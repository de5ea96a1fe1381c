//! Users: one row per user (`users`), their products (`user_products`) and their sales per
//! currency (`user_sales`).

use super::*;
use crate::model::{Sales, UserProduct, UserRow};

const USERS: &[Projection] = &[Projection::Users];

#[test]
fn a_first_message_creates_the_user_row() {
    let given = given([(ANA, "10:00", message("hi"))]);

    let changes = given.when_folded_into(USERS);

    assert_eq!(
        rows(&changes.users),
        [(
            key(ANA),
            UserRow {
                channel: "web".into(),
                username: None,
                display_name: None,
                first_seen_us: us("10:00"),
                last_seen_us: us("10:00"),
                first_seen_day: Some(day(DAY)),
                messages: 1,
                sessions: 0,
                product_views: 0,
                stage: Some(0),
                budget: None,
                category: None,
                orders: 0,
                last_position: 1,
            }
        )]
    );
}

#[test]
fn the_row_keeps_the_first_and_last_times_the_latest_position_and_the_furthest_stage() {
    // The third event came last in the log but happened the day before.
    let given = given([
        (ANA, "10:00", message("hi")),
        (ANA, "11:00", intended("phone", 1, usd(79_900))),
        (ANA, "2024-04-30 23:00", viewed("phone")),
    ]);

    let changes = given.when_folded_into(USERS);

    let row = &changes.users[ANA];
    assert_eq!(row.first_seen_us, us("2024-04-30 23:00"));
    assert_eq!(row.first_seen_day, Some(day("2024-04-30")));
    assert_eq!(row.last_seen_us, us("11:00"));
    assert_eq!(row.last_position, 3);
    assert_eq!(row.stage, Some(3), "purchase intent, the furthest reached");
    assert_eq!((row.messages, row.product_views), (1, 1));
}

#[test]
fn a_session_start_counts_a_session_and_a_name_it_brings_replaces_the_last() {
    let given = given([
        (ANA, "10:00", started_as(Some("ana_shop"), Some("Ana"))),
        (ANA, "11:00", started()),
        (ANA, "12:00", started_as(None, Some("Ana B."))),
    ]);

    let changes = given.when_folded_into(USERS);

    let row = &changes.users[ANA];
    assert_eq!(row.sessions, 3);
    assert_eq!(row.username.as_deref(), Some("ana_shop"));
    assert_eq!(row.display_name.as_deref(), Some("Ana B."));
    assert_eq!(row.stage, None, "a session start is no funnel stage");
}

#[test]
fn a_stated_preference_replaces_only_the_budget_and_category_it_names() {
    let given = given([
        (ANA, "10:00", preference(Some(usd(80_000)), Some("phones"))),
        (ANA, "10:01", preference(None, None)),
        (ANA, "10:02", preference(Some(eur(50_000)), None)),
    ]);

    let changes = given.when_folded_into(USERS);

    let row = &changes.users[ANA];
    assert_eq!(row.budget, Some((50_000, "EUR".to_owned())));
    assert_eq!(row.category.as_deref(), Some("phones"));
}

#[test]
fn views_intents_and_ordered_units_add_up_per_product_of_the_user() {
    let given = given([
        (ANA, "10:00", viewed("phone")),
        (ANA, "10:01", viewed("phone")),
        (ANA, "10:02", intended("phone", 2, usd(79_900))),
        (
            ANA,
            "10:03",
            order(
                vec![line("phone", 2, usd(79_900)), line("case", 1, usd(1_000))],
                usd(160_800),
            ),
        ),
    ]);

    let changes = given.when_folded_into(USERS);

    assert_eq!(
        rows(&changes.user_products),
        [
            (
                (key(ANA), "case".to_owned()),
                UserProduct {
                    views: 0,
                    intents: 0,
                    units: 1,
                }
            ),
            (
                (key(ANA), "phone".to_owned()),
                UserProduct {
                    views: 2,
                    intents: 1,
                    units: 2,
                }
            ),
        ]
    );
    assert_eq!(changes.users[ANA].product_views, 2);
}

#[test]
fn an_order_counts_on_the_user_and_on_their_sales_in_its_currency() {
    let given = given([
        (
            ANA,
            "10:00",
            order(vec![line("phone", 2, usd(79_900))], usd(159_800)),
        ),
        (
            ANA,
            "10:30",
            order(vec![line("case", 1, usd(1_000))], usd(1_000)),
        ),
        (
            ANA,
            "11:00",
            order(vec![line("case", 1, eur(5_000))], eur(5_000)),
        ),
    ]);

    let changes = given.when_folded_into(USERS);

    assert_eq!(changes.users[ANA].orders, 3);
    // The user's sales count orders and revenue; units are counted per product.
    assert_eq!(
        rows(&changes.user_sales),
        [
            (
                (key(ANA), "EUR".to_owned()),
                Sales {
                    orders: 1,
                    units: 0,
                    revenue_minor: 5_000,
                }
            ),
            (
                (key(ANA), "USD".to_owned()),
                Sales {
                    orders: 2,
                    units: 0,
                    revenue_minor: 160_800,
                }
            ),
        ]
    );
}

#[test]
fn the_channel_is_the_part_of_the_user_id_before_the_colon() {
    let given = given([(BEN, "10:00", message("hi"))]);

    let changes = given.when_folded_into(USERS);

    assert_eq!(changes.users[BEN].channel, "telegram");
}
