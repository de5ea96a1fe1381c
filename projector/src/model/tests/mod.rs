//! Given/when/then tests of the fold: *given* events of the log, *when* a batch folds them
//! ([`Changes::add`], one event at a time, into the projections it is asked for), *then* the
//! rows are exactly these. The fold is pure, so no database takes part.

mod business;
mod carts;
mod conversations;
mod counters;
mod erasure;
mod fold;
mod funnel;
mod products;
mod questions;
mod users;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use events_schema::{
    BotReplied, CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged, Channel,
    ConversationStarted, Currency, Event, Intent, MessageKind, MessageReceived, Money, OrderLine,
    OrderPlaced, PaymentMethod, PreferenceStated, PriceInquired, ProductViewed, PurchaseIntended,
    RecordedEvent, Sentiment, ShopQuestionAsked, SpecsRequested, StreamId, UnderstoodBy,
    UserErased, ViewSource,
};

use super::{Changes, Projection, Rows};

/// A shopper on the web chat.
const ANA: &str = "web:ana";
/// A shopper on Telegram.
const BEN: &str = "telegram:42";

/// The day the tests happen on, unless a time names another.
const DAY: &str = "2024-05-01";

/// An instant in UTC: `"10:00"` on [`DAY`], or `"2024-05-02 10:00"`.
fn at(time: &str) -> DateTime<Utc> {
    let full = if time.len() == 5 {
        format!("{DAY} {time}")
    } else {
        time.to_owned()
    };
    NaiveDateTime::parse_from_str(&full, "%Y-%m-%d %H:%M")
        .expect("a time as YYYY-MM-DD HH:MM or HH:MM")
        .and_utc()
}

/// The same instant in microseconds, as the rows hold times.
fn us(time: &str) -> i64 {
    at(time).timestamp_micros()
}

fn day(date: &str) -> NaiveDate {
    NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("a date as YYYY-MM-DD")
}

/// The user's key as the rows hold it.
fn key(user: &str) -> String {
    user.to_owned()
}

/// A table's rows in key order, to compare whole.
fn rows<K: Ord + Clone, V: Clone>(table: &Rows<K, V>) -> Vec<(K, V)> {
    let mut rows: Vec<(K, V)> = table.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// A table's keys in order.
fn keys<K: Ord + Clone, V>(table: &Rows<K, V>) -> Vec<K> {
    let mut keys: Vec<K> = table.keys().cloned().collect();
    keys.sort();
    keys
}

/// The events a test starts from, in log order: the first at global position 1.
struct Given(Vec<RecordedEvent>);

/// `(user, time, event)` in log order (times need not rise: a late event can be earlier).
fn given(events: impl IntoIterator<Item = (&'static str, &'static str, Event)>) -> Given {
    Given(
        events
            .into_iter()
            .enumerate()
            .map(|(i, (user, time, event))| {
                recorded(&format!("user-{user}"), i as i64 + 1, at(time), event)
            })
            .collect(),
    )
}

/// An event of `stream` as the log hands it to the projector.
fn recorded(stream: &str, position: i64, at: DateTime<Utc>, event: Event) -> RecordedEvent {
    RecordedEvent {
        global_position: position,
        event_id: uuid::Uuid::nil(),
        stream_id: StreamId::new(stream).expect("a stream id"),
        stream_version: position,
        event,
        schema_version: 1,
        occurred_at: at,
        recorded_at: at,
        correlation_id: uuid::Uuid::nil(),
        causation_id: None,
        erased: false,
    }
}

impl Given {
    /// Folds every event into `projections`, on partition 0, with days in UTC.
    fn when_folded_into(&self, projections: &[Projection]) -> Changes {
        self.when_folded_with(projections, 0, chrono_tz::UTC)
    }

    /// Folds every event into `projections` as an event of `partition`, with days in `tz`.
    fn when_folded_with(&self, projections: &[Projection], partition: u32, tz: Tz) -> Changes {
        let mut changes = Changes::default();
        for e in &self.0 {
            changes.add(projections, e, partition, tz);
        }
        changes
    }

    /// Folds onto `stored`: the rows a batch starts from (the stored carts of its users).
    fn when_folded_onto(&self, stored: Changes, projections: &[Projection]) -> Changes {
        let mut changes = stored;
        for e in &self.0 {
            changes.add(projections, e, 0, chrono_tz::UTC);
        }
        changes
    }

    /// Folds each event into the projections still behind it: those whose checkpoint is below
    /// its position, as a batch does after reading the checkpoints.
    fn when_folded_behind(&self, checkpoint: impl Fn(Projection) -> i64) -> Changes {
        let mut changes = Changes::default();
        for e in &self.0 {
            let behind: Vec<Projection> = Projection::ALL
                .into_iter()
                .filter(|&p| e.global_position > checkpoint(p))
                .collect();
            changes.add(&behind, e, 0, chrono_tz::UTC);
        }
        changes
    }
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::new("USD").expect("a currency"))
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::new("EUR").expect("a currency"))
}

fn started() -> Event {
    started_as(None, None)
}

fn started_as(username: Option<&str>, display_name: Option<&str>) -> Event {
    ConversationStarted {
        channel: Channel::Web,
        username: username.map(Into::into),
        display_name: display_name.map(Into::into),
        language: None,
        returning: false,
    }
    .into()
}

fn message(text: &str) -> Event {
    MessageReceived {
        kind: MessageKind::Text,
        message_id: None,
        text: Some(text.into()),
        intent: Intent::Browse,
        sentiment: Sentiment::Neutral,
        product_id: None,
        language: None,
        understood_by: UnderstoodBy::Rules,
    }
    .into()
}

fn reply(text: &str, products: &[&str]) -> Event {
    BotReplied {
        channel: Channel::Web,
        in_reply_to: None,
        chat_id: None,
        text: Some(text.into()),
        buttons: Vec::new(),
        products: products.iter().map(|&p| p.into()).collect(),
    }
    .into()
}

fn viewed(product: &str) -> Event {
    ProductViewed {
        product_id: product.into(),
        source: ViewSource::Mention,
    }
    .into()
}

fn price_asked(product: &str, price: Money) -> Event {
    PriceInquired {
        product_id: product.into(),
        price,
    }
    .into()
}

fn specs_asked(product: &str) -> Event {
    SpecsRequested {
        product_id: product.into(),
    }
    .into()
}

fn preference(budget: Option<Money>, category: Option<&str>) -> Event {
    PreferenceStated {
        budget,
        category: category.map(Into::into),
        budget_min: None,
        use_case: None,
    }
    .into()
}

fn intended(product: &str, quantity: u32, unit_price: Money) -> Event {
    PurchaseIntended {
        product_id: product.into(),
        quantity,
        unit_price,
    }
    .into()
}

fn line(product: &str, quantity: u32, unit_price: Money) -> OrderLine {
    OrderLine {
        product_id: product.into(),
        quantity,
        unit_price,
    }
}

fn order(lines: Vec<OrderLine>, total: Money) -> Event {
    OrderPlaced {
        order_id: "o".into(),
        lines,
        total,
        payment: PaymentMethod::ChatConfirmation,
        contact: None,
    }
    .into()
}

fn added(product: &str, quantity: u32, unit_price: Money) -> Event {
    CartItemAdded {
        product_id: product.into(),
        quantity,
        unit_price,
    }
    .into()
}

fn changed(product: &str, from: u32, to: u32, unit_price: Money) -> Event {
    CartQuantityChanged {
        product_id: product.into(),
        from,
        to,
        unit_price,
    }
    .into()
}

fn removed(product: &str, quantity: u32) -> Event {
    CartItemRemoved {
        product_id: product.into(),
        quantity,
    }
    .into()
}

fn checked_out(total: Money) -> Event {
    CartCheckedOut {
        order_id: "o".into(),
        lines: Vec::new(),
        total,
    }
    .into()
}

fn question(topic: &str) -> Event {
    ShopQuestionAsked {
        topic: topic.into(),
    }
    .into()
}

fn erased() -> Event {
    UserErased {
        requested_by: "cli".into(),
    }
    .into()
}
