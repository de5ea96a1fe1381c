//! Responses put together from the read queries.

use chrono::{DateTime, Utc};
use event_store::Pool;

use crate::convert::{engagement, micros_to_time, stage_name};
use crate::error::ApiError;
use crate::period::period_info;
use crate::period::{Period, clip};
use crate::read::{self, PerCurrency, STAGES, UserSort};
use crate::state::State;
use crate::types::*;

/// Conversion of a period from the tables in `pool`, as of `now`.
pub async fn conversion(
    pool: &Pool,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Conversion, ApiError> {
    let funnel = read::funnel(pool, period, None, now.timestamp_micros()).await?;
    let sales = read::sales(pool, period).await?;
    Ok(conversion_of(&funnel, &sales))
}

/// Conversion from a period's funnel (without window: its greeting stage is the active users,
/// its ordered stage those who ordered) and sales.
fn conversion_of(funnel: &read::Funnel, sales: &read::Sales) -> Conversion {
    let (active, ordered) = (funnel.counted[0], funnel.counted[4]);
    Conversion {
        active_users: active,
        ordered_users: ordered,
        conversion_rate: ratio(ordered, active),
        orders: sales.orders,
        revenue: money(&sales.revenue),
        average_order_value: money(&aov(&sales.revenue, &sales.orders_per_currency)),
    }
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 10_000.0).round() / 10_000.0
    }
}

/// Revenue / orders per currency, rounded to the nearest minor unit.
fn aov(revenue: &PerCurrency, orders: &PerCurrency) -> PerCurrency {
    revenue
        .iter()
        .filter_map(|(currency, amount)| {
            let n = *orders.get(currency)?;
            (n > 0).then(|| (currency.clone(), (*amount as f64 / n as f64).round() as i64))
        })
        .collect()
}

pub async fn funnel(
    pool: &Pool,
    period: Period,
    window_days: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<FunnelStage>, ApiError> {
    let f = read::funnel(pool, period, window_days, now.timestamp_micros()).await?;
    Ok(stages(&f, window_days.is_some()))
}

/// The stages of a funnel as the API shows them (`open` only with a window).
fn stages(f: &read::Funnel, windowed: bool) -> Vec<FunnelStage> {
    let greeting = f.counted[0];
    STAGES
        .iter()
        .enumerate()
        .map(|(i, stage)| FunnelStage {
            stage: (*stage).to_owned(),
            users: f.counted[i],
            of_greeting_pct: (greeting > 0)
                .then(|| round2(100.0 * f.counted[i] as f64 / greeting as f64)),
            drop_off_pct: (i > 0 && f.counted[i - 1] > 0)
                .then(|| round2(100.0 * (1.0 - f.counted[i] as f64 / f.counted[i - 1] as f64))),
            open: windowed.then_some(f.open[i]),
            value: match i {
                3 => money(&f.intent_value),
                4 => money(&f.order_value),
                _ => Vec::new(),
            },
        })
        .collect()
}

/// Every product with activity in the period (in the tables of `pool`) whose id or name
/// contains `search`.
pub async fn products(
    state: &State,
    pool: &Pool,
    period: Period,
    search: Option<&str>,
) -> Result<Vec<ProductFigures>, ApiError> {
    let needle = search.map(str::to_lowercase);
    Ok(read::products(pool, period)
        .await?
        .into_iter()
        .map(|p| {
            let name = state.product_names.get(&p.product_id).cloned();
            ProductFigures {
                conversion_pct: p.conversion_pct().map(round2),
                product_id: p.product_id,
                name,
                views: p.views,
                price_inquiries: p.price_inquiries,
                spec_requests: p.spec_requests,
                purchase_intents: p.purchase_intents,
                orders: p.orders,
                units: p.units,
                revenue: money(&p.revenue),
                viewers: p.viewers,
                intenders: p.intenders,
            }
        })
        .filter(|p| match &needle {
            None => true,
            Some(n) => {
                p.product_id.to_lowercase().contains(n)
                    || p.name
                        .as_ref()
                        .is_some_and(|name| name.to_lowercase().contains(n))
            }
        })
        .collect())
}

pub const PRODUCT_SORTS: &[&str] = &[
    "views",
    "price_inquiries",
    "spec_requests",
    "purchase_intents",
    "orders",
    "units",
    "revenue",
    "conversion",
    "product_id",
];

/// Sorts products by `sort`, then by id (stable pages). Revenue compares the total in minor
/// units of the currency with the most revenue over all of them, then the rest.
pub fn sort_products(
    items: &mut [ProductFigures],
    sort: &str,
    descending: bool,
) -> Result<(), ApiError> {
    if !PRODUCT_SORTS.contains(&sort) {
        return Err(ApiError::bad_request(format!(
            "`sort` must be one of {} (got `{}`)",
            PRODUCT_SORTS.join(", "),
            clip(sort)
        )));
    }
    let mut totals: PerCurrency = PerCurrency::new();
    for p in items.iter() {
        for m in &p.revenue {
            *totals.entry(m.currency.clone()).or_default() += m.amount_minor;
        }
    }
    let main = totals
        .iter()
        .max_by_key(|(_, v)| **v)
        .map(|(c, _)| c.clone());
    let revenue_in = |p: &ProductFigures| -> i64 {
        p.revenue
            .iter()
            .find(|m| Some(&m.currency) == main.as_ref())
            .map_or(0, |m| m.amount_minor)
    };
    items.sort_by(|a, b| {
        let by = match sort {
            "views" => a.views.cmp(&b.views),
            "price_inquiries" => a.price_inquiries.cmp(&b.price_inquiries),
            "spec_requests" => a.spec_requests.cmp(&b.spec_requests),
            "purchase_intents" => a.purchase_intents.cmp(&b.purchase_intents),
            "orders" => a.orders.cmp(&b.orders),
            "units" => a.units.cmp(&b.units),
            "revenue" => revenue_in(a).cmp(&revenue_in(b)),
            "conversion" => a
                .conversion_pct
                .unwrap_or(-1.0)
                .total_cmp(&b.conversion_pct.unwrap_or(-1.0)),
            _ => std::cmp::Ordering::Equal,
        };
        let by = if descending { by.reverse() } else { by };
        by.then_with(|| a.product_id.cmp(&b.product_id))
    });
    Ok(())
}

fn summary(row: &read::UserRow, revenue: &PerCurrency, now: chrono::DateTime<Utc>) -> UserSummary {
    UserSummary {
        user_id: row.user_id.clone(),
        channel: row.channel.clone(),
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        first_seen: micros_to_time(row.first_seen_us),
        last_seen: micros_to_time(row.last_seen_us),
        messages: row.messages,
        sessions: row.sessions,
        product_views: row.product_views,
        stage: stage_name(row.stage),
        orders: row.orders,
        revenue: money(revenue),
        engagement_score: engagement(row, now),
    }
}

/// A user's names as the projector sealed them, opened with their live key; `None` for a user
/// erased since (their key is gone) or a value that is not theirs (docs/architecture.md,
/// invariant 8).
fn open_names(keys: &event_store::ReadKeys, row: &mut read::UserRow) {
    let user_id = row.user_id.as_str();
    row.username = row
        .username
        .take()
        .and_then(|sealed| keys.open("users", "username", user_id, &sealed));
    row.display_name = row
        .display_name
        .take()
        .and_then(|sealed| keys.open("users", "display_name", user_id, &sealed));
}

pub async fn users(
    state: &State,
    search: Option<&str>,
    sort: UserSort,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<UserSummary>), ApiError> {
    let pool = state.store.pool();
    let names = state.store.name_index();
    let (total, mut rows) =
        read::users_page(pool, search, &names, sort, descending, offset, limit).await?;
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let keys = state
        .store
        .read_keys(&ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await?;
    for row in &mut rows {
        open_names(&keys, row);
    }
    let sales = read::user_sales(pool, &ids).await?;
    let now = Utc::now();
    let empty = PerCurrency::new();
    Ok((
        total,
        rows.iter()
            .map(|r| summary(r, sales.get(&r.user_id).map_or(&empty, |s| &s.1), now))
            .collect(),
    ))
}

pub async fn user_profile(
    state: &State,
    user_id: &str,
    before: Option<i64>,
) -> Result<Option<UserProfile>, ApiError> {
    let pool = state.store.pool();
    let Some(mut row) = read::user(pool, user_id).await? else {
        return Ok(None);
    };
    let keys = state.store.read_keys(&[user_id]).await?;
    open_names(&keys, &mut row);
    if read::erased(pool, user_id).await? {
        return Ok(None);
    }
    let sales = read::user_sales(pool, std::slice::from_ref(&row.user_id)).await?;
    let revenue = sales
        .get(&row.user_id)
        .map(|s| s.1.clone())
        .unwrap_or_default();
    let now = Utc::now();
    let products = read::user_products(pool, user_id).await?;
    let (total, messages) =
        read::user_messages(pool, user_id, before.unwrap_or(i64::MAX), TIMELINE).await?;
    let next_before = (messages.len() as i64 == TIMELINE)
        .then(|| messages.last().map(|m| m.global_position))
        .flatten();
    let user = summary(&row, &revenue, now);
    Ok(Some(UserProfile {
        engagement: Engagement {
            score: user.engagement_score,
            last_seen: user.last_seen,
            sessions: row.sessions,
            stage: user.stage.clone(),
            products_viewed: row.products_viewed,
            orders: row.orders,
        },
        preferences: Preferences {
            budget: match (row.budget_minor, &row.budget_currency) {
                (Some(amount), Some(currency)) => Some(Money {
                    currency: currency.clone(),
                    amount_minor: amount,
                }),
                _ => None,
            },
            category: row.category.clone(),
            favourite_products: products
                .into_iter()
                .map(|(product_id, views, intents, units)| UserProduct {
                    name: state.product_names.get(&product_id).cloned(),
                    product_id,
                    views,
                    intents,
                    units,
                })
                .collect(),
        },
        conversation: Timeline {
            total,
            messages: messages
                .into_iter()
                .map(|m| TimelineMessage {
                    position: m.global_position,
                    at: micros_to_time(m.occurred_us),
                    direction: m.direction,
                    text: m.text.and_then(|sealed| {
                        keys.open("conversation_messages", "text", user_id, &sealed)
                    }),
                    intent: m.intent,
                    sentiment: m.sentiment,
                    product_id: m.product_id,
                })
                .collect(),
            next_before,
        },
        user,
    }))
}

/// Messages per timeline page.
const TIMELINE: i64 = 100;

/// The dashboard of a period from the tables in `pool` (the live ones, or a past model's), as of
/// `now`; the lag is always the live projections'.
pub async fn dashboard(
    state: &State,
    pool: &Pool,
    period: Period,
    now: DateTime<Utc>,
) -> Result<Dashboard, ApiError> {
    let previous = period.previous();
    // The period's funnel serves both its conversion figures and the funnel chart.
    let now_funnel = read::funnel(pool, period, None, now.timestamp_micros()).await?;
    let now_c = conversion_of(&now_funnel, &read::sales(pool, period).await?);
    let prev_c = conversion(pool, previous, now).await?;
    let (users, new_users) = read::user_counts(pool, period).await?;
    let (prev_users, prev_new) = read::user_counts(pool, previous).await?;
    let count = |value: i64, previous: i64| CountKpi {
        value,
        previous,
        change_pct: change_pct(value as f64, previous as f64),
    };
    let money_kpis = |now: &[Money], before: &[Money]| -> Vec<MoneyKpi> {
        let mut currencies: Vec<&String> = now.iter().chain(before).map(|m| &m.currency).collect();
        currencies.sort();
        currencies.dedup();
        let amount = |list: &[Money], c: &String| {
            list.iter()
                .find(|m| &m.currency == c)
                .map_or(0, |m| m.amount_minor)
        };
        currencies
            .into_iter()
            .map(|c| {
                let (v, p) = (amount(now, c), amount(before, c));
                MoneyKpi {
                    currency: c.clone(),
                    value_minor: v,
                    previous_minor: p,
                    change_pct: change_pct(v as f64, p as f64),
                }
            })
            .collect()
    };
    let kpis = Kpis {
        users: count(users, prev_users),
        new_users: count(new_users, prev_new),
        active_users: count(now_c.active_users, prev_c.active_users),
        conversion_rate: RateKpi {
            value: now_c.conversion_rate,
            previous: prev_c.conversion_rate,
            change_pct: change_pct(now_c.conversion_rate, prev_c.conversion_rate),
        },
        orders: count(now_c.orders, prev_c.orders),
        revenue: money_kpis(&now_c.revenue, &prev_c.revenue),
        average_order_value: money_kpis(&now_c.average_order_value, &prev_c.average_order_value),
    };
    let daily = read::daily(pool, period)
        .await?
        .into_iter()
        .map(|(day, d)| DayFigures {
            day,
            active_users: d.active_users,
            new_users: d.new_users,
            messages: d.messages,
            conversations: d.conversations,
            orders: d.orders,
            revenue: money(&d.revenue),
        })
        .collect();
    let mut top = products(state, pool, period, None).await?;
    sort_products(&mut top, "views", true)?;
    top.truncate(10);
    let now_us = now.timestamp_micros();
    let carts = cart_figures(&read::carts(pool, period, now_us).await?);
    let shop_questions = question_figures(&read::questions(pool, period).await?);
    let progress = state
        .store
        .progress(event_store::progress::STALE_AFTER)
        .await?;
    Ok(Dashboard {
        period: period_info(period, state.tz),
        previous_period: period_info(previous, state.tz),
        kpis,
        funnel: stages(&now_funnel, false),
        daily,
        top_products: top,
        carts,
        shop_questions,
        lag: LagSummary::of(&progress),
        generated_at: Utc::now(),
        as_of: None,
    })
}

fn cart_figures(c: &read::Carts) -> CartFigures {
    CartFigures {
        sessions_with_cart: c.sessions,
        ordered: c.ordered,
        abandoned: c.abandoned,
        emptied: c.emptied,
        open: c.open,
        abandonment_rate: ratio(c.abandoned, c.sessions - c.open),
        abandoned_units: c.abandoned_units,
        abandoned_value: money(&c.abandoned_value),
    }
}

/// Carts of a period as of now, with the products left in abandoned ones.
pub async fn carts(state: &State, period: Period) -> Result<CartReport, ApiError> {
    let c = read::carts(state.store.pool(), period, Utc::now().timestamp_micros()).await?;
    let mut products: Vec<AbandonedProduct> = c
        .products
        .iter()
        .map(|(id, (carts, units, value))| AbandonedProduct {
            product_id: id.clone(),
            name: state.product_names.get(id).cloned(),
            carts: *carts,
            units: *units,
            value: money(value),
        })
        .collect();
    products.sort_by(|a, b| {
        b.carts
            .cmp(&a.carts)
            .then_with(|| a.product_id.cmp(&b.product_id))
    });
    Ok(CartReport {
        period: period_info(period, state.tz),
        carts: cart_figures(&c),
        abandoned_products: products,
    })
}

fn question_figures(q: &read::Questions) -> ShopQuestionFigures {
    let mut topics: Vec<TopicCount> = q
        .per_topic
        .iter()
        .map(|(topic, n)| TopicCount {
            topic: topic.clone(),
            questions: *n,
        })
        .collect();
    topics.sort_by(|a, b| {
        b.questions
            .cmp(&a.questions)
            .then_with(|| a.topic.cmp(&b.topic))
    });
    ShopQuestionFigures {
        questions: q.per_topic.values().sum(),
        topics,
        ordering_users: q.ordering_users,
        asked_before_ordering: q.asked_first,
        asked_before_ordering_share: ratio(q.asked_first, q.ordering_users),
    }
}

pub async fn shop_questions(state: &State, period: Period) -> Result<ShopQuestionReport, ApiError> {
    let q = read::questions(state.store.pool(), period).await?;
    Ok(ShopQuestionReport {
        period: period_info(period, state.tz),
        shop_questions: question_figures(&q),
    })
}
