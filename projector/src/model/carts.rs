//! Carts and sessions: each user's cart and the session under way (`cart_users`), and the
//! sessions that put something in the cart (`cart_sessions`).

use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use events_schema::Event;

use super::{Changes, day_of};

/// A session ends when this long passes without an event of the user (docs/architecture.md,
/// Events: `ConversationStarted`), or at their next `ConversationStarted`.
pub const SESSION_TIMEOUT_US: i64 = 30 * 60 * 1_000_000;

/// One line of a cart: the quantity, and the unit price of the last add or change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CartLine {
    pub product_id: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub currency: String,
}

/// A user's cart and current session, as of their latest event (`cart_users`): what the next
/// batch folds on from. Read back before each batch ([`crate::apply`]), written whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartUser {
    /// When the session under way started; `None` before the first `ConversationStarted` and
    /// once 30 minutes passed without an event.
    pub session_start_us: Option<i64>,
    /// The user's latest event (`UserErased` aside): 30 minutes after it, the session is over.
    pub last_activity_us: i64,
    /// Whether the session put something in the cart (an add, or a quantity raised).
    pub carted: bool,
    /// Whether an order was placed in the session.
    pub ordered: bool,
    /// The cart, by product id.
    pub lines: Vec<CartLine>,
}

impl CartUser {
    fn line(&mut self, product_id: &str) -> &mut CartLine {
        let at = match self
            .lines
            .binary_search_by(|l| l.product_id.as_str().cmp(product_id))
        {
            Ok(at) => at,
            Err(at) => {
                self.lines.insert(
                    at,
                    CartLine {
                        product_id: product_id.to_owned(),
                        quantity: 0,
                        unit_price_minor: 0,
                        currency: String::new(),
                    },
                );
                at
            }
        };
        &mut self.lines[at]
    }

    fn set(&mut self, product_id: &str, quantity: i64, price: Option<&events_schema::Money>) {
        let line = self.line(product_id);
        line.quantity = quantity;
        if let Some(price) = price {
            line.unit_price_minor = price.amount_minor;
            price.currency.as_str().clone_into(&mut line.currency);
        }
        self.lines.retain(|l| l.quantity > 0);
    }

    /// Units in the cart.
    pub fn items(&self) -> i64 {
        self.lines.iter().map(|l| l.quantity).sum()
    }
}

/// A session in which the shopper put something in the cart (`cart_sessions`), as of its
/// latest event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartSession {
    /// The day the session started.
    pub day: NaiveDate,
    pub last_activity_us: i64,
    pub ordered: bool,
    /// When the user's next session started (`None`: not yet; it may have ended by time).
    pub ended_us: Option<i64>,
    /// The cart at the session's latest event.
    pub lines: Vec<CartLine>,
}

/// Cart lines as the read tables hold them: a JSON array of `{product_id, quantity,
/// unit_price_minor, currency}`, by product id.
pub fn lines_json(lines: &[CartLine]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".to_owned())
}

impl Changes {
    /// Carts and sessions (docs/metrics.md, "Carts"): the user's cart follows every cart event;
    /// a session runs from a `ConversationStarted` to the next, or until 30 minutes pass
    /// without an event; a session that put something in the cart gets a `cart_sessions` row.
    pub(super) fn add_cart(&mut self, user: &str, at: i64, event: &Event, tz: Tz) {
        if let Event::UserErased(_) = event {
            return;
        }
        let state = self.cart_users.entry_ref(user).or_default();
        if let Event::ConversationStarted(_) = event {
            if let (Some(start), true) = (state.session_start_us, state.carted) {
                let row = session_row(state, start, tz);
                self.cart_sessions
                    .entry((user.to_owned(), start))
                    .or_insert(row)
                    .ended_us = Some(at);
            }
            *state = CartUser {
                session_start_us: Some(at),
                last_activity_us: state.last_activity_us.max(at),
                carted: false,
                ordered: false,
                lines: std::mem::take(&mut state.lines),
            };
            return;
        }
        if state
            .session_start_us
            .is_some_and(|_| at - state.last_activity_us >= SESSION_TIMEOUT_US)
        {
            // Ended by time: what follows belongs to no session until the next start.
            state.session_start_us = None;
            state.carted = false;
            state.ordered = false;
        }
        state.last_activity_us = state.last_activity_us.max(at);
        let in_session = state.session_start_us.is_some();
        match event {
            Event::CartItemAdded(c) => {
                let quantity = state
                    .lines
                    .iter()
                    .find(|l| l.product_id == c.product_id)
                    .map_or(0, |l| l.quantity);
                state.set(
                    &c.product_id,
                    quantity + i64::from(c.quantity),
                    Some(&c.unit_price),
                );
                state.carted |= in_session && c.quantity > 0;
            }
            Event::CartItemRemoved(c) => state.set(&c.product_id, 0, None),
            Event::CartQuantityChanged(c) => {
                state.set(&c.product_id, i64::from(c.to), Some(&c.unit_price));
                state.carted |= in_session && c.to > c.from;
            }
            Event::CartCheckedOut(_) => state.lines.clear(),
            Event::OrderPlaced(_) => state.ordered |= in_session,
            _ => {}
        }
        if let (Some(start), true) = (state.session_start_us, state.carted) {
            let row = session_row(state, start, tz);
            self.cart_sessions.insert((user.to_owned(), start), row);
        }
    }
}

/// The `cart_sessions` row of the session under way, as of the user's latest event.
fn session_row(state: &CartUser, start: i64, tz: Tz) -> CartSession {
    CartSession {
        day: day_of(
            DateTime::from_timestamp_micros(start).unwrap_or_default(),
            tz,
        ),
        last_activity_us: state.last_activity_us,
        ordered: state.ordered,
        ended_us: None,
        lines: state.lines.clone(),
    }
}
