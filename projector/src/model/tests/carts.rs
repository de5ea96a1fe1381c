//! Carts and sessions: the user's cart and the session under way (`cart_users`), and each
//! session that put something in the cart (`cart_sessions`), as of its latest event.

use super::*;
use crate::model::{CartLine, CartSession, CartUser, SESSION_TIMEOUT_US};

const CARTS: &[Projection] = &[Projection::Carts];

fn usd_line(product: &str, quantity: i64, unit_price_minor: i64) -> CartLine {
    CartLine {
        product_id: product.into(),
        quantity,
        unit_price_minor,
        currency: "USD".into(),
    }
}

/// Ana's session that started at `start`.
fn session<'a>(changes: &'a Changes, start: &str) -> &'a CartSession {
    &changes.cart_sessions[&(key(ANA), us(start))]
}

#[test]
fn an_add_raises_the_line_by_its_quantity_at_the_price_of_the_add() {
    let given = given([
        (ANA, "10:00", added("a", 1, usd(500))),
        (ANA, "10:01", added("a", 2, usd(450))),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(changes.cart_users[ANA].lines, [usd_line("a", 3, 450)]);
}

#[test]
fn a_quantity_change_sets_the_line_and_its_price() {
    let given = given([
        (ANA, "10:00", added("a", 1, usd(500))),
        (ANA, "10:01", changed("a", 1, 4, usd(480))),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(changes.cart_users[ANA].lines, [usd_line("a", 4, 480)]);
}

#[test]
fn a_removal_drops_the_line_and_the_lines_stay_in_product_order() {
    let given = given([
        (ANA, "10:00", added("c", 1, usd(100))),
        (ANA, "10:01", added("a", 1, usd(500))),
        (ANA, "10:02", added("b", 2, usd(300))),
        (ANA, "10:03", removed("a", 1)),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(
        changes.cart_users[ANA].lines,
        [usd_line("b", 2, 300), usd_line("c", 1, 100)]
    );
    assert_eq!(changes.cart_users[ANA].items(), 3);
}

#[test]
fn a_cart_filled_outside_a_session_gets_no_session_row() {
    let given = given([(ANA, "10:00", added("a", 1, usd(500)))]);

    let changes = given.when_folded_into(CARTS);

    assert!(changes.cart_sessions.is_empty());
    assert_eq!(
        changes.cart_users[ANA],
        CartUser {
            session_start_us: None,
            last_activity_us: us("10:00"),
            carted: false,
            ordered: false,
            lines: vec![usd_line("a", 1, 500)],
        }
    );
}

#[test]
fn a_session_that_filled_the_cart_keeps_its_cart_and_value_as_of_its_last_event() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", added("a", 2, usd(500))),
        (ANA, "10:02", added("b", 1, usd(300))),
        (ANA, "10:03", changed("a", 2, 1, usd(450))),
        (ANA, "10:04", removed("b", 1)),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(
        rows(&changes.cart_sessions),
        [(
            (key(ANA), us("10:00")),
            CartSession {
                day: day(DAY),
                last_activity_us: us("10:04"),
                ordered: false,
                ended_us: None,
                lines: vec![usd_line("a", 1, 450)],
            }
        )]
    );
    assert_eq!(changes.cart_users[ANA].items(), 1);
}

#[test]
fn checkout_empties_the_cart_and_an_order_marks_the_session() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", added("a", 1, usd(500))),
        (ANA, "10:02", checked_out(usd(500))),
        (ANA, "10:02", order(vec![line("a", 1, usd(500))], usd(500))),
    ]);

    let changes = given.when_folded_into(CARTS);

    let s = session(&changes, "10:00");
    assert!(s.ordered);
    assert!(s.lines.is_empty());
    assert!(changes.cart_users[ANA].lines.is_empty());
}

#[test]
fn a_cart_left_without_an_order_stays_on_its_session_which_the_next_start_ends() {
    // What the dashboard counts as abandoned: ended, items in the cart, no order.
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", added("a", 2, usd(500))),
        (ANA, "10:50", started()),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(
        rows(&changes.cart_sessions),
        [(
            (key(ANA), us("10:00")),
            CartSession {
                day: day(DAY),
                last_activity_us: us("10:01"),
                ordered: false,
                ended_us: Some(us("10:50")),
                lines: vec![usd_line("a", 2, 500)],
            }
        )]
    );
}

#[test]
fn the_next_start_ends_a_session_and_the_cart_carries_over() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", added("a", 1, usd(500))),
        (ANA, "11:40", started()),
        (ANA, "11:41", order(vec![line("a", 1, usd(500))], usd(500))),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert_eq!(session(&changes, "10:00").ended_us, Some(us("11:40")));
    assert!(
        !session(&changes, "10:00").ordered,
        "the order came in the next session"
    );
    // The second session put nothing in the cart: no row, though the cart is not empty.
    assert!(!changes.cart_sessions.contains_key(&(key(ANA), us("11:40"))));
    assert_eq!(changes.cart_users[ANA].items(), 1);
    assert_eq!(changes.cart_users[ANA].session_start_us, Some(us("11:40")));
}

#[test]
fn a_lowered_quantity_puts_nothing_in_the_cart_of_a_session() {
    let given = given([
        (ANA, "10:00", added("a", 3, usd(100))),
        (ANA, "10:01", started()),
        (ANA, "10:02", changed("a", 3, 1, usd(100))),
        (ANA, "10:03", removed("a", 1)),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert!(changes.cart_sessions.is_empty());
}

#[test]
fn thirty_silent_minutes_end_the_session() {
    assert_eq!(SESSION_TIMEOUT_US, us("10:30") - us("10:00"));
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:01", order(vec![line("a", 1, usd(5))], usd(5))),
        (ANA, "10:31", added("a", 1, usd(100))),
    ]);

    let changes = given.when_folded_into(CARTS);

    // The add came 30 minutes after the last event: it is in no session.
    assert!(changes.cart_sessions.is_empty());
    assert_eq!(changes.cart_users[ANA].session_start_us, None);
}

#[test]
fn twenty_nine_silent_minutes_do_not_end_the_session() {
    let given = given([
        (ANA, "10:00", started()),
        (ANA, "10:29", changed("a", 0, 2, usd(100))),
        (ANA, "10:58", order(vec![line("a", 2, usd(100))], usd(200))),
    ]);

    let changes = given.when_folded_into(CARTS);

    assert!(session(&changes, "10:00").ordered);
}

#[test]
fn a_batch_folds_on_from_the_stored_cart_and_session() {
    // Stored by an earlier batch: a session under way since 10:00, one phone in the cart.
    let mut stored = Changes::default();
    stored.cart_users.insert(
        key(ANA),
        CartUser {
            session_start_us: Some(us("10:00")),
            last_activity_us: us("10:10"),
            carted: false,
            ordered: false,
            lines: vec![usd_line("phone", 1, 79_900)],
        },
    );
    let given = given([(ANA, "10:20", added("case", 2, usd(1_000)))]);

    let changes = given.when_folded_onto(stored, CARTS);

    assert_eq!(
        rows(&changes.cart_sessions),
        [(
            (key(ANA), us("10:00")),
            CartSession {
                day: day(DAY),
                last_activity_us: us("10:20"),
                ordered: false,
                ended_us: None,
                lines: vec![usd_line("case", 2, 1_000), usd_line("phone", 1, 79_900)],
            }
        )]
    );
}
