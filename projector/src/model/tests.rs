//! Tests of the fold, without a database.

use super::*;
use events_schema::{
    CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged, Channel,
    ConversationStarted, Currency, Event, Money, OrderPlaced, PaymentMethod, StreamId,
};

const MIN: i64 = 60 * 1_000_000;

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::new("USD").expect("code"))
}

fn started() -> Event {
    ConversationStarted {
        channel: Channel::Web,
        username: None,
        display_name: None,
        language: None,
        returning: false,
    }
    .into()
}

fn added(product: &str, quantity: u32, price: i64) -> Event {
    CartItemAdded {
        product_id: product.into(),
        quantity,
        unit_price: usd(price),
    }
    .into()
}

fn changed(product: &str, from: u32, to: u32, price: i64) -> Event {
    CartQuantityChanged {
        product_id: product.into(),
        from,
        to,
        unit_price: usd(price),
    }
    .into()
}

fn ordered(total: i64) -> Event {
    OrderPlaced {
        order_id: "o".into(),
        lines: Vec::new(),
        total: usd(total),
        payment: PaymentMethod::ChatConfirmation,
        contact: None,
    }
    .into()
}

/// Folds `(minutes, event)` of `web:ana` into the carts tables.
fn fold(events: Vec<(i64, Event)>) -> Changes {
    let mut changes = Changes::default();
    for (i, (minute, event)) in events.into_iter().enumerate() {
        let e = RecordedEvent {
            global_position: i as i64 + 1,
            event_id: uuid::Uuid::nil(),
            stream_id: StreamId::new("user-web:ana").expect("stream"),
            stream_version: i as i64 + 1,
            event,
            schema_version: 1,
            occurred_at: DateTime::from_timestamp_micros(minute * MIN).expect("time"),
            recorded_at: DateTime::UNIX_EPOCH,
            correlation_id: uuid::Uuid::nil(),
            causation_id: None,
            erased: false,
        };
        changes.add(&[Projection::Carts], &e, 0, chrono_tz::UTC);
    }
    changes
}

fn session(changes: &Changes, start_minute: i64) -> &CartSession {
    &changes.cart_sessions[&("web:ana".to_owned(), start_minute * MIN)]
}

#[test]
fn a_session_that_filled_the_cart_keeps_its_cart_and_value_as_of_its_last_event() {
    let c = fold(vec![
        (0, started()),
        (1, added("a", 2, 500)),
        (2, added("b", 1, 300)),
        (3, changed("a", 2, 1, 450)),
        (
            4,
            CartItemRemoved {
                product_id: "b".into(),
                quantity: 1,
            }
            .into(),
        ),
    ]);
    let s = session(&c, 0);
    assert_eq!(s.last_activity_us, 4 * MIN);
    assert!(!s.ordered);
    assert_eq!(s.ended_us, None);
    assert_eq!(
        s.lines,
        [CartLine {
            product_id: "a".into(),
            quantity: 1,
            unit_price_minor: 450,
            currency: "USD".into(),
        }]
    );
    assert_eq!(c.cart_users["web:ana"].items(), 1);
}

#[test]
fn checkout_empties_the_cart_and_an_order_marks_the_session() {
    let c = fold(vec![
        (0, started()),
        (1, added("a", 1, 500)),
        (
            2,
            CartCheckedOut {
                order_id: "o".into(),
                lines: Vec::new(),
                total: usd(500),
            }
            .into(),
        ),
        (2, ordered(500)),
    ]);
    let s = session(&c, 0);
    assert!(s.ordered);
    assert!(s.lines.is_empty());
}

#[test]
fn the_next_start_ends_a_session_and_the_cart_carries_over() {
    let c = fold(vec![
        (0, started()),
        (1, added("a", 1, 500)),
        (100, started()),
        (101, ordered(500)),
    ]);
    assert_eq!(session(&c, 0).ended_us, Some(100 * MIN));
    assert!(
        !session(&c, 0).ordered,
        "the order came in the next session"
    );
    // The second session put nothing in the cart: no row, though the cart is not empty.
    assert!(
        !c.cart_sessions
            .contains_key(&("web:ana".to_owned(), 100 * MIN))
    );
    assert_eq!(c.cart_users["web:ana"].items(), 1);
    assert_eq!(c.cart_users["web:ana"].session_start_us, Some(100 * MIN));
}

#[test]
fn only_adds_and_raised_quantities_fill_a_session_and_thirty_silent_minutes_end_it() {
    // A lowered quantity and a removal are no purchase intent.
    let c = fold(vec![
        (0, added("a", 3, 100)),
        (1, started()),
        (2, changed("a", 3, 1, 100)),
    ]);
    assert!(c.cart_sessions.is_empty());
    // After 30 minutes without an event the session is over: an add then is in none.
    let c = fold(vec![
        (0, started()),
        (1, ordered(5)),
        (31, added("a", 1, 100)),
    ]);
    assert!(c.cart_sessions.is_empty());
    assert_eq!(c.cart_users["web:ana"].session_start_us, None);
    let c = fold(vec![
        (0, started()),
        (29, changed("a", 0, 2, 100)),
        (58, ordered(200)),
    ]);
    assert!(
        session(&c, 0).ordered,
        "29 minutes apart is still one session"
    );
}

#[test]
fn a_nul_shows_as_the_replacement_character_and_the_rest_as_written() {
    let controls: String = (1u8..0x20).chain([0x7f]).map(char::from).collect();
    assert_eq!(
        super::rows::storable(&Some("A\u{0}na\u{0}".into())).as_deref(),
        Some("A\u{fffd}na\u{fffd}")
    );
    assert_eq!(
        super::rows::storable(&Some(controls.clone())),
        Some(controls),
        "only NUL changes"
    );
    assert_eq!(super::rows::storable(&None), None);
}
