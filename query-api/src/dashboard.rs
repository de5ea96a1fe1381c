//! The dashboard page and its assets, embedded in the binary (it works offline): `/dashboard`,
//! `/dashboard/dashboard.{css,js}`, Chart.js at `/dashboard/vendor/chart.umd.min.js`, and the
//! old address `/static/dashboard.html` redirecting to `/dashboard`.

use poem::http::header;
use poem::web::Redirect;
use poem::{IntoResponse as _, Response, Route, get, handler};

const HTML: &str = include_str!("../assets/dashboard.html");
const CSS: &str = include_str!("../assets/dashboard.css");
const JS: &str = include_str!("../assets/dashboard.js");
/// Chart.js 4.4.9 (MIT), `assets/vendor/README.md` says where it came from.
const CHART_JS: &str = include_str!("../assets/vendor/chart.umd.min.js");

/// Everything the page loads comes from here; nothing else may run.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> Response {
    body.with_content_type(content_type)
        .with_header(header::CACHE_CONTROL, "no-cache")
        .with_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .into_response()
}

#[handler]
fn page() -> Response {
    asset(HTML, "text/html; charset=utf-8")
        .with_header(header::CONTENT_SECURITY_POLICY, CSP)
        .with_header(header::REFERRER_POLICY, "no-referrer")
        .into_response()
}

#[handler]
fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

#[handler]
fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

#[handler]
fn chart_js() -> Response {
    asset(CHART_JS, "text/javascript; charset=utf-8")
}

#[handler]
fn old_address() -> Redirect {
    Redirect::moved_permanent("/dashboard")
}

/// Adds the dashboard's routes to `route`.
pub fn mount(route: Route) -> Route {
    route
        .at("/dashboard", get(page))
        .at("/dashboard/", get(page))
        .at("/dashboard/dashboard.css", get(css))
        .at("/dashboard/dashboard.js", get(js))
        .at("/dashboard/vendor/chart.umd.min.js", get(chart_js))
        .at("/static/dashboard.html", get(old_address))
}
