//! The reconciliation oracle: every read table recomputed from the raw event log with plain
//! maps, written here from ARCHITECTURE.md's metric definitions and docs/metrics.md, not with
//! the projector's code, then compared row by row with what the projector wrote.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;
use event_store::EventStore;
use events_schema::{Event, RecordedEvent};

/// Table → primary key → the other columns, all as text (`None` for NULL).
pub type Tables = BTreeMap<&'static str, BTreeMap<Vec<String>, Vec<Option<String>>>>;

/// Each table: its key columns, then its other columns.
pub const SHAPE: &[(&str, &[&str], &[&str])] = &[
    (
        "funnel_user_days",
        &["user_id", "day"],
        &[
            "first_message_us",
            "first_view_us",
            "first_consider_us",
            "first_intent_us",
            "first_order_us",
        ],
    ),
    (
        "funnel_value_days",
        &["user_id", "day", "currency"],
        &["intent_value_minor", "order_value_minor"],
    ),
    (
        "product_days",
        &["product_id", "day"],
        &[
            "views",
            "price_inquiries",
            "spec_requests",
            "purchase_intents",
        ],
    ),
    (
        "product_sales_days",
        &["product_id", "day", "currency"],
        &["orders", "units", "revenue_minor"],
    ),
    (
        "product_user_days",
        &["product_id", "day", "user_id"],
        &["viewed", "intended"],
    ),
    (
        "users",
        &["user_id"],
        &[
            "channel",
            "username",
            "display_name",
            "first_seen_us",
            "last_seen_us",
            "first_seen_day",
            "messages",
            "sessions",
            "product_views",
            "stage",
            "budget_minor",
            "budget_currency",
            "category",
            "orders",
            "last_position",
        ],
    ),
    (
        "user_products",
        &["user_id", "product_id"],
        &["views", "intents", "units"],
    ),
    (
        "user_sales",
        &["user_id", "currency"],
        &["orders", "revenue_minor"],
    ),
    (
        "conversation_messages",
        &["user_id", "global_position"],
        &[
            "occurred_us",
            "direction",
            "text",
            "intent",
            "sentiment",
            "product_id",
        ],
    ),
    (
        "business_days",
        &["day"],
        &["messages", "sessions", "replies"],
    ),
    (
        "sales_days",
        &["day", "currency"],
        &["orders", "revenue_minor"],
    ),
    (
        "cart_users",
        &["user_id"],
        &[
            "session_start_us",
            "last_activity_us",
            "carted",
            "ordered",
            "lines",
        ],
    ),
    (
        "cart_sessions",
        &["user_id", "started_us"],
        &[
            "day",
            "last_activity_us",
            "ordered",
            "ended_us",
            "items",
            "lines",
        ],
    ),
    ("shop_question_days", &["topic", "day"], &["questions"]),
    ("shop_question_users", &["user_id"], &["first_asked_us"]),
];

/// Tables keyed also by `shard`, summed over it.
pub const SHARDED: &[&str] = &[
    "product_days",
    "product_sales_days",
    "business_days",
    "sales_days",
    "shop_question_days",
];

/// The read-table columns the projector seals under the user's key (docs/architecture.md,
/// invariant 8): compared opened, so a value left in plain (which does not open) differs.
pub const SEALED: &[(&str, &str)] = &[
    ("users", "username"),
    ("users", "display_name"),
    ("conversation_messages", "text"),
];

/// What the projector wrote, its sealed columns opened with the users' live keys.
pub async fn actual(store: &EventStore) -> Tables {
    let pool = store.pool();
    let mut tables = Tables::new();
    for (table, keys, values) in SHAPE {
        // Shared counters have a row per shard (partition); their figure is the sum.
        let sharded = SHARDED.contains(table);
        let columns: Vec<String> = keys
            .iter()
            .map(|c| format!("CAST({c} AS TEXT)"))
            .chain(values.iter().map(|c| match sharded {
                true => format!("CAST(SUM({c}) AS TEXT)"),
                false => format!("CAST({c} AS TEXT)"),
            }))
            .collect();
        let mut sql = format!("SELECT {} FROM {table}", columns.join(", "));
        if sharded {
            sql.push_str(&format!(" GROUP BY {}", keys.join(", ")));
        }
        let rows: Vec<Texts> = event_store::db::query(sql)
            .fetch_all(pool)
            .await
            .expect(table);
        let rows = rows.into_iter().map(|Texts(row)| row);
        let map = tables.entry(table).or_default();
        for mut row in rows {
            let rest = row.split_off(keys.len());
            let key = row.into_iter().map(Option::unwrap_or_default).collect();
            map.insert(key, rest);
        }
    }
    let users: BTreeSet<String> = SEALED
        .iter()
        .flat_map(|(table, _)| tables[table].keys().map(|k| k[0].clone()))
        .collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let keys = store.read_keys(&users).await.expect("user keys");
    for (table, column) in SEALED {
        let (_, key_columns, columns) = SHAPE
            .iter()
            .find(|(t, _, _)| t == table)
            .expect("a table of SHAPE");
        assert_eq!(key_columns[0], "user_id", "{table}");
        let at = columns.iter().position(|c| c == column).expect("a column");
        for (key, row) in tables.get_mut(table).expect("read") {
            row[at] = row[at].take().map(|sealed| {
                keys.open(table, column, &key[0], &sealed)
                    .unwrap_or_else(|| format!("<does not open: {sealed}>"))
            });
        }
    }
    tables
}

#[derive(Default)]
struct User {
    channel: String,
    username: Option<String>,
    display_name: Option<String>,
    first: Option<chrono::DateTime<chrono::Utc>>,
    last: i64,
    messages: i64,
    sessions: i64,
    views: i64,
    stage: i64,
    budget: Option<(i64, String)>,
    category: Option<String>,
    orders: i64,
    last_position: i64,
}

fn s(x: impl ToString) -> Option<String> {
    Some(x.to_string())
}

/// The whole log, in order.
pub async fn log(store: &EventStore) -> Vec<RecordedEvent> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let after = events.last().map_or(0, |e| e.global_position);
        let batch = store.read_all(after, 10_000).await.expect("read log");
        if batch.is_empty() {
            break;
        }
        events.extend(batch);
    }
    events
}

/// Recomputes every table from the whole log.
pub async fn expected(store: &EventStore, tz: Tz) -> Tables {
    expected_through(store, tz, i64::MAX).await
}

/// Recomputes every table from the log up to `through` (time travel's `as_of`): the events
/// after it are left out, as if they had not happened yet.
pub async fn expected_through(store: &EventStore, tz: Tz, through: i64) -> Tables {
    let mut events = log(store).await;
    events.retain(|e| e.global_position <= through);
    let mut funnel: BTreeMap<(String, String), [Option<i64>; 5]> = BTreeMap::new();
    let mut values: BTreeMap<(String, String, String), (i64, i64)> = BTreeMap::new();
    let mut products: BTreeMap<(String, String), [i64; 4]> = BTreeMap::new();
    let mut product_sales: BTreeMap<(String, String, String), [i64; 3]> = BTreeMap::new();
    let mut product_users: BTreeMap<(String, String, String), [bool; 2]> = BTreeMap::new();
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    let mut user_products: BTreeMap<(String, String), [i64; 3]> = BTreeMap::new();
    let mut user_sales: BTreeMap<(String, String), [i64; 2]> = BTreeMap::new();
    let mut messages: BTreeMap<(String, i64), Vec<Option<String>>> = BTreeMap::new();
    let mut business: BTreeMap<String, [i64; 3]> = BTreeMap::new();
    let mut sales: BTreeMap<(String, String), [i64; 2]> = BTreeMap::new();

    for e in &events {
        let Some(user) = e.stream_id.user_id() else {
            continue;
        };
        let u = user.to_string();
        let day = e.occurred_at.with_timezone(&tz).date_naive().to_string();
        let at = e.occurred_at.timestamp_micros();
        let stage = match &e.event {
            Event::MessageReceived(_) => Some(0),
            Event::ProductViewed(_) => Some(1),
            Event::PriceInquired(_) | Event::SpecsRequested(_) => Some(2),
            Event::PurchaseIntended(_) => Some(3),
            Event::OrderPlaced(_) => Some(4),
            _ => None,
        };
        if let Event::UserErased(_) = &e.event {
            users.remove(&u);
            user_products.retain(|(x, _), _| *x != u);
            user_sales.retain(|(x, _), _| *x != u);
            messages.retain(|(x, _), _| *x != u);
            continue;
        }
        if let Some(stage) = stage {
            let first = &mut funnel.entry((u.clone(), day.clone())).or_default()[stage];
            if first.is_none_or(|t| at < t) {
                *first = Some(at);
            }
        }
        let user_row = users.entry(u.clone()).or_insert_with(|| User {
            channel: u.split_once(':').expect("channel:id").0.to_owned(),
            ..User::default()
        });
        if user_row.first.is_none_or(|f| e.occurred_at < f) {
            user_row.first = Some(e.occurred_at);
        }
        user_row.last = user_row.last.max(at);
        user_row.last_position = e.global_position;
        if let Some(stage) = stage {
            user_row.stage = user_row.stage.max(stage as i64);
        }
        match &e.event {
            Event::ConversationStarted(c) => {
                user_row.sessions += 1;
                if c.username.is_some() {
                    user_row.username.clone_from(&c.username);
                }
                if c.display_name.is_some() {
                    user_row.display_name.clone_from(&c.display_name);
                }
                business.entry(day.clone()).or_default()[1] += 1;
            }
            Event::MessageReceived(m) => {
                user_row.messages += 1;
                business.entry(day.clone()).or_default()[0] += 1;
                messages.insert(
                    (u.clone(), e.global_position),
                    vec![
                        s(at),
                        s("in"),
                        m.text.clone(),
                        Some(
                            serde_json::to_value(m.intent)
                                .expect("intent")
                                .as_str()
                                .expect("name")
                                .to_owned(),
                        ),
                        Some(
                            serde_json::to_value(m.sentiment)
                                .expect("sentiment")
                                .as_str()
                                .expect("name")
                                .to_owned(),
                        ),
                        m.product_id.clone(),
                    ],
                );
            }
            Event::BotReplied(r) => {
                business.entry(day.clone()).or_default()[2] += 1;
                messages.insert(
                    (u.clone(), e.global_position),
                    vec![
                        s(at),
                        s("out"),
                        r.text.clone(),
                        None,
                        None,
                        r.products.first().cloned(),
                    ],
                );
            }
            Event::ProductViewed(p) => {
                user_row.views += 1;
                products
                    .entry((p.product_id.clone(), day.clone()))
                    .or_default()[0] += 1;
                product_users
                    .entry((p.product_id.clone(), day.clone(), u.clone()))
                    .or_default()[0] = true;
                user_products
                    .entry((u.clone(), p.product_id.clone()))
                    .or_default()[0] += 1;
            }
            Event::PriceInquired(p) => {
                products
                    .entry((p.product_id.clone(), day.clone()))
                    .or_default()[1] += 1;
            }
            Event::SpecsRequested(p) => {
                products
                    .entry((p.product_id.clone(), day.clone()))
                    .or_default()[2] += 1;
            }
            Event::PreferenceStated(p) => {
                if let Some(b) = &p.budget {
                    user_row.budget = Some((b.amount_minor, b.currency.as_str().to_owned()));
                }
                if p.category.is_some() {
                    user_row.category.clone_from(&p.category);
                }
            }
            Event::PurchaseIntended(p) => {
                products
                    .entry((p.product_id.clone(), day.clone()))
                    .or_default()[3] += 1;
                product_users
                    .entry((p.product_id.clone(), day.clone(), u.clone()))
                    .or_default()[1] = true;
                user_products
                    .entry((u.clone(), p.product_id.clone()))
                    .or_default()[1] += 1;
                values
                    .entry((
                        u.clone(),
                        day.clone(),
                        p.unit_price.currency.as_str().to_owned(),
                    ))
                    .or_default()
                    .0 += p.unit_price.amount_minor * i64::from(p.quantity);
            }
            Event::OrderPlaced(o) => {
                user_row.orders += 1;
                let currency = o.total.currency.as_str().to_owned();
                values
                    .entry((u.clone(), day.clone(), currency.clone()))
                    .or_default()
                    .1 += o.total.amount_minor;
                let us = user_sales.entry((u.clone(), currency.clone())).or_default();
                us[0] += 1;
                us[1] += o.total.amount_minor;
                let sd = sales.entry((day.clone(), currency)).or_default();
                sd[0] += 1;
                sd[1] += o.total.amount_minor;
                let distinct: BTreeSet<&str> =
                    o.lines.iter().map(|l| l.product_id.as_str()).collect();
                for product in distinct {
                    for currency in o
                        .lines
                        .iter()
                        .filter(|l| l.product_id == product)
                        .map(|l| l.unit_price.currency.as_str())
                        .collect::<BTreeSet<_>>()
                    {
                        product_sales
                            .entry((product.to_owned(), day.clone(), currency.to_owned()))
                            .or_default()[0] += 1;
                    }
                }
                for line in &o.lines {
                    let ps = product_sales
                        .entry((
                            line.product_id.clone(),
                            day.clone(),
                            line.unit_price.currency.as_str().to_owned(),
                        ))
                        .or_default();
                    ps[1] += i64::from(line.quantity);
                    ps[2] += line.unit_price.amount_minor * i64::from(line.quantity);
                    user_products
                        .entry((u.clone(), line.product_id.clone()))
                        .or_default()[2] += i64::from(line.quantity);
                }
            }
            _ => {}
        }
    }

    let mut t = Tables::new();
    let ints = |xs: &[i64]| xs.iter().map(s).collect::<Vec<_>>();
    t.insert(
        "funnel_user_days",
        funnel
            .into_iter()
            .map(|((u, d), f)| {
                (
                    vec![u, d],
                    f.iter().map(|x| x.map(|v| v.to_string())).collect(),
                )
            })
            .collect(),
    );
    t.insert(
        "funnel_value_days",
        values
            .into_iter()
            .map(|((u, d, c), (i, o))| (vec![u, d, c], ints(&[i, o])))
            .collect(),
    );
    t.insert(
        "product_days",
        products
            .into_iter()
            .map(|((p, d), c)| (vec![p, d], ints(&c)))
            .collect(),
    );
    t.insert(
        "product_sales_days",
        product_sales
            .into_iter()
            .map(|((p, d, c), x)| (vec![p, d, c], ints(&x)))
            .collect(),
    );
    t.insert(
        "product_user_days",
        product_users
            .into_iter()
            .map(|((p, d, u), [v, i])| (vec![p, d, u], ints(&[i64::from(v), i64::from(i)])))
            .collect(),
    );
    t.insert(
        "users",
        users
            .into_iter()
            .map(|(u, r)| {
                let first = r.first.expect("a user row has an event");
                (
                    vec![u],
                    vec![
                        Some(r.channel),
                        r.username,
                        r.display_name,
                        s(first.timestamp_micros()),
                        s(r.last),
                        s(first.with_timezone(&tz).date_naive()),
                        s(r.messages),
                        s(r.sessions),
                        s(r.views),
                        s(r.stage),
                        r.budget.as_ref().map(|b| b.0.to_string()),
                        r.budget.map(|b| b.1),
                        r.category,
                        s(r.orders),
                        s(r.last_position),
                    ],
                )
            })
            .collect(),
    );
    t.insert(
        "user_products",
        user_products
            .into_iter()
            .map(|((u, p), x)| (vec![u, p], ints(&x)))
            .collect(),
    );
    t.insert(
        "user_sales",
        user_sales
            .into_iter()
            .map(|((u, c), x)| (vec![u, c], ints(&x)))
            .collect(),
    );
    t.insert(
        "conversation_messages",
        messages
            .into_iter()
            .map(|((u, p), m)| (vec![u, p.to_string()], m))
            .collect(),
    );
    t.insert(
        "business_days",
        business
            .into_iter()
            .map(|(d, x)| (vec![d], ints(&x)))
            .collect(),
    );
    t.insert(
        "sales_days",
        sales
            .into_iter()
            .map(|((d, c), x)| (vec![d, c], ints(&x)))
            .collect(),
    );
    carts_and_questions(&events, tz, &mut t);
    t
}

/// Thirty minutes without an event end a session (docs/metrics.md, "Carts").
pub const SESSION_TIMEOUT_US: i64 = 30 * 60 * 1_000_000;

/// A cart line as docs/metrics.md writes `lines`: `{product_id, quantity, unit_price_minor,
/// currency}`, by product id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Line {
    pub product_id: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub currency: String,
}

/// One session of one user, from its `ConversationStarted` to the next, or to its last event
/// before 30 silent minutes.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: String,
    pub start: i64,
    /// The user's latest event while the session ran.
    pub last: i64,
    /// A `CartItemAdded`, or a `CartQuantityChanged` up, in the session.
    pub carted: bool,
    /// An `OrderPlaced` in the session.
    pub ordered: bool,
    /// When the next session started, if it did.
    pub next_start: Option<i64>,
    /// The cart after the session's last event.
    pub cart: Vec<Line>,
}

/// What the log says of one user's cart: every session, and where the latest one stands.
#[derive(Debug, Default)]
pub struct CartHistory {
    pub sessions: Vec<Session>,
    /// The latest session, unless a later event came 30 minutes or more after its last one.
    pub current: Option<usize>,
    /// The user's latest event.
    pub last: i64,
    pub cart: BTreeMap<String, Line>,
}

/// Every user's sessions and cart, replayed event by event.
pub fn cart_histories(events: &[RecordedEvent]) -> BTreeMap<String, CartHistory> {
    let mut users: BTreeMap<String, CartHistory> = BTreeMap::new();
    for e in events {
        let Some(user) = e.stream_id.user_id() else {
            continue;
        };
        if let Event::UserErased(_) = e.event {
            continue;
        }
        let at = e.occurred_at.timestamp_micros();
        let h = users.entry(user.to_string()).or_default();
        let previous = h.last;
        h.last = h.last.max(at);
        if let Event::ConversationStarted(_) = e.event {
            if let Some(i) = h.current {
                h.sessions[i].next_start = Some(at);
            }
            h.sessions.push(Session {
                user: user.to_string(),
                start: at,
                last: h.last,
                carted: false,
                ordered: false,
                next_start: None,
                cart: h.cart.values().cloned().collect(),
            });
            h.current = Some(h.sessions.len() - 1);
            continue;
        }
        if h.current.is_some() && at - previous >= SESSION_TIMEOUT_US {
            h.current = None;
        }
        let mut put = false;
        match &e.event {
            Event::CartItemAdded(c) => {
                let line = h.cart.entry(c.product_id.clone()).or_insert(Line {
                    product_id: c.product_id.clone(),
                    quantity: 0,
                    unit_price_minor: 0,
                    currency: String::new(),
                });
                line.quantity += i64::from(c.quantity);
                line.unit_price_minor = c.unit_price.amount_minor;
                line.currency = c.unit_price.currency.as_str().to_owned();
                put = c.quantity > 0;
            }
            Event::CartItemRemoved(c) => {
                h.cart.remove(&c.product_id);
            }
            Event::CartQuantityChanged(c) => {
                if c.to == 0 {
                    h.cart.remove(&c.product_id);
                } else {
                    h.cart.insert(
                        c.product_id.clone(),
                        Line {
                            product_id: c.product_id.clone(),
                            quantity: i64::from(c.to),
                            unit_price_minor: c.unit_price.amount_minor,
                            currency: c.unit_price.currency.as_str().to_owned(),
                        },
                    );
                }
                put = c.to > c.from;
            }
            Event::CartCheckedOut(_) => h.cart.clear(),
            _ => {}
        }
        h.cart.retain(|_, l| l.quantity > 0);
        if let Some(i) = h.current {
            let s = &mut h.sessions[i];
            s.last = h.last;
            s.carted |= put;
            s.ordered |= matches!(e.event, Event::OrderPlaced(_));
            s.cart = h.cart.values().cloned().collect();
        }
    }
    users
}

fn lines_json(lines: &[Line]) -> String {
    serde_json::to_string(lines).expect("lines")
}

fn carts_and_questions(events: &[RecordedEvent], tz: Tz, t: &mut Tables) {
    let day = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .expect("time")
            .with_timezone(&tz)
            .date_naive()
            .to_string()
    };
    let mut cart_users = BTreeMap::new();
    let mut cart_sessions = BTreeMap::new();
    for (user, h) in cart_histories(events) {
        let current = h.current.map(|i| &h.sessions[i]);
        cart_users.insert(
            vec![user.clone()],
            vec![
                current.map(|c| c.start.to_string()),
                s(h.last),
                s(i64::from(current.is_some_and(|c| c.carted))),
                s(i64::from(current.is_some_and(|c| c.ordered))),
                s(lines_json(&h.cart.values().cloned().collect::<Vec<_>>())),
            ],
        );
        for session in h.sessions.iter().filter(|x| x.carted) {
            cart_sessions.insert(
                vec![user.clone(), session.start.to_string()],
                vec![
                    s(day(session.start)),
                    s(session.last),
                    s(i64::from(session.ordered)),
                    session.next_start.map(|n| n.to_string()),
                    s(session.cart.iter().map(|l| l.quantity).sum::<i64>()),
                    s(lines_json(&session.cart)),
                ],
            );
        }
    }
    t.insert("cart_users", cart_users);
    t.insert("cart_sessions", cart_sessions);
    let mut topics: BTreeMap<Vec<String>, i64> = BTreeMap::new();
    let mut first: BTreeMap<String, i64> = BTreeMap::new();
    for e in events {
        let (Some(user), Event::ShopQuestionAsked(q)) = (e.stream_id.user_id(), &e.event) else {
            continue;
        };
        let at = e.occurred_at.timestamp_micros();
        *topics.entry(vec![q.topic.clone(), day(at)]).or_default() += 1;
        let f = first.entry(user.to_string()).or_insert(at);
        *f = (*f).min(at);
    }
    t.insert(
        "shop_question_days",
        topics.into_iter().map(|(k, n)| (k, vec![s(n)])).collect(),
    );
    t.insert(
        "shop_question_users",
        first
            .into_iter()
            .map(|(u, at)| (vec![u], vec![s(at)]))
            .collect(),
    );
}

/// The cart figures of a period (docs/metrics.md, "Carts"), as of `now`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CartFigures {
    pub sessions_with_cart: i64,
    pub ordered: i64,
    pub abandoned: i64,
    pub emptied: i64,
    pub open: i64,
    pub abandoned_units: i64,
    /// Currency → minor units left in abandoned carts.
    pub abandoned_value: BTreeMap<String, i64>,
    /// Product → (abandoned carts holding it, units, value minor).
    pub products: BTreeMap<String, (i64, i64, i64)>,
}

pub fn cart_figures(
    events: &[RecordedEvent],
    tz: Tz,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    now_us: i64,
) -> CartFigures {
    let mut f = CartFigures::default();
    for (_, h) in cart_histories(events) {
        for session in h.sessions.iter().filter(|x| x.carted) {
            let d = chrono::DateTime::from_timestamp_micros(session.start)
                .expect("time")
                .with_timezone(&tz)
                .date_naive();
            if d < from || d > to {
                continue;
            }
            f.sessions_with_cart += 1;
            let ended = session.next_start.is_some() || now_us - session.last >= SESSION_TIMEOUT_US;
            if session.ordered {
                f.ordered += 1;
            } else if !ended {
                f.open += 1;
            } else if session.cart.is_empty() {
                f.emptied += 1;
            } else {
                f.abandoned += 1;
                for l in &session.cart {
                    f.abandoned_units += l.quantity;
                    *f.abandoned_value.entry(l.currency.clone()).or_default() +=
                        l.quantity * l.unit_price_minor;
                    let p = f.products.entry(l.product_id.clone()).or_default();
                    p.0 += 1;
                    p.1 += l.quantity;
                    p.2 += l.quantity * l.unit_price_minor;
                }
            }
        }
    }
    f
}

/// The shop question figures of a period (docs/metrics.md, "Shop questions").
#[derive(Debug, Default, PartialEq, Eq)]
pub struct QuestionFigures {
    pub per_topic: BTreeMap<String, i64>,
    /// Users with an `OrderPlaced` in the period.
    pub ordering_users: i64,
    /// Of them, those with a `ShopQuestionAsked` before their first order in the period.
    pub asked_first: i64,
}

pub fn question_figures(
    events: &[RecordedEvent],
    tz: Tz,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> QuestionFigures {
    let mut f = QuestionFigures::default();
    let mut first_question: BTreeMap<String, i64> = BTreeMap::new();
    let mut first_order: BTreeMap<String, i64> = BTreeMap::new();
    for e in events {
        let Some(user) = e.stream_id.user_id().map(|u| u.to_string()) else {
            continue;
        };
        let at = e.occurred_at.timestamp_micros();
        let d = e.occurred_at.with_timezone(&tz).date_naive();
        let in_period = d >= from && d <= to;
        match &e.event {
            Event::ShopQuestionAsked(q) => {
                let q_at = first_question.entry(user).or_insert(at);
                *q_at = (*q_at).min(at);
                if in_period {
                    *f.per_topic.entry(q.topic.clone()).or_default() += 1;
                }
            }
            Event::OrderPlaced(_) if in_period => {
                let o_at = first_order.entry(user).or_insert(at);
                *o_at = (*o_at).min(at);
            }
            _ => {}
        }
    }
    f.ordering_users = first_order.len() as i64;
    f.asked_first = first_order
        .iter()
        .filter(|(u, order)| first_question.get(*u).is_some_and(|q| q < *order))
        .count() as i64;
    f
}

/// Fails with the first differences of each table that does not match.
pub fn assert_same(expected: &Tables, actual: &Tables) {
    let mut report = String::new();
    for (table, want) in expected {
        let got = actual.get(table).cloned().unwrap_or_default();
        if &got == want {
            continue;
        }
        report.push_str(&format!(
            "\n{table}: expected {} rows, found {}",
            want.len(),
            got.len()
        ));
        let keys: BTreeSet<_> = want.keys().chain(got.keys()).collect();
        for key in keys
            .into_iter()
            .filter(|k| want.get(*k) != got.get(*k))
            .take(5)
        {
            report.push_str(&format!(
                "\n  {key:?}: expected {:?}, found {:?}",
                want.get(key),
                got.get(key)
            ));
        }
    }
    assert!(
        report.is_empty(),
        "read tables differ from the log:{report}"
    );
}

/// Row counts, to show a test did real work.
pub fn sizes(tables: &Tables) -> BTreeMap<&'static str, usize> {
    tables.iter().map(|(t, rows)| (*t, rows.len())).collect()
}

/// A row of any width whose columns are all text (or NULL), on either backend.
struct Texts(Vec<Option<String>>);

impl<'r, R> sqlx::FromRow<'r, R> for Texts
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        (0..row.len())
            .map(|i| row.try_get(i))
            .collect::<Result<_, _>>()
            .map(Texts)
    }
}
