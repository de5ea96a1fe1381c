//! Every error is a JSON body with a message, with a 4xx status for anything the caller can
//! fix. Errors poem raises itself (a query string that is not UTF-8, a missing key, an unknown
//! route) are rewritten into the same shape by [`json_errors`].

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
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        tracing::warn!(%error, "query-api: database error");
        ApiError::unavailable(format!("the database cannot answer: {error}"))
    }
}

impl From<event_store::StoreError> for ApiError {
    fn from(error: event_store::StoreError) -> ApiError {
        tracing::warn!(%error, "query-api: event store error");
        ApiError::unavailable(format!("the event store cannot answer: {error}"))
    }
}

/// The error responses of the admin routes, as the spec lists them.
#[derive(Debug, ApiResponse)]
pub enum ErrorResponse {
    /// A parameter is missing or out of range; the message says which.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `X-API-Key` is missing or wrong.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// No such user.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The database (or another part) cannot answer now; retry later.
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
            StatusCode::NOT_FOUND => ErrorResponse::NotFound(body),
            StatusCode::SERVICE_UNAVAILABLE => ErrorResponse::Unavailable(body),
            _ => ErrorResponse::BadRequest(body),
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

/// Around the admin routes: refuses over-long query strings, and gives the few error responses
/// poem writes as plain text (a path parameter that is not UTF-8) a JSON body.
pub async fn guard<E: Endpoint>(next: E, req: Request) -> poem::Result<Response> {
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
    Ok(jsonify(next.call(req).await?.into_response()).await)
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
    use super::percent_decoded;

    #[test]
    fn query_strings_are_percent_decoded_before_the_utf8_check() {
        assert_eq!(percent_decoded("a=%41%42+c&d=%zz%4"), b"a=AB c&d=%zz%4");
        assert!(std::str::from_utf8(&percent_decoded("search=%C3%A9")).is_ok());
        assert!(std::str::from_utf8(&percent_decoded("search=%C3%28")).is_err());
        assert!(std::str::from_utf8(&percent_decoded("days=%FF")).is_err());
    }
}
