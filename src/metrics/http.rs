//! Requests by route template: a counter by route, method and status, and a latency histogram
//! by route and method. The route is the pattern the router matched (`/admin/users/:user_id`),
//! never the path a client sent, so a label never holds a user id and the label set stays
//! small; a request no route matched counts under `unmatched`. Each request runs in an `http`
//! span with the same fields.

use std::time::Instant;

use poem::PathPattern;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument as _;

/// Requests answered, by route, method and status.
pub const REQUESTS: &str = "salesbot_http_requests_total";
/// Time to answer, by route and method.
pub const SECONDS: &str = "salesbot_http_request_duration_seconds";

pub(super) fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests answered, by route template, method and status code."
    );
    metrics::describe_histogram!(
        SECONDS,
        metrics::Unit::Seconds,
        "Time to answer an HTTP request (to the response head; a stream's body is not \
         waited for), by route template and method."
    );
}

/// Counts and times every request of the endpoint it wraps.
#[derive(Debug, Clone, Copy, Default)]
pub struct Metered;

impl<E: Endpoint> Middleware<E> for Metered {
    type Output = MeteredEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        MeteredEndpoint { inner }
    }
}

#[derive(Debug)]
pub struct MeteredEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for MeteredEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let method = method_label(req.method());
        let span = tracing::info_span!(
            "http",
            method,
            route = tracing::field::Empty,
            status = tracing::field::Empty
        );
        let started = Instant::now();
        let answer = self
            .inner
            .call(req)
            .instrument(span.clone())
            .await
            .map(IntoResponse::into_response);
        let (route, status) = match &answer {
            Ok(response) => (response.data::<PathPattern>(), response.status()),
            Err(error) => (error.data::<PathPattern>(), error.status()),
        };
        // A path no route took is under the root's catch-all nest, whose pattern is empty.
        let route = match route {
            Some(p) if !p.0.is_empty() => p.0.to_string(),
            _ => "unmatched".to_owned(),
        };
        let status = status.as_u16();
        span.record("route", route.as_str());
        span.record("status", status);
        metrics::counter!(
            REQUESTS,
            "route" => route.clone(),
            "method" => method,
            "status" => status.to_string()
        )
        .increment(1);
        metrics::histogram!(SECONDS, "route" => route, "method" => method)
            .record(started.elapsed().as_secs_f64());
        answer
    }
}

/// The standard methods by name; anything else (a client's invention) as `other`.
fn method_label(method: &poem::http::Method) -> &'static str {
    use poem::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
