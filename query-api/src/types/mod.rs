//! The admin API's response schemas, as the spec shows them.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::Object;

use crate::read::PerCurrency;

mod users;

pub use users::*;

/// The whole days a figure covers, in the report time zone.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct PeriodInfo {
    /// First day, included.
    pub from: NaiveDate,
    /// Last day, included.
    pub to: NaiveDate,
    pub days: i64,
    /// `REPORT_TIMEZONE`.
    pub timezone: String,
}

/// The point of the log historical figures stand at (`as_of`): they count the events through
/// `position` and nothing after it.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AsOfInfo {
    /// The last log position the figures include (0: before the first event).
    pub position: i64,
    /// When the event at `position` was recorded, by the clock of the writer that appended it.
    pub recorded_at: Option<DateTime<Utc>>,
    /// The head of the log when asked: the figures leave out the events after `position`.
    pub head: i64,
}

/// An amount in one currency, in integer minor units (cents).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct Money {
    /// ISO 4217 code.
    #[oai(validator(max_length = 3, min_length = 3))]
    pub currency: String,
    pub amount_minor: i64,
}

pub fn money(per_currency: &PerCurrency) -> Vec<Money> {
    per_currency
        .iter()
        .map(|(currency, amount)| Money {
            currency: currency.clone(),
            amount_minor: *amount,
        })
        .collect()
}

/// A count this period and the one before.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct CountKpi {
    pub value: i64,
    pub previous: i64,
    /// Change against the previous period in %, left out when that was 0.
    pub change_pct: Option<f64>,
}

/// A ratio (0–1) this period and the one before.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct RateKpi {
    pub value: f64,
    pub previous: f64,
    pub change_pct: Option<f64>,
}

/// An amount in one currency this period and the one before.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct MoneyKpi {
    pub currency: String,
    pub value_minor: i64,
    pub previous_minor: i64,
    pub change_pct: Option<f64>,
}

pub fn change_pct(value: f64, previous: f64) -> Option<f64> {
    (previous != 0.0).then(|| round2(100.0 * (value - previous) / previous))
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One stage of the funnel.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct FunnelStage {
    /// `greeting`, `browsing`, `consideration`, `purchase_intent` or `ordered`.
    pub stage: String,
    /// Active users who reached this stage or a later one.
    pub users: i64,
    /// % of the greeting stage.
    pub of_greeting_pct: Option<f64>,
    /// 1 − this stage / the previous one, in %; absent for greeting.
    pub drop_off_pct: Option<f64>,
    /// With `window_days`: users not at this stage whose window is still open (not counted as
    /// dropped off yet).
    pub open: Option<i64>,
    /// Intent stage: sum of purchase intent values; ordered stage: sum of order totals.
    pub value: Vec<Money>,
}

/// The funnel over a period.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FunnelReport {
    pub period: PeriodInfo,
    pub window_days: Option<i64>,
    pub stages: Vec<FunnelStage>,
    /// With `as_of`: the figures are historical, as they stood at this point of the log.
    pub as_of: Option<AsOfInfo>,
}

/// Conversion and sales figures of a period.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Conversion {
    /// Users with a message in the period.
    pub active_users: i64,
    /// Active users with an order in the period.
    pub ordered_users: i64,
    /// ordered_users / active_users (0–1).
    pub conversion_rate: f64,
    pub orders: i64,
    pub revenue: Vec<Money>,
    /// Revenue / orders, per currency.
    pub average_order_value: Vec<Money>,
}

/// Conversion this period and the one before.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ConversionReport {
    pub period: PeriodInfo,
    pub current: Conversion,
    pub previous_period: PeriodInfo,
    pub previous: Conversion,
    /// With `as_of`: the figures are historical, as they stood at this point of the log.
    pub as_of: Option<AsOfInfo>,
}

/// One product over a period.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct ProductFigures {
    pub product_id: String,
    /// From the catalog, when it lists the product.
    pub name: Option<String>,
    pub views: i64,
    pub price_inquiries: i64,
    pub spec_requests: i64,
    pub purchase_intents: i64,
    /// Orders containing the product.
    pub orders: i64,
    pub units: i64,
    pub revenue: Vec<Money>,
    /// Distinct users who viewed it.
    pub viewers: i64,
    /// Distinct users with a purchase intent for it.
    pub intenders: i64,
    /// Interest-to-action: intenders / viewers in %, absent without viewers.
    pub conversion_pct: Option<f64>,
}

/// A page of products.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ProductPage {
    pub period: PeriodInfo,
    /// Products matching the search.
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub sort: String,
    pub order: String,
    pub items: Vec<ProductFigures>,
    /// With `as_of`: the figures are historical, as they stood at this point of the log.
    pub as_of: Option<AsOfInfo>,
}

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct DayFigures {
    pub day: NaiveDate,
    pub active_users: i64,
    pub new_users: i64,
    pub messages: i64,
    pub conversations: i64,
    pub orders: i64,
    pub revenue: Vec<Money>,
}

/// The dashboard's headline figures, with the previous period for comparison.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct Kpis {
    /// Users known by the end of the period.
    pub users: CountKpi,
    /// Users first seen in the period.
    pub new_users: CountKpi,
    pub active_users: CountKpi,
    pub conversion_rate: RateKpi,
    pub orders: CountKpi,
    pub revenue: Vec<MoneyKpi>,
    pub average_order_value: Vec<MoneyKpi>,
}

/// How far the read tables are behind the log.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct LagSummary {
    /// The log's head position.
    pub head: i64,
    /// Every projection has applied the log up to here.
    pub applied: i64,
    /// Most events any projection partition is behind.
    pub lag_events: i64,
    /// Longest time any partition has been behind, in seconds.
    pub lag_seconds: f64,
    /// Partitions whose worker stopped reporting.
    pub stalled_partitions: i64,
}

impl LagSummary {
    /// From the event store's progress: `applied` is the lowest position every partition has
    /// caught up to.
    pub fn of(progress: &event_store::progress::Progress) -> LagSummary {
        let (lag_events, lag_seconds) = progress.max_lag();
        LagSummary {
            head: progress.head,
            applied: progress
                .partitions
                .iter()
                .map(|p| p.caught_up_to)
                .min()
                .unwrap_or(progress.head),
            lag_events,
            lag_seconds: round2(lag_seconds),
            stalled_partitions: progress.stalled().count() as i64,
        }
    }
}

/// Everything the dashboard shows for a period, in one response.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Dashboard {
    pub period: PeriodInfo,
    pub previous_period: PeriodInfo,
    pub kpis: Kpis,
    pub funnel: Vec<FunnelStage>,
    pub daily: Vec<DayFigures>,
    /// The ten most viewed products.
    pub top_products: Vec<ProductFigures>,
    /// Sessions with a cart that started in the period, and what became of them.
    pub carts: CartFigures,
    pub shop_questions: ShopQuestionFigures,
    pub lag: LagSummary,
    pub generated_at: DateTime<Utc>,
    /// With `as_of`: the figures are historical, as they stood at this point of the log.
    pub as_of: Option<AsOfInfo>,
}

/// A page of the event log.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct EventsPage {
    pub after: i64,
    pub limit: i64,
    /// The log's head position when read.
    pub head: i64,
    /// Pass as `after` for the next page (the last position here, or `after` when empty).
    pub next_after: i64,
    /// Events in position order: envelope and payload, personal fields opened (null once
    /// erased).
    pub events: Vec<serde_json::Value>,
}

/// The state of one part.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct PartHealth {
    pub ok: bool,
    pub message: String,
}

/// One projection partition.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct ProjectionHealth {
    pub projection: String,
    pub partition: u32,
    pub checkpoint: i64,
    pub lag_events: i64,
    pub lag_seconds: f64,
    pub worker: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    /// Its worker stopped reporting: behind for an unknown time.
    pub stalled: bool,
    /// What its worker reports wrong: `stream_gap` (the stream lacked events the store holds;
    /// they are applied from the store) or `interrupted` (the worker cannot follow the stream
    /// and retries). Absent when all is well.
    pub fault: Option<String>,
    /// Events of the partition parked because they cannot be decoded
    /// (`GET /admin/parked-events`); the partition is degraded while any are.
    pub parked: i64,
}

/// An event the projector parked: it could not be decoded (a newer release wrote it, its key
/// row is missing, it is damaged), or it waits behind one of its stream that could not. It is
/// applied, in order, once it decodes.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ParkedEvent {
    pub global_position: i64,
    pub partition: u32,
    pub stream_id: String,
    pub event_type: String,
    /// The projections that had not applied it when it was parked.
    pub projections: Vec<String>,
    pub reason: String,
    pub parked_at: DateTime<Utc>,
}

/// `/admin/parked-events`.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ParkedEvents {
    /// How many events are parked in all.
    pub total: i64,
    /// The first (at most 1000) in position order.
    pub events: Vec<ParkedEvent>,
}

/// `/admin/health`.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Health {
    /// `ok`, or `degraded` (then the status is 503).
    pub status: String,
    pub database: PartHealth,
    /// Absent in embedded mode (no NATS).
    pub nats: Option<PartHealth>,
    /// The outbox relay (inside command-service): not ok while an event has waited
    /// unpublished for longer than the stall threshold. Absent in embedded mode.
    pub relay: Option<PartHealth>,
    pub head: i64,
    pub projections: Vec<ProjectionHealth>,
}

/// The sessions that started in a period in which the shopper put something in the cart (a
/// `CartItemAdded`, or a `CartQuantityChanged` up), by what became of them. Every such session
/// is in exactly one of `ordered`, `abandoned`, `emptied` and `open` (docs/metrics.md, "Carts").
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct CartFigures {
    pub sessions_with_cart: i64,
    /// An order was placed in the session.
    pub ordered: i64,
    /// The session ended (the user's next session started, or 30 minutes passed without an
    /// event) with items in the cart and no order.
    pub abandoned: i64,
    /// The session ended with the cart empty and no order: everything removed, or checked out
    /// to an invoice not paid within the session.
    pub emptied: i64,
    /// Still under way (an event less than 30 minutes ago, no later session): not counted as
    /// abandoned yet.
    pub open: i64,
    /// abandoned / (sessions_with_cart − open), 0–1; 0 when nothing has ended.
    pub abandonment_rate: f64,
    /// Units left in abandoned carts.
    pub abandoned_units: i64,
    /// Value left in abandoned carts: quantity × the unit price of the line's last add or
    /// change, per currency.
    pub abandoned_value: Vec<Money>,
}

/// One product in the abandoned carts of a period.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
#[oai(example)]
pub struct AbandonedProduct {
    pub product_id: String,
    /// From the catalog, when it lists the product.
    pub name: Option<String>,
    /// Abandoned carts that held it.
    pub carts: i64,
    pub units: i64,
    pub value: Vec<Money>,
}

/// Carts over a period.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct CartReport {
    pub period: PeriodInfo,
    pub carts: CartFigures,
    /// The products left in abandoned carts, most carts first (then by id).
    pub abandoned_products: Vec<AbandonedProduct>,
}

/// Shop questions asked about one topic.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct TopicCount {
    /// A policy topic (`shipping`, `delivery`, `returns`, `warranty`, `payment`, `contact`,
    /// `hours`) or the id of one of the shop's FAQ entries.
    pub topic: String,
    pub questions: i64,
}

/// Shop questions over a period (docs/metrics.md, "Shop questions").
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct ShopQuestionFigures {
    /// `ShopQuestionAsked` events in the period.
    pub questions: i64,
    /// Per topic, most asked first (then by topic).
    pub topics: Vec<TopicCount>,
    /// Users who placed an order in the period.
    pub ordering_users: i64,
    /// Of them, those who had asked a shop question (at any time) before their first order in
    /// the period.
    pub asked_before_ordering: i64,
    /// asked_before_ordering / ordering_users, 0–1; 0 without orders.
    pub asked_before_ordering_share: f64,
}

/// Shop questions over a period.
#[derive(Debug, Clone, PartialEq, Object)]
pub struct ShopQuestionReport {
    pub period: PeriodInfo,
    pub shop_questions: ShopQuestionFigures,
}
