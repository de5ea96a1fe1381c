//! Products: event counts per product and day (`product_days`), who viewed and who intended
//! (`product_users`), and units and revenue per product, day and currency (`product_sales`).
//! Every key ends in the shard (partition 0 here).

use super::*;
use crate::model::{ProductDay, ProductUser, Sales};

const PRODUCTS: &[Projection] = &[Projection::Products];

#[test]
fn every_view_counts_on_the_product_s_day_and_marks_the_viewer_once() {
    let given = given([
        (ANA, "10:00", viewed("phone")),
        (ANA, "11:00", viewed("phone")),
        (ANA, "11:30", viewed("case")),
    ]);

    let changes = given.when_folded_into(PRODUCTS);

    let views = |views| ProductDay {
        views,
        ..ProductDay::default()
    };
    assert_eq!(
        rows(&changes.product_days),
        [
            (("case".to_owned(), day(DAY), 0), views(1)),
            (("phone".to_owned(), day(DAY), 0), views(2)),
        ]
    );
    let viewer = ProductUser {
        viewed: true,
        intended: false,
    };
    assert_eq!(
        rows(&changes.product_users),
        [
            (("case".to_owned(), day(DAY), key(ANA)), viewer.clone()),
            (("phone".to_owned(), day(DAY), key(ANA)), viewer),
        ]
    );
}

#[test]
fn each_user_who_views_a_product_has_their_own_viewer_row() {
    let given = given([
        (ANA, "10:00", viewed("phone")),
        (BEN, "10:01", viewed("phone")),
    ]);

    let changes = given.when_folded_into(PRODUCTS);

    assert_eq!(
        changes.product_days[&("phone".to_owned(), day(DAY), 0)].views,
        2
    );
    assert_eq!(
        rows(&changes.product_users)
            .into_iter()
            .map(|((_, _, user), _)| user)
            .collect::<Vec<_>>(),
        [key(BEN), key(ANA)]
    );
}

#[test]
fn price_inquiries_spec_requests_and_intents_count_per_product_and_day() {
    let given = given([
        (ANA, "10:00", price_asked("phone", usd(79_900))),
        (ANA, "10:01", specs_asked("phone")),
        (ANA, "10:02", specs_asked("phone")),
        (ANA, "10:03", intended("phone", 2, usd(79_900))),
    ]);

    let changes = given.when_folded_into(PRODUCTS);

    // An intent counts once, whatever its quantity.
    assert_eq!(
        rows(&changes.product_days),
        [(
            ("phone".to_owned(), day(DAY), 0),
            ProductDay {
                views: 0,
                price_inquiries: 1,
                spec_requests: 2,
                purchase_intents: 1,
            }
        )]
    );
    assert_eq!(
        rows(&changes.product_users),
        [(
            ("phone".to_owned(), day(DAY), key(ANA)),
            ProductUser {
                viewed: false,
                intended: true,
            }
        )]
    );
}

#[test]
fn an_order_counts_once_per_product_and_adds_its_units_and_revenue_in_the_line_s_currency() {
    // The phone is on two lines of the one order.
    let given = given([(
        ANA,
        "10:00",
        order(
            vec![
                line("phone", 1, usd(79_900)),
                line("case", 3, usd(1_000)),
                line("phone", 1, usd(79_900)),
            ],
            usd(162_800),
        ),
    )]);

    let changes = given.when_folded_into(PRODUCTS);

    assert_eq!(
        rows(&changes.product_sales),
        [
            (
                ("case".to_owned(), day(DAY), "USD".to_owned(), 0),
                Sales {
                    orders: 1,
                    units: 3,
                    revenue_minor: 3_000,
                }
            ),
            (
                ("phone".to_owned(), day(DAY), "USD".to_owned(), 0),
                Sales {
                    orders: 1,
                    units: 2,
                    revenue_minor: 159_800,
                }
            ),
        ]
    );
    assert!(changes.product_days.is_empty());
    assert!(changes.product_users.is_empty());
}
