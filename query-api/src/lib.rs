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
mod methods;
pub mod params;
pub mod period;
pub mod read;
pub mod spec;
pub mod types;

use poem::web::Html;
use poem::{EndpointExt as _, Route, get, handler};
use poem_openapi::OpenApiService;

use std::sync::Arc;

pub use api::{AdminApi, KeyDigest, State};

/// The title and version the spec carries.
pub const TITLE: &str = "salesbot admin API";

pub(crate) fn service(state: State) -> OpenApiService<AdminApi, ()> {
    OpenApiService::new(AdminApi { state }, TITLE, env!("CARGO_PKG_VERSION"))
        .description(
            "Figures of the sales chatbot, from its read models: funnel, conversion, products, \
             users and the event log. Every route but `/admin/health` needs the header \
             `X-API-Key: $ADMIN_API_KEY`. Periods are whole days in `REPORT_TIMEZONE`: \
             `days=7|14|30|90` or `from`/`to` (RFC 3339 dates or date-times). A query \
             parameter given empty is the same as one left out. Errors are JSON: \
             `{\"message\": \"...\"}`; a method a route does not take gets 405 and `Allow`.",
        )
        .license("MIT")
}

/// Adds the admin routes (`/admin/...`, errors as JSON, the key checked), `/openapi.json`, the
/// docs UI at `/docs` and the dashboard at `/dashboard` to `route`. `key` is the admin key every route but health needs.
pub fn mount(route: Route, state: State, key: KeyDigest) -> Route {
    let service = service(state);
    let document = spec::document(&service);
    let served = serde_json::to_string_pretty(&document).unwrap_or_default();
    // The docs page carries the spec inline; it shows the one served.
    let docs = service
        .swagger_ui_html()
        .replacen(&service.spec(), &served, 1);
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
