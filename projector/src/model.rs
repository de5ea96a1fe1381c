//! The pure half of the projector: which rows a batch of events adds to each read table. No I/O;
//! [`crate::sql`] merges these changes into the tables (sums add up, first times keep the
//! earliest, latest values replace).
//!
//! Every figure follows ARCHITECTURE.md's "Metric definitions"; docs/metrics.md says which table
//! answers which figure.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use events_schema::{Event, RecordedEvent};

/// The projections: each owns its tables and checkpoints, and is rebuilt on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Projection {
    Funnel,
    Products,
    Users,
    Conversations,
    Business,
    Carts,
    Questions,
}

impl Projection {
    pub const ALL: [Projection; 7] = [
        Projection::Funnel,
        Projection::Products,
        Projection::Users,
        Projection::Conversations,
        Projection::Business,
        Projection::Carts,
        Projection::Questions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Projection::Funnel => "funnel",
            Projection::Products => "products",
            Projection::Users => "users",
            Projection::Conversations => "conversations",
            Projection::Business => "business",
            Projection::Carts => "carts",
            Projection::Questions => "questions",
        }
    }

    pub fn parse(name: &str) -> Option<Projection> {
        Projection::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The tables this projection owns (what a rebuild replaces).
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Funnel => &["funnel_user_days", "funnel_value_days"],
            Projection::Products => &["product_days", "product_sales_days", "product_user_days"],
            Projection::Users => &["users", "user_products", "user_sales"],
            Projection::Conversations => &["conversation_messages"],
            Projection::Business => &["business_days", "sales_days"],
            Projection::Carts => &["cart_users", "cart_sessions"],
            Projection::Questions => &["shop_question_days", "shop_question_users"],
        }
    }
}

impl std::fmt::Display for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Funnel stages, in order; a user counts at a stage if they reached it or any later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Greeting = 0,
    Browsing = 1,
    Consideration = 2,
    Intent = 3,
    Ordered = 4,
}

/// The stage an event shows a user reached, if any.
pub fn stage_of(event: &Event) -> Option<Stage> {
    match event {
        Event::MessageReceived(_) => Some(Stage::Greeting),
        Event::ProductViewed(_) => Some(Stage::Browsing),
        Event::PriceInquired(_) | Event::SpecsRequested(_) => Some(Stage::Consideration),
        Event::PurchaseIntended(_) => Some(Stage::Intent),
        Event::OrderPlaced(_) => Some(Stage::Ordered),
        _ => None,
    }
}

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The calendar day of an instant in the report time zone.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Earliest time per stage on one user-day (`None`: not reached that day).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunnelDay {
    pub first: [Option<i64>; 5],
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub intent_minor: i64,
    pub order_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductDay {
    pub views: i64,
    pub price_inquiries: i64,
    pub spec_requests: i64,
    pub purchase_intents: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sales {
    pub orders: i64,
    pub units: i64,
    pub revenue_minor: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductUser {
    pub viewed: bool,
    pub intended: bool,
}

/// Changes to one user's row. Counters add; first/last keep the extreme; the rest replace
/// when set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserRow {
    pub channel: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    pub first_seen_day: Option<NaiveDate>,
    pub messages: i64,
    pub sessions: i64,
    pub product_views: i64,
    pub stage: Option<i64>,
    pub budget: Option<(i64, String)>,
    pub category: Option<String>,
    pub orders: i64,
    pub last_position: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserProduct {
    pub views: i64,
    pub intents: i64,
    pub units: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub occurred_us: i64,
    pub direction: &'static str,
    pub text: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub product_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessDay {
    pub messages: i64,
    pub sessions: i64,
    pub replies: i64,
}

/// A session ends when this long passes without an event of the user (ARCHITECTURE.md, Events:
/// `ConversationStarted`), or at their next `ConversationStarted`.
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

type UserDay = (String, NaiveDate);

/// The rows of one table, by key. Hashed, not ordered: the fold looks rows up several times per
/// event, and [`crate::sql`] sorts each table's rows once when it writes them.
pub type Rows<K, V> = hashbrown::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// A key looked up by its borrowed parts (`Ref((user, day))` for `(String, NaiveDate)`): the
/// fold finds a row without allocating its key, and owns the key only for a new row. It hashes
/// as the owned key does (a tuple hashes its parts in order, `&str` as `String`).
#[derive(Hash)]
struct Ref<T>(T);

/// One part of a [`Ref`] and the owned part it stands for.
trait Part: Copy {
    type Owned;
    fn same(self, owned: &Self::Owned) -> bool;
    fn owned(self) -> Self::Owned;
}

impl Part for &str {
    type Owned = String;
    fn same(self, owned: &String) -> bool {
        self == owned
    }
    fn owned(self) -> String {
        self.to_owned()
    }
}

macro_rules! copy_part {
    ($($t:ty),+) => {$(
        impl Part for $t {
            type Owned = $t;
            fn same(self, owned: &$t) -> bool {
                self == *owned
            }
            fn owned(self) -> $t {
                self
            }
        }
    )+};
}
copy_part!(NaiveDate, Shard);

macro_rules! ref_key {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Part),+> hashbrown::Equivalent<($($t::Owned,)+)> for Ref<($($t,)+)> {
            fn equivalent(&self, key: &($($t::Owned,)+)) -> bool {
                $(self.0.$i.same(&key.$i))&&+
            }
        }
    };
}
ref_key!(A 0, B 1);
ref_key!(A 0, B 1, C 2);
ref_key!(A 0, B 1, C 2, D 3);

macro_rules! owned_key {
    ($(($($p:ty),+) => ($($i:tt),+);)+) => {$(
        impl From<&Ref<($($p,)+)>> for ($(<$p as Part>::Owned,)+) {
            fn from(key: &Ref<($($p,)+)>) -> Self {
                ($(key.0.$i.owned(),)+)
            }
        }
    )+};
}
owned_key! {
    (&str, NaiveDate) => (0, 1);
    (&str, NaiveDate, &str) => (0, 1, 2);
    (&str, NaiveDate, Shard) => (0, 1, 2);
    (&str, NaiveDate, &str, Shard) => (0, 1, 2, 3);
    (&str, &str) => (0, 1);
    (NaiveDate, &str, Shard) => (0, 1, 2);
}

/// The partition of the event that changed a shared counter row.
pub type Shard = u16;

/// Everything one batch changes, per table, merged by primary key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub funnel_days: Rows<UserDay, FunnelDay>,
    pub funnel_values: Rows<(String, NaiveDate, String), Values>,
    /// Counters shared by every user carry a shard (the event's partition) in their key, so
    /// that partitions never write the same row.
    pub product_days: Rows<(String, NaiveDate, Shard), ProductDay>,
    pub product_sales: Rows<(String, NaiveDate, String, Shard), Sales>,
    pub product_users: Rows<(String, NaiveDate, String), ProductUser>,
    /// Users whose user-level rows go first (erased), before this batch's upserts.
    pub erased_users: BTreeSet<String>,
    pub users: Rows<String, UserRow>,
    pub user_products: Rows<(String, String), UserProduct>,
    pub user_sales: Rows<(String, String), Sales>,
    pub messages: Rows<(String, i64), Message>,
    pub business_days: Rows<(NaiveDate, Shard), BusinessDay>,
    pub sales_days: Rows<(NaiveDate, String, Shard), Sales>,
    /// Every user's cart and session: seeded with the stored rows of the batch's users before
    /// the fold (a cart is a running state, not a sum), written back whole.
    pub cart_users: Rows<String, CartUser>,
    /// Sessions with a cart, by user and start.
    pub cart_sessions: Rows<(String, i64), CartSession>,
    /// Shop questions per topic and day.
    pub questions: Rows<(String, NaiveDate, Shard), i64>,
    /// Each user's first shop question.
    pub question_users: Rows<String, i64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }

    /// Folds one event of `partition` into the tables of `projections`.
    pub fn add(&mut self, projections: &[Projection], e: &RecordedEvent, partition: u32, tz: Tz) {
        let Some(user) = e.stream_id.user_str() else {
            return;
        };
        let at = micros(e.occurred_at);
        let day = day_of(e.occurred_at, tz);
        for projection in projections {
            match projection {
                Projection::Funnel => self.add_funnel(user, day, at, &e.event),
                Projection::Products => self.add_products(user, day, shard(partition), &e.event),
                Projection::Users => self.add_user(user, day, at, e),
                Projection::Conversations => self.add_message(user, at, e),
                Projection::Business => self.add_business((day, shard(partition)), &e.event),
                Projection::Carts => self.add_cart(user, at, &e.event, tz),
                Projection::Questions => {
                    if let Event::ShopQuestionAsked(q) = &e.event {
                        *self
                            .questions
                            .entry_ref(&Ref((q.topic.as_str(), day, shard(partition))))
                            .or_default() += 1;
                        let first = self.question_users.entry_ref(user).or_insert(at);
                        *first = (*first).min(at);
                    }
                }
            }
        }
    }

    fn add_funnel(&mut self, user: &str, day: NaiveDate, at: i64, event: &Event) {
        let Some(stage) = stage_of(event) else {
            return;
        };
        let row = self.funnel_days.entry_ref(&Ref((user, day))).or_default();
        let slot = &mut row.first[stage as usize];
        *slot = Some(slot.map_or(at, |t| t.min(at)));
        let value = match event {
            Event::PurchaseIntended(p) => Some((
                p.unit_price.currency.as_str(),
                Values {
                    intent_minor: p.unit_price.amount_minor * i64::from(p.quantity),
                    order_minor: 0,
                },
            )),
            Event::OrderPlaced(o) => Some((
                o.total.currency.as_str(),
                Values {
                    intent_minor: 0,
                    order_minor: o.total.amount_minor,
                },
            )),
            _ => None,
        };
        if let Some((currency, v)) = value {
            let sum = self
                .funnel_values
                .entry_ref(&Ref((user, day, currency)))
                .or_default();
            sum.intent_minor += v.intent_minor;
            sum.order_minor += v.order_minor;
        }
    }

    fn add_products(&mut self, user: &str, day: NaiveDate, shard: Shard, event: &Event) {
        let mut count = |product: &str, f: fn(&mut ProductDay)| {
            f(self
                .product_days
                .entry_ref(&Ref((product, day, shard)))
                .or_default());
        };
        match event {
            Event::ProductViewed(p) => count(&p.product_id, |d| d.views += 1),
            Event::PriceInquired(p) => count(&p.product_id, |d| d.price_inquiries += 1),
            Event::SpecsRequested(p) => count(&p.product_id, |d| d.spec_requests += 1),
            Event::PurchaseIntended(p) => count(&p.product_id, |d| d.purchase_intents += 1),
            _ => {}
        }
        match event {
            Event::ProductViewed(p) => {
                self.product_users
                    .entry_ref(&Ref((p.product_id.as_str(), day, user)))
                    .or_default()
                    .viewed = true;
            }
            Event::PurchaseIntended(p) => {
                self.product_users
                    .entry_ref(&Ref((p.product_id.as_str(), day, user)))
                    .or_default()
                    .intended = true;
            }
            Event::OrderPlaced(o) => {
                // An order counts once per product it contains.
                let mut seen = BTreeSet::new();
                for line in &o.lines {
                    let sales = self
                        .product_sales
                        .entry_ref(&Ref((
                            line.product_id.as_str(),
                            day,
                            line.unit_price.currency.as_str(),
                            shard,
                        )))
                        .or_default();
                    if seen.insert(line.product_id.as_str()) {
                        sales.orders += 1;
                    }
                    sales.units += i64::from(line.quantity);
                    sales.revenue_minor += line.unit_price.amount_minor * i64::from(line.quantity);
                }
            }
            _ => {}
        }
    }

    fn add_user(&mut self, user: &str, day: NaiveDate, at: i64, e: &RecordedEvent) {
        if let Event::UserErased(_) = e.event {
            self.erased_users.insert(user.to_owned());
            self.users.remove(user);
            self.user_products.retain(|(u, _), _| u != user);
            self.user_sales.retain(|(u, _), _| u != user);
            return;
        }
        let row = self.users.entry_ref(user).or_insert_with(|| UserRow {
            channel: user.split(':').next().unwrap_or_default().to_owned(),
            first_seen_us: at,
            last_seen_us: at,
            first_seen_day: Some(day),
            ..UserRow::default()
        });
        if at < row.first_seen_us {
            row.first_seen_us = at;
            row.first_seen_day = Some(day);
        }
        row.last_seen_us = row.last_seen_us.max(at);
        row.last_position = row.last_position.max(e.global_position);
        if let Some(stage) = stage_of(&e.event) {
            row.stage = Some(row.stage.unwrap_or(0).max(stage as i64));
        }
        match &e.event {
            Event::ConversationStarted(c) => {
                row.sessions += 1;
                if c.username.is_some() {
                    row.username = storable(&c.username);
                }
                if c.display_name.is_some() {
                    row.display_name = storable(&c.display_name);
                }
            }
            Event::MessageReceived(_) => row.messages += 1,
            Event::ProductViewed(p) => {
                row.product_views += 1;
                self.user_products
                    .entry_ref(&Ref((user, p.product_id.as_str())))
                    .or_default()
                    .views += 1;
            }
            Event::PreferenceStated(p) => {
                if let Some(budget) = &p.budget {
                    row.budget = Some((budget.amount_minor, budget.currency.as_str().to_owned()));
                }
                if p.category.is_some() {
                    row.category.clone_from(&p.category);
                }
            }
            Event::PurchaseIntended(p) => {
                self.user_products
                    .entry_ref(&Ref((user, p.product_id.as_str())))
                    .or_default()
                    .intents += 1;
            }
            Event::OrderPlaced(o) => {
                row.orders += 1;
                let sales = self
                    .user_sales
                    .entry_ref(&Ref((user, o.total.currency.as_str())))
                    .or_default();
                sales.orders += 1;
                sales.revenue_minor += o.total.amount_minor;
                for line in &o.lines {
                    self.user_products
                        .entry_ref(&Ref((user, line.product_id.as_str())))
                        .or_default()
                        .units += i64::from(line.quantity);
                }
            }
            _ => {}
        }
    }

    fn add_message(&mut self, user: &str, at: i64, e: &RecordedEvent) {
        let message = match &e.event {
            Event::UserErased(_) => {
                self.erased_users.insert(user.to_owned());
                self.messages.retain(|(u, _), _| u != user);
                return;
            }
            Event::MessageReceived(m) => Message {
                occurred_us: at,
                direction: "in",
                text: storable(&m.text),
                intent: Some(m.intent.as_str().to_owned()),
                sentiment: Some(m.sentiment.as_str().to_owned()),
                product_id: m.product_id.clone(),
            },
            Event::BotReplied(r) => Message {
                occurred_us: at,
                direction: "out",
                text: storable(&r.text),
                intent: None,
                sentiment: None,
                product_id: r.products.first().cloned(),
            },
            _ => return,
        };
        self.messages
            .insert((user.to_owned(), e.global_position), message);
    }

    /// Carts and sessions (docs/metrics.md, "Carts"): the user's cart follows every cart event;
    /// a session runs from a `ConversationStarted` to the next, or until 30 minutes pass
    /// without an event; a session that put something in the cart gets a `cart_sessions` row.
    fn add_cart(&mut self, user: &str, at: i64, event: &Event, tz: Tz) {
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

    fn add_business(&mut self, day: (NaiveDate, Shard), event: &Event) {
        match event {
            Event::MessageReceived(_) => self.business_days.entry(day).or_default().messages += 1,
            Event::ConversationStarted(_) => {
                self.business_days.entry(day).or_default().sessions += 1;
            }
            Event::BotReplied(_) => self.business_days.entry(day).or_default().replies += 1,
            Event::OrderPlaced(o) => {
                let sales = self
                    .sales_days
                    .entry_ref(&Ref((day.0, o.total.currency.as_str(), day.1)))
                    .or_default();
                sales.orders += 1;
                sales.revenue_minor += o.total.amount_minor;
            }
            _ => {}
        }
    }
}

impl Changes {
    /// Moves the counters every user adds to (sums of the product and business tables, which
    /// merge in any order) from `other` into these.
    pub(crate) fn absorb_counters(&mut self, other: &mut Changes) {
        absorb(&mut self.product_days, &mut other.product_days);
        absorb(&mut self.product_sales, &mut other.product_sales);
        absorb(&mut self.business_days, &mut other.business_days);
        absorb(&mut self.sales_days, &mut other.sales_days);
        absorb(&mut self.questions, &mut other.questions);
    }

    /// How many counter rows [`Changes::absorb_counters`] would move.
    pub(crate) fn counter_rows(&self) -> usize {
        self.product_days.len()
            + self.product_sales.len()
            + self.business_days.len()
            + self.sales_days.len()
            + self.questions.len()
    }
}

/// A row of sums: two changes to it add up.
trait Counter: Default {
    fn add(&mut self, other: Self);
}

impl Counter for ProductDay {
    fn add(&mut self, other: Self) {
        self.views += other.views;
        self.price_inquiries += other.price_inquiries;
        self.spec_requests += other.spec_requests;
        self.purchase_intents += other.purchase_intents;
    }
}

impl Counter for Sales {
    fn add(&mut self, other: Self) {
        self.orders += other.orders;
        self.units += other.units;
        self.revenue_minor += other.revenue_minor;
    }
}

impl Counter for BusinessDay {
    fn add(&mut self, other: Self) {
        self.messages += other.messages;
        self.sessions += other.sessions;
        self.replies += other.replies;
    }
}

impl Counter for i64 {
    fn add(&mut self, other: Self) {
        *self += other;
    }
}

fn absorb<K: std::hash::Hash + Eq, V: Counter>(into: &mut Rows<K, V>, from: &mut Rows<K, V>) {
    if into.is_empty() {
        std::mem::swap(into, from);
        return;
    }
    for (key, value) in from.drain() {
        into.entry(key).or_default().add(value);
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

fn shard(partition: u32) -> Shard {
    Shard::try_from(partition).unwrap_or(Shard::MAX)
}

/// Text a shopper wrote (or a reply that names them), as a read table holds it. Postgres `text`
/// cannot hold NUL, and one NUL would stop every projection on every partition for good (the
/// batch could never commit), so a NUL shows as U+FFFD here, on both backends alike; the log
/// keeps the original.
fn storable(text: &Option<String>) -> Option<String> {
    text.as_ref().map(|t| {
        if t.contains('\0') {
            t.replace('\0', "\u{fffd}")
        } else {
            t.clone()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use events_schema::{
        CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged, Channel,
        ConversationStarted, Currency, Money, OrderPlaced, PaymentMethod, StreamId,
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
            super::storable(&Some("A\u{0}na\u{0}".into())).as_deref(),
            Some("A\u{fffd}na\u{fffd}")
        );
        assert_eq!(
            super::storable(&Some(controls.clone())),
            Some(controls),
            "only NUL changes"
        );
        assert_eq!(super::storable(&None), None);
    }
}
