//! Every error is a JSON body with a message, with a 4xx status for anything the caller can
//! fix. Errors poem raises itself (a query string that is not UTF-8, a missing key, an unknown
//! route, a method the route does not take) are rewritten into the same shape by [`guard`] and
//! [`json_errors`]. What went wrong inside (a database error) goes to the log; the body says
//! only what the caller can do about it.

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse as _, Request, Response};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object};

/// The body of every error.
#[derive(Debug, Clone, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// What went wrong, for a person.
    pub message: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> ErrorBody {
        ErrorBody {
            message: "`days` must be one of 7, 14, 30 or 90 (got `5`)".into(),
        }
    }
}

/// An error on its way to the caller.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
        }
    }

    /// A bug: the caller can do nothing about it, so the body says only that; the detail is in
    /// the log.
    pub fn internal() -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: INTERNAL.into(),
        }
    }
}

/// The message of every 503 caused by the database; the error itself is logged.
pub const DATABASE_UNAVAILABLE: &str = "the database cannot answer now; retry later";

/// The message of every 500: a bug, whose detail is logged.
pub const INTERNAL: &str = "internal error; the server log has the details";

/// Only a transient fault (the database unreachable, busy or restarting) is a 503 "retry"; any
/// other failure is a bug, a 500 with a generic body and the error in the log.
impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        if event_store::transient_sqlx(&error) {
            tracing::warn!(%error, "query-api: database unavailable");
            ApiError::unavailable(DATABASE_UNAVAILABLE)
        } else {
            tracing::error!(%error, "query-api: database error (a bug)");
            ApiError::internal()
        }
    }
}

impl From<event_store::StoreError> for ApiError {
    fn from(error: event_store::StoreError) -> ApiError {
        if error.is_transient() {
            tracing::warn!(%error, "query-api: event store unavailable");
            ApiError::unavailable(DATABASE_UNAVAILABLE)
        } else {
            tracing::error!(%error, "query-api: event store error (a bug)");
            ApiError::internal()
        }
    }
}

/// The error responses of the admin routes that need the key, as the spec lists them.
#[derive(Debug, ApiResponse)]
pub enum ErrorResponse {
    /// A parameter is out of range, or the query string is not UTF-8; the message says which.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `X-API-Key` is missing or wrong.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The query string is longer than 8 KiB.
    #[oai(status = 414)]
    UriTooLong(Json<ErrorBody>),
    /// A bug in salesbot; the body is generic and the server log has the details.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database cannot answer now; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

/// The error responses of the routes of one user: those of [`ErrorResponse`], and 404.
#[derive(Debug, ApiResponse)]
pub enum UserErrorResponse {
    /// A parameter is out of range, or the query string is not UTF-8; the message says which.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `X-API-Key` is missing or wrong.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such user.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The query string is longer than 8 KiB.
    #[oai(status = 414)]
    UriTooLong(Json<ErrorBody>),
    /// A bug in salesbot; the body is generic and the server log has the details.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The database cannot answer now; retry later.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> ErrorResponse {
        let body = Json(ErrorBody {
            message: error.message,
        });
        match error.status {
            StatusCode::UNAUTHORIZED => ErrorResponse::Unauthorized(body),
            StatusCode::URI_TOO_LONG => ErrorResponse::UriTooLong(body),
            StatusCode::SERVICE_UNAVAILABLE => ErrorResponse::Unavailable(body),
            StatusCode::INTERNAL_SERVER_ERROR => ErrorResponse::Internal(body),
            _ => ErrorResponse::BadRequest(body),
        }
    }
}

impl From<ApiError> for UserErrorResponse {
    fn from(error: ApiError) -> UserErrorResponse {
        let body = Json(ErrorBody {
            message: error.message,
        });
        match error.status {
            StatusCode::UNAUTHORIZED => UserErrorResponse::Unauthorized(body),
            StatusCode::NOT_FOUND => UserErrorResponse::NotFound(body),
            StatusCode::URI_TOO_LONG => UserErrorResponse::UriTooLong(body),
            StatusCode::SERVICE_UNAVAILABLE => UserErrorResponse::Unavailable(body),
            StatusCode::INTERNAL_SERVER_ERROR => UserErrorResponse::Internal(body),
            _ => UserErrorResponse::BadRequest(body),
        }
    }
}

/// Rewrites any error poem raises into a JSON body with a message. A server error caused by
/// the request itself (it cannot be) would still say so without detail.
pub async fn json_errors(error: poem::Error) -> Response {
    // Error responses made elsewhere: ours are JSON already, poem's get a JSON body.
    if error.is_from_response() {
        return jsonify(error.into_response()).await;
    }
    let status = error.status();
    let message = match status {
        StatusCode::UNAUTHORIZED => "a valid `X-API-Key` header is required".to_owned(),
        StatusCode::NOT_FOUND => "no such route".to_owned(),
        // `guard` answers these with the route's methods; this is for a route it does not know.
        StatusCode::METHOD_NOT_ALLOWED => "method not allowed on this route".to_owned(),
        s if s.is_server_error() => {
            tracing::error!(%error, "query-api: unexpected error");
            "internal error".to_owned()
        }
        _ => error.to_string(),
    };
    poem::web::Json(serde_json::json!({ "message": message }))
        .with_status(status)
        .into_response()
}

/// Longest query string taken (longer ones get 414 with a JSON message; past 64 KiB the HTTP
/// layer refuses the request line itself, with an empty 414).
pub const MAX_QUERY: usize = 8 * 1024;

fn json_response(status: StatusCode, message: &str) -> Response {
    poem::web::Json(serde_json::json!({ "message": message }))
        .with_status(status)
        .into_response()
}

/// Around the admin routes: refuses over-long query strings, leaves out query parameters given
/// empty (`days=` is the same as no `days`, as the spec's `allowEmptyValue` says), answers a
/// method a route does not take with 405 and the ones it does in `Allow`, and gives the few
/// error responses poem writes as plain text (a path parameter that is not UTF-8) a JSON body.
pub async fn guard<E: Endpoint>(
    next: E,
    mut req: Request,
    methods: &crate::methods::Methods,
) -> poem::Result<Response> {
    let query = req.uri().query().map_or(0, str::len);
    if query > MAX_QUERY {
        return Ok(json_response(
            StatusCode::URI_TOO_LONG,
            &format!("the query string is {query} bytes; at most {MAX_QUERY} are taken"),
        ));
    }
    if let Some(query) = req.uri().query()
        && std::str::from_utf8(&percent_decoded(query)).is_err()
    {
        return Ok(json_response(
            StatusCode::BAD_REQUEST,
            "the query string is not valid UTF-8 once percent-decoded",
        ));
    }
    if let Some(uri) = without_empty_values(req.uri()) {
        *req.uri_mut() = uri;
    }
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match next.call(req).await {
        Ok(response) => Ok(jsonify(response.into_response()).await),
        Err(error) if error.status() == StatusCode::METHOD_NOT_ALLOWED => {
            match methods.allowed(&path) {
                Some(allowed) => Ok(json_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &format!("{method} is not allowed on {path}; it takes {allowed}"),
                )
                .with_header(poem::http::header::ALLOW, allowed)
                .into_response()),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

/// The URI without the query parameters that have an empty value (`a=` or a bare `a`), when
/// there are any.
fn without_empty_values(uri: &poem::http::Uri) -> Option<poem::http::Uri> {
    let query = uri.query()?;
    // `a=`, a bare `a`, or nothing between two `&`.
    let empty = |pair: &&str| {
        pair.split_once('=')
            .is_none_or(|(_, value)| value.is_empty())
    };
    if !query.split('&').any(|pair| empty(&pair)) {
        return None;
    }
    let kept: Vec<&str> = query.split('&').filter(|pair| !empty(pair)).collect();
    let path_and_query = match kept.is_empty() {
        true => uri.path().to_owned(),
        false => format!("{}?{}", uri.path(), kept.join("&")),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    poem::http::Uri::from_parts(parts).ok()
}

/// An error response without a JSON body gets one, its text as the message.
async fn jsonify(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .content_type()
        .is_some_and(|c| c.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = response.into_body().into_string().await.unwrap_or_default();
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_owned(),
        t => t.to_owned(),
    };
    json_response(status, &message)
}

/// The bytes a query string stands for (`%XX` decoded, `+` a space); a malformed escape stays
/// as it is.
fn percent_decoded(query: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(&query.replace('+', " ")).collect()
}

/// For the whole app: a path that does not percent-decode to UTF-8 is refused by the router
/// before any route runs; say so in JSON like every other error.
pub async fn bad_path(_: poem::error::ParsePathError) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        "the path is not valid UTF-8 once percent-decoded",
    )
}

#[cfg(test)]
mod tests {
    use super::{
        ApiError, DATABASE_UNAVAILABLE, INTERNAL, StatusCode, percent_decoded, without_empty_values,
    };
    use event_store::StoreError;

    #[test]
    fn empty_query_values_are_left_out() {
        let strip =
            |uri: &str| without_empty_values(&uri.parse().expect("uri")).map(|u| u.to_string());
        assert_eq!(strip("/a?days=7&from=2026-01-01"), None);
        assert_eq!(strip("/a"), None);
        assert_eq!(
            strip("/a?days=&from=2026-01-01").as_deref(),
            Some("/a?from=2026-01-01")
        );
        assert_eq!(strip("/a?days&from=&to=").as_deref(), Some("/a"));
        assert_eq!(strip("/a?x=1&&y=2").as_deref(), Some("/a?x=1&y=2"));
        // A value that is itself `=` is a value.
        assert_eq!(strip("/a?search==&x=").as_deref(), Some("/a?search=="));
    }

    #[test]
    fn query_strings_are_percent_decoded_before_the_utf8_check() {
        assert_eq!(percent_decoded("a=%41%42+c&d=%zz%4"), b"a=AB c&d=%zz%4");
        assert!(std::str::from_utf8(&percent_decoded("search=%C3%A9")).is_ok());
        assert!(std::str::from_utf8(&percent_decoded("search=%C3%28")).is_err());
        assert!(std::str::from_utf8(&percent_decoded("days=%FF")).is_err());
    }

    #[test]
    fn only_a_transient_fault_is_a_503_and_a_bug_is_a_500_without_detail() {
        let transient = [
            ApiError::from(sqlx::Error::PoolTimedOut),
            ApiError::from(StoreError::Closed),
            ApiError::from(StoreError::Database(sqlx::Error::PoolClosed)),
        ];
        for e in transient {
            assert_eq!(
                (e.status, e.message.as_str()),
                (StatusCode::SERVICE_UNAVAILABLE, DATABASE_UNAVAILABLE)
            );
        }
        let bugs = [
            ApiError::from(sqlx::Error::RowNotFound),
            ApiError::from(StoreError::Internal("a broken invariant".into())),
            ApiError::from(StoreError::Corrupt {
                global_position: 7,
                reason: "bad json".into(),
            }),
        ];
        for e in bugs {
            assert_eq!(
                (e.status, e.message.as_str()),
                (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
            );
        }
    }
}
