//! The dashboard page and its assets, embedded in the binary (it works offline): `/dashboard`,
//! `/dashboard/dashboard.css`, the entry module `/dashboard/dashboard.js` and the ES modules
//! it imports (`/dashboard/js/*.js`), the vendored libraries under `/dashboard/vendor/`
//! (`assets/vendor/README.md` says what they are and where they came from), and the old
//! address `/static/dashboard.html` redirecting to `/dashboard`. No build step: the browser
//! loads the modules as they are (docs/architecture.md, "The dashboard").

use poem::endpoint::make_sync;
use poem::http::header;
use poem::web::Redirect;
use poem::{IntoResponse as _, Response, Route, get, handler};

const HTML: &str = include_str!("../assets/dashboard.html");

const CSS_TYPE: &str = "text/css; charset=utf-8";
const JS_TYPE: &str = "text/javascript; charset=utf-8";

/// Every file the page loads besides itself: its address, its text and its content type. A
/// module missing here fails the page's import; `every_import_is_served` checks there is none.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/dashboard/dashboard.css",
        include_str!("../assets/dashboard.css"),
        CSS_TYPE,
    ),
    (
        "/dashboard/dashboard.js",
        include_str!("../assets/dashboard.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/api.js",
        include_str!("../assets/js/api.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/charts.js",
        include_str!("../assets/js/charts.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/csv.js",
        include_str!("../assets/js/csv.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/dom.js",
        include_str!("../assets/js/dom.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/feed.js",
        include_str!("../assets/js/feed.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/figures.js",
        include_str!("../assets/js/figures.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/format.js",
        include_str!("../assets/js/format.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/key.js",
        include_str!("../assets/js/key.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/live.js",
        include_str!("../assets/js/live.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/period.js",
        include_str!("../assets/js/period.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/products.js",
        include_str!("../assets/js/products.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/profile.js",
        include_str!("../assets/js/profile.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/refresh.js",
        include_str!("../assets/js/refresh.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/sse.js",
        include_str!("../assets/js/sse.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/state.js",
        include_str!("../assets/js/state.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/status.js",
        include_str!("../assets/js/status.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/table.js",
        include_str!("../assets/js/table.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/js/users.js",
        include_str!("../assets/js/users.js"),
        JS_TYPE,
    ),
    // Chart.js 4.4.9 (MIT), a classic script that defines `window.Chart`.
    (
        "/dashboard/vendor/chart.umd.min.js",
        include_str!("../assets/vendor/chart.umd.min.js"),
        JS_TYPE,
    ),
    // eventsource-parser 4.1.3 (MIT), ES modules: the SSE parser js/sse.js uses.
    (
        "/dashboard/vendor/eventsource-parser/index.js",
        include_str!("../assets/vendor/eventsource-parser/index.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/vendor/eventsource-parser/parse.js",
        include_str!("../assets/vendor/eventsource-parser/parse.js"),
        JS_TYPE,
    ),
    (
        "/dashboard/vendor/eventsource-parser/errors.js",
        include_str!("../assets/vendor/eventsource-parser/errors.js"),
        JS_TYPE,
    ),
];

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
fn old_address() -> Redirect {
    Redirect::moved_permanent("/dashboard")
}

/// Adds the dashboard's routes to `route`.
pub fn mount(route: Route) -> Route {
    let route = route
        .at("/dashboard", get(page))
        .at("/dashboard/", get(page))
        .at("/static/dashboard.html", get(old_address));
    ASSETS
        .iter()
        .fold(route, |route, &(path, body, content_type)| {
            route.at(path, get(make_sync(move |_| asset(body, content_type))))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address a module's `import … from '<specifier>'` names, from the importer's address.
    fn resolve(importer: &str, specifier: &str) -> String {
        let mut parts: Vec<&str> = importer.split('/').collect();
        parts.pop(); // the importer's own file name
        for part in specifier.split('/') {
            match part {
                "." => {}
                ".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        parts.join("/")
    }

    /// The specifiers of a module's static imports (`… from '…'`), which the modules here
    /// write one to a line.
    fn imports(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("import ")?;
                let from = rest.rsplit_once(" from ")?.1;
                Some(from.trim_end_matches(';').trim_matches(['\'', '"']))
            })
            .collect()
    }

    #[test]
    fn every_import_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|(path, _, _)| *path).collect();
        let mut checked = 0;
        for (path, body, content_type) in ASSETS {
            if *content_type != JS_TYPE {
                continue;
            }
            for specifier in imports(body) {
                let target = resolve(path, specifier);
                assert!(
                    served.contains(&target.as_str()),
                    "{path} imports {specifier} ({target}), which is not served"
                );
                checked += 1;
            }
        }
        // The entry module alone imports over a dozen modules: a parser that finds none is broken.
        assert!(checked > 30, "only {checked} imports found");
    }

    #[test]
    fn every_module_in_the_tree_is_served() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/js");
        for entry in std::fs::read_dir(&dir).expect("assets/js") {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            if !name.ends_with(".js") {
                continue;
            }
            let path = format!("/dashboard/js/{name}");
            assert!(
                ASSETS.iter().any(|(p, _, _)| *p == path),
                "assets/js/{name} is not served at {path}"
            );
        }
    }

    #[test]
    fn the_page_loads_the_entry_as_a_module() {
        assert!(HTML.contains(r#"<script type="module" src="/dashboard/dashboard.js"></script>"#));
        assert!(
            HTML.contains(r#"<script src="/dashboard/vendor/chart.umd.min.js" defer></script>"#)
        );
    }
}
