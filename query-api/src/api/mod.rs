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

mod analytics;
mod log;
mod users;

pub use analytics::AnalyticsApi;
pub use log::LogApi;
pub use users::UsersApi;

/// The admin API: its routes in three groups, one `OpenApi` each.
pub type AdminApi = (AnalyticsApi, UsersApi, LogApi);

/// The admin API over `state`.
pub fn admin(state: State) -> AdminApi {
    (
        AnalyticsApi {
            state: state.clone(),
        },
        UsersApi {
            state: state.clone(),
        },
        LogApi { state },
    )
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

impl State {
    pub(crate) fn period(
        &self,
        days: &Query<Option<Text<params::Days>>>,
        from: &Query<Option<Text<params::Day>>>,
        to: &Query<Option<Text<params::Day>>>,
    ) -> Result<Period, ApiError> {
        self.period_at(days, from, to, Utc::now())
    }

    /// The period, `today` being the day of `now` (the `as_of` instant of historical figures).
    pub(crate) fn period_at(
        &self,
        days: &Query<Option<Text<params::Days>>>,
        from: &Query<Option<Text<params::Day>>>,
        to: &Query<Option<Text<params::Day>>>,
        now: chrono::DateTime<Utc>,
    ) -> Result<Period, ApiError> {
        Period::parse(text(days), text(from), text(to), self.tz, now)
    }

    pub(crate) fn period_info(&self, period: Period) -> PeriodInfo {
        period_info(period, self.tz)
    }
}

/// Tells the tests which routes there are (each has a client test).
pub const OPERATION_IDS: &[&str] = &[
    "getHealth",
    "listParkedEvents",
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
