//! The business: messages, sessions and replies per day (`business_days`), orders and revenue
//! per day and currency (`sales_days`). Every key ends in the shard (partition 0 here).

use super::*;
use crate::model::{BusinessDay, Sales};

const BUSINESS: &[Projection] = &[Projection::Business];

#[test]
fn messages_session_starts_and_replies_of_every_user_count_on_the_day() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:00", message("hi")),
        (ANA, "10:01", reply("Hi!", &[])),
        (BEN, "10:02", started()),
        (BEN, "10:02", message("hello")),
        (ANA, "10:03", viewed("phone")),
    ]);

    let changes = given.when_folded_into(BUSINESS);

    assert_eq!(
        rows(&changes.business_days),
        [(
            (day(DAY), 0),
            BusinessDay {
                messages: 2,
                sessions: 2,
                replies: 1,
            }
        )]
    );
    assert!(changes.sales_days.is_empty());
}

#[test]
fn an_order_adds_to_the_day_s_sales_in_its_currency() {
    let given = given([
        (
            ANA,
            "10:00",
            order(vec![line("phone", 2, usd(100))], usd(200)),
        ),
        (
            BEN,
            "10:30",
            order(vec![line("case", 1, usd(100))], usd(100)),
        ),
        (ANA, "11:00", order(vec![line("case", 1, eur(50))], eur(50))),
    ]);

    let changes = given.when_folded_into(BUSINESS);

    assert_eq!(
        rows(&changes.sales_days),
        [
            (
                (day(DAY), "EUR".to_owned(), 0),
                Sales {
                    orders: 1,
                    units: 0,
                    revenue_minor: 50,
                }
            ),
            (
                (day(DAY), "USD".to_owned(), 0),
                Sales {
                    orders: 2,
                    units: 0,
                    revenue_minor: 300,
                }
            ),
        ]
    );
    assert!(changes.business_days.is_empty());
}
