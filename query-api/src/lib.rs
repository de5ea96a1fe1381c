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
use poem_openapi::{OpenApi, OpenApiService};

pub use api::{AdminApi, KeyDigest, State};

/// The title and version the spec carries.
pub const TITLE: &str = "salesbot API";

fn service<A: OpenApi>(api: A) -> OpenApiService<A, ()> {
    OpenApiService::new(api, TITLE, env!("CARGO_PKG_VERSION"))
        .description(
            "The sales chatbot's HTTP API. The admin routes (`/admin/...`) serve figures from \
             its read models: funnel, conversion, products, users and the event log; every one \
             but `/admin/health` needs the header `X-API-Key: $ADMIN_API_KEY`. Periods are \
             whole days in `REPORT_TIMEZONE`: `days=7|14|30|90` or `from`/`to` (ISO 8601). \
             The chat route (`POST /api/messages`) talks to the bot; in distributed mode \
             command-service serves it and query-api the admin routes, one spec for both. \
             Errors are JSON: `{\"message\": \"...\"}`.",
        )
        .license("MIT")
}

/// Adds the admin routes (`/admin/...`, errors as JSON, the key checked), `/openapi.json`, the
/// docs UI at `/docs` and the dashboard at `/dashboard` to `route`. `key` is the admin key
/// every route but health needs. `also` is described in the same spec and docs but not served
/// here: the web chat's API (`command_service::web::ChatApi`), which its own service mounts.
pub fn mount<E: OpenApi + 'static>(route: Route, state: State, key: KeyDigest, also: E) -> Route {
    let described = service((
        AdminApi {
            state: state.clone(),
        },
        also,
    ));
    let spec = described.spec_endpoint();
    let docs = described.swagger_ui();
    let service = service(AdminApi { state });
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
