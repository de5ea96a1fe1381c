//! What runs around the chat route: the body read within its limit before anything else, and
//! the errors poem raises itself given the route's JSON shape.

use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse as _, Request, Response};

use super::MAX_BODY_BYTES;

/// Reads at most [`MAX_BODY_BYTES`] of the body before anything else runs (413 above, whether
/// or not the request said its length), so no handler ever holds more.
pub(crate) async fn limit_body<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let body = req.take_body();
    match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(bytes) => req.set_body(bytes),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return Ok(json_message(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body may be at most {MAX_BODY_BYTES} bytes"),
            ));
        }
        Err(e) => {
            return Ok(json_message(
                StatusCode::BAD_REQUEST,
                &format!("the body could not be read: {e}"),
            ));
        }
    }
    Ok(next.call(req).await?.into_response())
}

fn json_message(status: StatusCode, message: &str) -> Response {
    poem::web::Json(serde_json::json!({ "message": message }))
        .with_status(status)
        .into_response()
}

/// Errors poem raises itself around the route (an unknown method, say) in the same JSON shape.
pub(crate) async fn json_error(error: poem::Error) -> Response {
    let status = error.status();
    let message = if status.is_server_error() {
        tracing::error!(%error, "web chat: unexpected error");
        "internal error".to_owned()
    } else if status == StatusCode::METHOD_NOT_ALLOWED {
        "method not allowed on this route".to_owned()
    } else {
        error.to_string()
    };
    let mut response = json_message(status, &message);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response.headers_mut().insert(
            poem::http::header::ALLOW,
            poem::http::HeaderValue::from_static("POST"),
        );
    }
    response
}
