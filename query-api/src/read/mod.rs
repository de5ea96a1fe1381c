//! The figures of docs/architecture.md's "Metric definitions", read from the read tables only
//! (docs/metrics.md says which table answers what). Shared counters are summed over `shard`.

use std::collections::BTreeMap;

use event_store::Pool;

use crate::db::{Value, row, rows};
use crate::period::Period;

mod users;

pub use users::*;

/// Funnel stages, in order.
pub const STAGES: [&str; 5] = [
    "greeting",
    "browsing",
    "consideration",
    "purchase_intent",
    "ordered",
];

/// No window: far beyond any period (µs), small enough not to overflow when added to a time.
const NO_WINDOW_US: i64 = 1 << 60;

/// Money per currency: currency → minor units.
pub type PerCurrency = BTreeMap<String, i64>;

/// The funnel over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Funnel {
    /// Users counted at each stage (reached it or a later one).
    pub counted: [i64; 5],
    /// Users not counted at a stage whose window is still open (0 without a window).
    pub open: [i64; 5],
    /// Sum of purchase intent values of the users counted at the intent stage.
    pub intent_value: PerCurrency,
    /// Sum of order totals of the users counted at the ordered stage.
    pub order_value: PerCurrency,
}

/// The funnel's user rows: per active user, the furthest stage reached (within the window).
fn funnel_users_cte() -> &'static str {
    "WITH u AS ( \
       SELECT user_id, MIN(first_message_us) AS m, MIN(first_view_us) AS v, \
              MIN(first_consider_us) AS c, MIN(first_intent_us) AS i, MIN(first_order_us) AS o \
       FROM funnel_user_days WHERE day >= $1 AND day <= $2 GROUP BY user_id \
       HAVING MIN(first_message_us) IS NOT NULL), \
     s AS ( \
       SELECT user_id, m, CASE \
         WHEN o IS NOT NULL AND o <= m + $3 THEN 4 \
         WHEN i IS NOT NULL AND i <= m + $3 THEN 3 \
         WHEN c IS NOT NULL AND c <= m + $3 THEN 2 \
         WHEN v IS NOT NULL AND v <= m + $3 THEN 1 \
         ELSE 0 END AS reached \
       FROM u) "
}

/// The funnel over `period`; with `window_days`, later stages count only within that many
/// days of the user's first message in the period. `now_us` decides which windows are open.
pub async fn funnel(
    pool: &Pool,
    period: Period,
    window_days: Option<i64>,
    now_us: i64,
) -> Result<Funnel, sqlx::Error> {
    let window = window_days.map_or(NO_WINDOW_US, |d| d * 86_400_000_000);
    let binds = [
        Value::from(period.from),
        Value::from(period.to),
        Value::from(window),
        Value::from(now_us),
    ];
    let by_stage: Vec<(i64, i64, i64)> = rows(
        pool,
        &format!(
            "{} SELECT CAST(reached AS BIGINT), COUNT(*), \
               COUNT(CASE WHEN m + $3 > $4 THEN 1 END) FROM s GROUP BY reached",
            funnel_users_cte()
        ),
        &binds,
    )
    .await?;
    let mut funnel = Funnel::default();
    for (reached, users, open) in by_stage {
        let reached = usize::try_from(reached).unwrap_or(0).min(4);
        for stage in 0..=reached {
            funnel.counted[stage] += users;
        }
        if window_days.is_some() {
            for stage in reached + 1..5 {
                funnel.open[stage] += open;
            }
        }
    }
    let values: Vec<(String, i64, i64)> = rows(
        pool,
        &format!(
            "{} SELECT f.currency, \
               CAST(SUM(CASE WHEN s.reached >= 3 THEN f.intent_value_minor ELSE 0 END) AS BIGINT), \
               CAST(SUM(CASE WHEN s.reached >= 4 THEN f.order_value_minor ELSE 0 END) AS BIGINT) \
             FROM funnel_value_days f JOIN s ON s.user_id = f.user_id \
             WHERE f.day >= $1 AND f.day <= $2 GROUP BY f.currency",
            funnel_users_cte()
        ),
        &binds[..3],
    )
    .await?;
    for (currency, intent, order) in values {
        if intent != 0 {
            funnel.intent_value.insert(currency.clone(), intent);
        }
        if order != 0 {
            funnel.order_value.insert(currency, order);
        }
    }
    Ok(funnel)
}

/// Orders and revenue per currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sales {
    pub orders: i64,
    pub orders_per_currency: PerCurrency,
    pub revenue: PerCurrency,
}

pub async fn sales(pool: &Pool, period: Period) -> Result<Sales, sqlx::Error> {
    let per_currency: Vec<(String, i64, i64)> = rows(
        pool,
        "SELECT currency, CAST(SUM(orders) AS BIGINT), CAST(SUM(revenue_minor) AS BIGINT) \
         FROM sales_days WHERE day >= $1 AND day <= $2 GROUP BY currency",
        &[Value::from(period.from), Value::from(period.to)],
    )
    .await?;
    let mut sales = Sales::default();
    for (currency, orders, revenue) in per_currency {
        sales.orders += orders;
        sales.orders_per_currency.insert(currency.clone(), orders);
        sales.revenue.insert(currency, revenue);
    }
    Ok(sales)
}

/// Users known at the end of the period, and those first seen in it.
pub async fn user_counts(pool: &Pool, period: Period) -> Result<(i64, i64), sqlx::Error> {
    row(
        pool,
        "SELECT COUNT(*), COUNT(CASE WHEN first_seen_day >= $1 THEN 1 END) FROM users \
         WHERE first_seen_day <= $2",
        &[Value::from(period.from), Value::from(period.to)],
    )
    .await
}

/// One day of the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Day {
    pub active_users: i64,
    pub new_users: i64,
    pub messages: i64,
    pub conversations: i64,
    pub orders: i64,
    pub revenue: PerCurrency,
}

/// Every day of the period, days without activity included.
pub async fn daily(
    pool: &Pool,
    period: Period,
) -> Result<Vec<(chrono::NaiveDate, Day)>, sqlx::Error> {
    let mut days: BTreeMap<chrono::NaiveDate, Day> =
        period.each_day().map(|d| (d, Day::default())).collect();
    let binds = [Value::from(period.from), Value::from(period.to)];
    let active: Vec<(chrono::NaiveDate, i64)> = rows(
        pool,
        "SELECT day, COUNT(*) FROM funnel_user_days \
         WHERE day >= $1 AND day <= $2 AND first_message_us IS NOT NULL GROUP BY day",
        &binds,
    )
    .await?;
    for (day, n) in active {
        days.entry(day).or_default().active_users = n;
    }
    let new: Vec<(chrono::NaiveDate, i64)> = rows(
        pool,
        "SELECT first_seen_day, COUNT(*) FROM users \
         WHERE first_seen_day >= $1 AND first_seen_day <= $2 GROUP BY first_seen_day",
        &binds,
    )
    .await?;
    for (day, n) in new {
        days.entry(day).or_default().new_users = n;
    }
    let business: Vec<(chrono::NaiveDate, i64, i64)> = rows(
        pool,
        "SELECT day, CAST(SUM(messages) AS BIGINT), CAST(SUM(sessions) AS BIGINT) \
         FROM business_days WHERE day >= $1 AND day <= $2 GROUP BY day",
        &binds,
    )
    .await?;
    for (day, messages, sessions) in business {
        let d = days.entry(day).or_default();
        d.messages = messages;
        d.conversations = sessions;
    }
    let sales: Vec<(chrono::NaiveDate, String, i64, i64)> = rows(
        pool,
        "SELECT day, currency, CAST(SUM(orders) AS BIGINT), CAST(SUM(revenue_minor) AS BIGINT) \
         FROM sales_days WHERE day >= $1 AND day <= $2 GROUP BY day, currency",
        &binds,
    )
    .await?;
    for (day, currency, orders, revenue) in sales {
        let d = days.entry(day).or_default();
        d.orders += orders;
        d.revenue.insert(currency, revenue);
    }
    Ok(days.into_iter().collect())
}

/// One product's figures over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Product {
    pub product_id: String,
    pub views: i64,
    pub price_inquiries: i64,
    pub spec_requests: i64,
    pub purchase_intents: i64,
    pub orders: i64,
    pub units: i64,
    pub revenue: PerCurrency,
    pub viewers: i64,
    pub intenders: i64,
}

impl Product {
    /// Interest-to-action: users with an intent / users with a view (%), none without views.
    pub fn conversion_pct(&self) -> Option<f64> {
        (self.viewers > 0).then(|| 100.0 * self.intenders as f64 / self.viewers as f64)
    }
}

/// Every product with activity in the period.
pub async fn products(pool: &Pool, period: Period) -> Result<Vec<Product>, sqlx::Error> {
    let binds = [Value::from(period.from), Value::from(period.to)];
    let mut products: BTreeMap<String, Product> = BTreeMap::new();
    let counts: Vec<(String, i64, i64, i64, i64)> = rows(
        pool,
        "SELECT product_id, CAST(SUM(views) AS BIGINT), CAST(SUM(price_inquiries) AS BIGINT), \
           CAST(SUM(spec_requests) AS BIGINT), CAST(SUM(purchase_intents) AS BIGINT) \
         FROM product_days WHERE day >= $1 AND day <= $2 GROUP BY product_id",
        &binds,
    )
    .await?;
    for (id, views, prices, specs, intents) in counts {
        let p = products.entry(id.clone()).or_default();
        p.product_id = id;
        p.views = views;
        p.price_inquiries = prices;
        p.spec_requests = specs;
        p.purchase_intents = intents;
    }
    let sales: Vec<(String, String, i64, i64, i64)> = rows(
        pool,
        "SELECT product_id, currency, CAST(SUM(orders) AS BIGINT), CAST(SUM(units) AS BIGINT), \
           CAST(SUM(revenue_minor) AS BIGINT) \
         FROM product_sales_days WHERE day >= $1 AND day <= $2 GROUP BY product_id, currency",
        &binds,
    )
    .await?;
    for (id, currency, orders, units, revenue) in sales {
        let p = products.entry(id.clone()).or_default();
        p.product_id = id;
        p.orders += orders;
        p.units += units;
        p.revenue.insert(currency, revenue);
    }
    let users: Vec<(String, i64, i64)> = rows(
        pool,
        "SELECT product_id, COUNT(DISTINCT CASE WHEN viewed > 0 THEN user_id END), \
           COUNT(DISTINCT CASE WHEN intended > 0 THEN user_id END) \
         FROM product_user_days WHERE day >= $1 AND day <= $2 GROUP BY product_id",
        &binds,
    )
    .await?;
    for (id, viewers, intenders) in users {
        let p = products.entry(id.clone()).or_default();
        p.product_id = id;
        p.viewers = viewers;
        p.intenders = intenders;
    }
    Ok(products.into_values().collect())
}

/// Thirty minutes without an event end a session (docs/metrics.md, "Carts").
pub const SESSION_TIMEOUT_US: i64 = 30 * 60 * 1_000_000;

/// The sessions with a cart that started in a period, by outcome (docs/metrics.md, "Carts").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carts {
    pub sessions: i64,
    pub ordered: i64,
    pub abandoned: i64,
    pub emptied: i64,
    pub open: i64,
    pub abandoned_units: i64,
    pub abandoned_value: PerCurrency,
    /// Product → abandoned carts holding it, units, value per currency.
    pub products: BTreeMap<String, (i64, i64, PerCurrency)>,
}

/// A cart line as `cart_sessions.lines` holds it.
#[derive(Debug, serde::Deserialize)]
struct CartLine {
    product_id: String,
    quantity: i64,
    unit_price_minor: i64,
    currency: String,
}

/// The cart figures of `period` as of `now_us`: a session with no later session whose last event
/// is less than 30 minutes old is still open.
pub async fn carts(pool: &Pool, period: Period, now_us: i64) -> Result<Carts, sqlx::Error> {
    // outcome: 0 ordered, 1 open, 2 emptied, 3 abandoned; the lines only of abandoned carts.
    let sessions: Vec<(i64, i64, Option<String>)> = rows(
        pool,
        "SELECT c.outcome, COUNT(*), CASE WHEN c.outcome = 3 THEN c.lines END FROM ( \
           SELECT CAST(CASE \
             WHEN ordered <> 0 THEN 0 \
             WHEN ended_us IS NULL AND last_activity_us + $3 > $4 THEN 1 \
             WHEN items = 0 THEN 2 \
             ELSE 3 END AS BIGINT) AS outcome, lines \
           FROM cart_sessions WHERE day >= $1 AND day <= $2) c \
         GROUP BY c.outcome, CASE WHEN c.outcome = 3 THEN c.lines END",
        &[
            Value::from(period.from),
            Value::from(period.to),
            Value::from(SESSION_TIMEOUT_US),
            Value::from(now_us),
        ],
    )
    .await?;
    let mut carts = Carts::default();
    for (outcome, n, lines) in sessions {
        carts.sessions += n;
        match outcome {
            0 => carts.ordered += n,
            1 => carts.open += n,
            2 => carts.emptied += n,
            _ => {
                carts.abandoned += n;
                let lines: Vec<CartLine> = serde_json::from_str(lines.as_deref().unwrap_or("[]"))
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
                for l in lines {
                    let value = l.quantity * l.unit_price_minor * n;
                    carts.abandoned_units += l.quantity * n;
                    *carts.abandoned_value.entry(l.currency.clone()).or_default() += value;
                    let p = carts.products.entry(l.product_id).or_default();
                    p.0 += n;
                    p.1 += l.quantity * n;
                    *p.2.entry(l.currency).or_default() += value;
                }
            }
        }
    }
    Ok(carts)
}

/// Shop questions in a period (docs/metrics.md, "Shop questions").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Questions {
    /// Topic → questions.
    pub per_topic: BTreeMap<String, i64>,
    /// Users with an order in the period.
    pub ordering_users: i64,
    /// Of them, those whose first shop question came before their first order in the period.
    pub asked_first: i64,
}

pub async fn questions(pool: &Pool, period: Period) -> Result<Questions, sqlx::Error> {
    let binds = [Value::from(period.from), Value::from(period.to)];
    let topics: Vec<(String, i64)> = rows(
        pool,
        "SELECT topic, CAST(SUM(questions) AS BIGINT) FROM shop_question_days \
         WHERE day >= $1 AND day <= $2 GROUP BY topic",
        &binds,
    )
    .await?;
    let (ordering_users, asked_first): (i64, i64) = row(
        pool,
        "WITH o AS ( \
           SELECT user_id, MIN(first_order_us) AS first_order FROM funnel_user_days \
           WHERE day >= $1 AND day <= $2 AND first_order_us IS NOT NULL GROUP BY user_id) \
         SELECT COUNT(*), COUNT(q.user_id) FROM o \
         LEFT JOIN shop_question_users q \
           ON q.user_id = o.user_id AND q.first_asked_us < o.first_order",
        &binds,
    )
    .await?;
    Ok(Questions {
        per_topic: topics.into_iter().collect(),
        ordering_users,
        asked_first,
    })
}
