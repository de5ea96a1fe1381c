//! The admin routes (`/admin/...`), described by poem-openapi: every operation has a stable
//! `operation_id` and a tag, every parameter and response a schema.

use std::time::Duration;

use chrono::Utc;
use futures::StreamExt as _;
use poem::Body;
use poem::Request;
use poem_openapi::auth::ApiKey;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, EventStream, Json};
use poem_openapi::types::ToJSON as _;
use poem_openapi::{ApiResponse, OpenApi, SecurityScheme, Tags};

use crate::error::{ApiError, ErrorResponse, UserErrorResponse};
use crate::params::{self, Text, descending, order_name, paging, search_text, text};
use crate::period::{Period, clip, period_info};
use crate::read::UserSort;
use crate::state::{KeyDigest, State};
use crate::types::*;

/// A worker silent for this long is stalled.
use event_store::progress::STALE_AFTER;
/// Events per `/admin/analytics/events` page.
const DEFAULT_EVENTS: i64 = 100;
const MAX_EVENTS: i64 = 1_000;

/// `X-API-Key: $ADMIN_API_KEY`.
#[derive(Debug, SecurityScheme)]
#[oai(
    rename = "AdminKey",
    ty = "api_key",
    key_name = "X-API-Key",
    key_in = "header",
    checker = "check_key"
)]
pub struct AdminKey(());

async fn check_key(req: &Request, key: ApiKey) -> Option<()> {
    let expected = req.data::<KeyDigest>()?;
    expected.matches(&key.key).then_some(())
}

#[derive(Debug, Tags)]
enum Tag {
    /// Liveness of the parts and projection lag.
    Health,
    /// Figures for a period: dashboard, funnel, conversion, products.
    Analytics,
    /// Shoppers: list, profile, erasure.
    Users,
    /// The event log itself.
    Events,
}

/// The admin API.
#[derive(Debug)]
pub struct AdminApi {
    pub state: State,
}

#[derive(Debug, ApiResponse)]
enum HealthResponse {
    /// Every part is up and every projection partition reports.
    #[oai(status = 200)]
    Ok(Json<Health>),
    /// A part is down or a projection partition is stalled.
    #[oai(status = 503)]
    Degraded(Json<Health>),
}

#[derive(Debug, ApiResponse)]
enum ExportResponse {
    /// One event per line (`application/x-ndjson`), in position order.
    #[oai(status = 200, content_type = "application/x-ndjson")]
    Ok(Binary<Body>),
}

type Answer<T> = Result<Json<T>, ErrorResponse>;
/// `/admin/live`'s stream; the spec describes its events in `spec.rs`.
type LiveStream =
    EventStream<std::pin::Pin<Box<dyn futures::Stream<Item = crate::live::LiveUpdate> + Send>>>;
/// The routes of one user, which may not find them.
type UserAnswer<T> = Result<Json<T>, UserErrorResponse>;

#[OpenApi]
impl AdminApi {
    /// Health of every part
    ///
    /// The database, NATS (distributed mode) and each projection partition's checkpoint, lag
    /// and heartbeat. 503 when a part is down or a partition is stalled. Needs no key.
    #[oai(
        path = "/admin/health",
        method = "get",
        operation_id = "getHealth",
        tag = "Tag::Health"
    )]
    async fn health(&self) -> HealthResponse {
        let health = crate::health::check(&self.state, STALE_AFTER).await;
        if health.status == "ok" {
            HealthResponse::Ok(Json(health))
        } else {
            HealthResponse::Degraded(Json(health))
        }
    }

    /// Everything the dashboard shows
    ///
    /// KPIs with their change against the previous period of the same length, the funnel, one
    /// row per day, the ten most viewed products, carts (abandoned and the value left in them),
    /// shop questions per topic and the projection lag.
    #[oai(
        path = "/admin/dashboard",
        method = "get",
        operation_id = "getDashboard",
        tag = "Tag::Analytics"
    )]
    async fn dashboard(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<Dashboard> {
        let period = self.period(&days, &from, &to)?;
        let dashboard = self
            .state
            .dashboards
            .get_or(
                self.state.store.pool(),
                period,
                crate::figures::dashboard(&self.state, period),
            )
            .await?;
        Ok(Json(dashboard))
    }

    /// Conversion and sales
    ///
    /// Active users, users who ordered, conversion rate, orders, revenue and average order
    /// value per currency, for the period and the one before.
    #[oai(
        path = "/admin/analytics/conversion",
        method = "get",
        operation_id = "getConversion",
        tag = "Tag::Analytics"
    )]
    async fn conversion(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<ConversionReport> {
        let period = self.period(&days, &from, &to)?;
        let previous = period.previous();
        let pool = self.state.store.pool();
        Ok(Json(ConversionReport {
            period: self.period_info(period),
            current: crate::figures::conversion(pool, period).await?,
            previous_period: self.period_info(previous),
            previous: crate::figures::conversion(pool, previous).await?,
        }))
    }

    /// The conversion funnel
    ///
    /// Greeting → browsing → consideration → purchase intent → ordered, over the users active
    /// in the period: users per stage (reached it or a later one), drop-off and value per stage.
    #[oai(
        path = "/admin/analytics/funnel",
        method = "get",
        operation_id = "getFunnel",
        tag = "Tag::Analytics"
    )]
    async fn funnel(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// Count a later stage only within this many days of the user's first message in the
        /// period; users whose window is still open are reported as `open`.
        #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
        window_days: Query<Option<i64>>,
    ) -> Answer<FunnelReport> {
        let period = self.period(&days, &from, &to)?;
        let stages = self
            .state
            .funnels
            .get_or(
                self.state.store.pool(),
                (period, window_days.0),
                crate::figures::funnel(self.state.store.pool(), period, window_days.0),
            )
            .await?;
        Ok(Json(FunnelReport {
            period: self.period_info(period),
            window_days: window_days.0,
            stages,
        }))
    }

    /// Product performance
    ///
    /// Per product: views, price inquiries, spec requests, purchase intents, orders, units,
    /// revenue and interest-to-action %. Sortable, searchable, paged.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/admin/analytics/products",
        method = "get",
        operation_id = "getProducts",
        tag = "Tag::Analytics"
    )]
    async fn products(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// `views` (default), `price_inquiries`, `spec_requests`, `purchase_intents`,
        /// `orders`, `units`, `revenue`, `conversion` or `product_id`.
        sort: Query<Option<Text<params::ProductSort>>>,
        /// `desc` (default) or `asc`.
        order: Query<Option<Text<params::Order>>>,
        /// Case-insensitive part of the product id or name (at most 200 characters).
        #[oai(validator(max_length = 200))]
        search: Query<Option<String>>,
        /// 1-based page (default 1).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
        page: Query<Option<i64>>,
        /// Products per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        page_size: Query<Option<i64>>,
    ) -> Answer<ProductPage> {
        let period = self.period(&days, &from, &to)?;
        let sort = text(&sort).unwrap_or("views").to_owned();
        let descending = descending(text(&order))?;
        let search = search_text(search.0.as_deref())?;
        let (page, page_size) = paging(page.0, page_size.0)?;
        let mut items = crate::figures::products(&self.state, period, search.as_deref()).await?;
        crate::figures::sort_products(&mut items, &sort, descending)?;
        let total = items.len() as i64;
        let items = items
            .into_iter()
            .skip(usize::try_from((page - 1) * page_size).unwrap_or(usize::MAX))
            .take(usize::try_from(page_size).unwrap_or(0))
            .collect();
        Ok(Json(ProductPage {
            period: self.period_info(period),
            total,
            page,
            page_size,
            sort,
            order: order_name(descending),
            items,
        }))
    }

    /// Carts and abandoned carts
    ///
    /// The sessions that started in the period in which the shopper put something in the
    /// cart, by outcome (ordered, abandoned, emptied, still open), the units and value left in
    /// abandoned carts, and the products in them. A session ends at the user's next session or
    /// after 30 minutes without an event; one still under way is `open`, never abandoned.
    #[oai(
        path = "/admin/analytics/carts",
        method = "get",
        operation_id = "getCarts",
        tag = "Tag::Analytics"
    )]
    async fn carts(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<CartReport> {
        let period = self.period(&days, &from, &to)?;
        Ok(Json(crate::figures::carts(&self.state, period).await?))
    }

    /// Shop questions
    ///
    /// Questions about the shop (shipping, returns, payment, … or a FAQ entry) per topic in
    /// the period, and the share of the shoppers who ordered in it who had asked one before
    /// their first order.
    #[oai(
        path = "/admin/analytics/shop-questions",
        method = "get",
        operation_id = "getShopQuestions",
        tag = "Tag::Analytics"
    )]
    async fn shop_questions(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<ShopQuestionReport> {
        let period = self.period(&days, &from, &to)?;
        Ok(Json(
            crate::figures::shop_questions(&self.state, period).await?,
        ))
    }

    /// Users, paged
    ///
    /// Every user the read tables know, with their counters, stage, revenue and engagement
    /// score. Search in id, username and display name; sort; stable order (then by id).
    #[oai(
        path = "/admin/users",
        method = "get",
        operation_id = "listUsers",
        tag = "Tag::Users"
    )]
    async fn users(
        &self,
        _key: AdminKey,
        /// Case-insensitive part of the user id, username or display name (at most 200
        /// characters).
        #[oai(validator(max_length = 200))]
        search: Query<Option<String>>,
        /// `last_seen` (default), `first_seen`, `messages`, `sessions`, `orders`, `stage` or
        /// `user_id`.
        sort: Query<Option<Text<params::UserSort>>>,
        /// `desc` (default) or `asc`.
        order: Query<Option<Text<params::Order>>>,
        /// 1-based page (default 1).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
        page: Query<Option<i64>>,
        /// Users per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        page_size: Query<Option<i64>>,
    ) -> Answer<UserPage> {
        let sort_name = text(&sort).unwrap_or("last_seen").to_owned();
        let sort = UserSort::parse(&sort_name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`sort` must be one of {} (got `{}`)",
                UserSort::NAMES.join(", "),
                clip(&sort_name)
            ))
        })?;
        let descending = descending(text(&order))?;
        let search = search_text(search.0.as_deref())?;
        let (page, page_size) = paging(page.0, page_size.0)?;
        let (total, items) = crate::figures::users(
            &self.state,
            search.as_deref(),
            sort,
            descending,
            (page - 1) * page_size,
            page_size,
        )
        .await?;
        Ok(Json(UserPage {
            total,
            page,
            page_size,
            sort: sort_name,
            order: order_name(descending),
            items,
        }))
    }

    /// One user in full
    ///
    /// Profile, counters, engagement score and its parts, preferences (budget, category,
    /// favourite products) and the conversation, newest first, a page at a time.
    #[oai(
        path = "/admin/users/:id",
        method = "get",
        operation_id = "getUser",
        tag = "Tag::Users"
    )]
    async fn user(
        &self,
        _key: AdminKey,
        /// The user id, `telegram:<id>` or `web:<id>`.
        id: Path<Text<params::UserId>>,
        /// Conversation messages before this log position (from `next_before`).
        #[oai(validator(minimum(value = "1")))]
        before: Query<Option<i64>>,
    ) -> UserAnswer<UserProfile> {
        let id = id.0.as_str();
        // Only a well-formed id can name a user; anything else (a NUL, which Postgres cannot
        // even compare, a path) is no user, without asking the database.
        if id.parse::<events_schema::UserId>().is_err() {
            return Err(ApiError::not_found(format!("no user `{}`", clip(id))).into());
        }
        let profile = crate::figures::user_profile(&self.state, id, before.0).await?;
        profile
            .map(Json)
            .ok_or_else(|| ApiError::not_found(format!("no user `{}`", clip(id))).into())
    }

    /// Erase a user
    ///
    /// Crypto-shredding: records `UserErased` in the user's stream and destroys their key.
    /// Their messages and names read as null with the `erased` flag from then on (API,
    /// replay, export), the user read tables drop them, and the aggregates stay as they were.
    /// Running it again is harmless.
    #[oai(
        path = "/admin/users/:id",
        method = "delete",
        operation_id = "eraseUser",
        tag = "Tag::Users"
    )]
    async fn erase_user(
        &self,
        _key: AdminKey,
        /// The user id, `telegram:<id>` or `web:<id>`.
        id: Path<Text<params::UserId>>,
    ) -> UserAnswer<ErasedUser> {
        let id = id.0.as_str();
        let user: events_schema::UserId = id.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "`{}` is not a user id (telegram:<id> or web:<id>)",
                clip(id)
            ))
        })?;
        let erased = self
            .state
            .store
            .erase_user(&user, "admin-api")
            .await
            .map_err(|error| {
                if error.is_transient() {
                    tracing::warn!(%error, user = %user, "admin API: the erasure did not finish");
                    ApiError::unavailable("the erasure did not finish; run it again later")
                } else {
                    tracing::error!(%error, user = %user, "admin API: the erasure failed (a bug)");
                    ApiError::internal()
                }
            })?
            .ok_or_else(|| ApiError::not_found(format!("no user `{}`", clip(id))))?;
        tracing::info!(user = %user, position = erased.position, "user erased through the admin API");
        Ok(Json(ErasedUser {
            user_id: user.to_string(),
            position: erased.position,
            key_destroyed: erased.key_destroyed,
        }))
    }

    /// Live updates (Server-Sent Events)
    ///
    /// A `progress` event on connect and whenever the read models move (head, how far every
    /// projection has applied, lag, stalled partitions), and an `events` event with the log's
    /// new events (position, type, user, time). Each SSE event's type is the update's `kind`
    /// and its data the field of that name. Comment lines keep an idle connection open.
    #[oai(
        path = "/admin/live",
        method = "get",
        operation_id = "liveUpdates",
        tag = "Tag::Health"
    )]
    async fn live(&self, _key: AdminKey) -> Result<LiveStream, ErrorResponse> {
        Ok(
            EventStream::new(crate::live::updates(self.state.store.clone(), STALE_AFTER).boxed())
                .keep_alive(Duration::from_secs(15))
                .to_event(|update| {
                    let data = match (&update.progress, &update.events) {
                        (Some(p), _) => p.to_json_string(),
                        (_, Some(e)) => e.to_json_string(),
                        _ => "null".to_owned(),
                    };
                    poem::web::sse::Event::message(data).event_type(update.kind)
                }),
        )
    }

    /// A page of the event log
    ///
    /// Events after log position `after`, in order; page on with `next_after`.
    #[oai(
        path = "/admin/analytics/events",
        method = "get",
        operation_id = "listEvents",
        tag = "Tag::Events"
    )]
    async fn events(
        &self,
        _key: AdminKey,
        /// Log position to start after (default 0: the start).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Events per page, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
    ) -> Answer<EventsPage> {
        let after = after.0.unwrap_or(0);
        let limit = limit.0.unwrap_or(DEFAULT_EVENTS).clamp(1, MAX_EVENTS);
        let head = self
            .state
            .store
            .head_position()
            .await
            .map_err(ApiError::from)?;
        // Events a newer release wrote are left out; `next_after` is past them all the same.
        let (events, next_after) = self
            .state
            .store
            .read_all_through(after, usize::try_from(limit).unwrap_or(1))
            .await
            .map_err(ApiError::from)?;
        let events = events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(serde_json::Value::Null))
            .collect();
        Ok(Json(EventsPage {
            after,
            limit,
            head,
            next_after,
            events,
        }))
    }

    /// Export the event log
    ///
    /// Every event after `after` up to the head when the export started, as NDJSON (one JSON
    /// event per line), streamed.
    #[oai(
        path = "/admin/events/export",
        method = "get",
        operation_id = "exportEvents",
        tag = "Tag::Events"
    )]
    async fn export(
        &self,
        _key: AdminKey,
        /// Log position to start after (default 0: the whole log).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
    ) -> Result<ExportResponse, ErrorResponse> {
        let head = self
            .state
            .store
            .head_position()
            .await
            .map_err(ApiError::from)?;
        let stream = crate::export::ndjson(self.state.store.clone(), after.0.unwrap_or(0), head);
        Ok(ExportResponse::Ok(Binary(Body::from_bytes_stream(stream))))
    }
}

impl AdminApi {
    fn period(
        &self,
        days: &Query<Option<Text<params::Days>>>,
        from: &Query<Option<Text<params::Day>>>,
        to: &Query<Option<Text<params::Day>>>,
    ) -> Result<Period, ApiError> {
        Period::parse(text(days), text(from), text(to), self.state.tz, Utc::now())
    }

    fn period_info(&self, period: Period) -> PeriodInfo {
        period_info(period, self.state.tz)
    }
}

/// Tells the tests which routes there are (each has a client test).
pub const OPERATION_IDS: &[&str] = &[
    "getHealth",
    "getDashboard",
    "getConversion",
    "getFunnel",
    "getProducts",
    "getCarts",
    "getShopQuestions",
    "listUsers",
    "getUser",
    "eraseUser",
    "liveUpdates",
    "listEvents",
    "exportEvents",
];
