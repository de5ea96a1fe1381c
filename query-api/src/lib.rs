//! The query side: the admin API (OpenAPI 3, described by poem-openapi), its spec and docs UI.
//! Every figure comes from the read tables the projector keeps (docs/metrics.md).

pub mod api;
mod cache;
mod dashboard;
mod db;
pub mod error;
mod examples;
mod export;
mod figures;
mod health;
pub mod live;
pub mod period;
pub mod read;
pub mod types;

use poem::{EndpointExt as _, Route};
use poem_openapi::OpenApiService;

pub use api::{AdminApi, KeyDigest, State};

/// The title and version the spec carries.
pub const TITLE: &str = "salesbot admin API";

fn service(state: State) -> OpenApiService<AdminApi, ()> {
    OpenApiService::new(AdminApi { state }, TITLE, env!("CARGO_PKG_VERSION"))
        .description(
            "Figures of the sales chatbot, from its read models: funnel, conversion, products, \
             users and the event log. Every route but `/admin/health` needs the header \
             `X-API-Key: $ADMIN_API_KEY`. Periods are whole days in `REPORT_TIMEZONE`: \
             `days=7|14|30|90` or `from`/`to` (ISO 8601). Errors are JSON: \
             `{\"message\": \"...\"}`.",
        )
        .license("MIT")
}

/// Adds the admin routes (`/admin/...`, errors as JSON, the key checked), `/openapi.json`, the
/// docs UI at `/docs` and the dashboard at `/dashboard` to `route`. `key` is the admin key every route but health needs.
pub fn mount(route: Route, state: State, key: KeyDigest) -> Route {
    let service = service(state);
    let spec = service.spec_endpoint();
    let docs = service.swagger_ui();
    let route = route
        .nest_no_strip(
            "/admin",
            service
                .data(key)
                .around(error::guard)
                .catch_all_error(error::json_errors),
        )
        .at("/openapi.json", spec)
        .nest("/docs", docs);
    dashboard::mount(route)
}
