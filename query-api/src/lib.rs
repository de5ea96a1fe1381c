//! The query side: the admin API (OpenAPI 3, described by poem-openapi), its spec and docs UI.
//! Every figure comes from the read tables the projector keeps (docs/metrics.md).

pub mod api;
pub mod as_of;
mod cache;
mod convert;
mod dashboard;
mod db;
pub mod error;
mod examples;
mod export;
mod figures;
mod health;
mod live;
mod methods;
mod params;
mod period;
mod read;
mod spec;
mod state;
mod types;

use poem::web::Html;
use poem::{EndpointExt as _, Route, get, handler};
use poem_openapi::{OpenApi, OpenApiService};

use std::sync::Arc;

pub use api::{AdminApi, admin};
pub use as_of::{Past, Replay};
pub use state::{KeyDigest, State};

/// The title and version the spec carries.
pub const TITLE: &str = "salesbot API";

pub(crate) fn service<A: OpenApi>(api: A) -> OpenApiService<A, ()> {
    OpenApiService::new(api, TITLE, env!("CARGO_PKG_VERSION"))
        .description(
            "The sales chatbot's HTTP API. The admin routes (`/admin/...`) serve figures from \
             its read models: funnel, conversion, products, users and the event log; every one \
             but `/admin/health` needs the header `X-API-Key: $ADMIN_API_KEY`. Periods are \
             whole days in `REPORT_TIMEZONE`: `days=7|14|30|90` or `from`/`to` (RFC 3339 dates \
             or date-times). A query parameter given empty is the same as one left out. The \
             chat route (`POST /api/messages`) talks to the bot; in distributed mode \
             command-service serves it and query-api the admin routes, one spec for both. \
             Errors are JSON: `{\"message\": \"...\"}`; a method a route does not take gets \
             405 and `Allow`.",
        )
        .license("MIT")
}

/// Adds the admin routes (`/admin/...`, errors as JSON, the key checked), `/openapi.json`, the
/// docs UI at `/docs` and the dashboard at `/dashboard` to `route`. `key` is the admin key
/// every route but health needs. `also` is described in the same spec and docs but not served
/// here: the web chat's API (`command_service::web::ChatApi`), which its own service mounts;
/// `patch` adds to the document what poem-openapi cannot say about it.
pub fn mount<E: OpenApi + 'static>(
    route: Route,
    state: State,
    key: KeyDigest,
    also: E,
    patch: fn(&mut serde_json::Value),
) -> Route {
    let described = service((admin(state.clone()), also));
    let mut document = spec::document(&described);
    patch(&mut document);
    let served = serde_json::to_string_pretty(&document).unwrap_or_default();
    // The docs page carries the spec inline; it shows the one served.
    let docs = described
        .swagger_ui_html()
        .replacen(&described.spec(), &served, 1);
    let service = service(admin(state));
    let methods = Arc::new(methods::Methods::of::<AdminApi>());
    let route = route
        .nest_no_strip(
            "/admin",
            service
                .data(key)
                .around(move |next, req| {
                    let methods = methods.clone();
                    async move { error::guard(next, req, &methods).await }
                })
                .catch_all_error(error::json_errors),
        )
        .at("/openapi.json", get(openapi_json).data(Arc::new(served)))
        .at("/docs", get(docs_page).data(Arc::new(docs)));
    dashboard::mount(route)
}

#[handler]
fn openapi_json(spec: poem::web::Data<&Arc<String>>) -> poem::Response {
    use poem::IntoResponse as _;
    spec.0
        .as_str()
        .to_owned()
        .with_content_type("application/json")
        .into_response()
}

#[handler]
fn docs_page(page: poem::web::Data<&Arc<String>>) -> Html<String> {
    Html(page.0.as_str().to_owned())
}
