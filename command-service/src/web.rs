//! The web chat: `POST /api/messages` (`{"user_id", "text", "username"?}` → the bot's reply)
//! and the `/chat` page. Web users live in their own id space (`web:<user_id>`), so no request
//! here can ever write as a Telegram user.

use poem::http::StatusCode;
use poem::web::{Data, Html, Json};
use poem::{IntoResponse, Response, Route, get, handler, post};
use serde::{Deserialize, Serialize};

use events_schema::{Channel, MessageKind, ReplyButton, UserId};

use crate::engine::Inbound;
use crate::service::{CommandService, EventIds, Handled};

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest message text accepted, in characters (422 above).
pub const MAX_TEXT_CHARS: usize = 2_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    user_id: String,
    /// The message; for a button press, the button's data.
    text: String,
    username: Option<String>,
    /// True when `text` is the data of a button the bot offered.
    #[serde(default)]
    button: bool,
}

#[derive(Debug, Serialize)]
struct MessageResponse {
    user_id: String,
    reply: String,
    buttons: Vec<ReplyButton>,
    products: Vec<String>,
}

fn error(status: StatusCode, message: &str) -> Response {
    Json(serde_json::json!({ "error": message }))
        .with_status(status)
        .into_response()
}

/// The web chat's routes; the server adds `.data(service)` with a [`CommandService`].
pub fn routes() -> Route {
    Route::new()
        // The handler reads at most MAX_BODY_BYTES and answers 413 with a JSON message.
        .at("/api/messages", post(post_message))
        .at("/chat", get(chat_page))
}

#[handler]
async fn chat_page() -> Html<&'static str> {
    Html(include_str!("../static/chat.html"))
}

#[handler]
async fn post_message(Data(service): Data<&CommandService>, body: poem::Body) -> Response {
    let bytes = match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body may be at most {MAX_BODY_BYTES} bytes"),
            );
        }
    };
    let request: MessageRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let status = if e.is_data() {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            };
            return error(
                status,
                &format!("expected {{\"user_id\", \"text\", \"username\"?}}: {e}"),
            );
        }
    };
    let user = match UserId::new(Channel::Web, &request.user_id) {
        Ok(u) => u,
        Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, &format!("user_id: {e}")),
    };
    let chars = request.text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("text is {chars} characters; the limit is {MAX_TEXT_CHARS}"),
        );
    }
    if request.text.trim().is_empty() {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "text is empty");
    }
    if request
        .username
        .as_ref()
        .is_some_and(|u| u.chars().count() > 64)
    {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "username may be at most 64 characters",
        );
    }
    let inbound = Inbound {
        channel: Channel::Web,
        kind: if request.button {
            MessageKind::Button
        } else {
            MessageKind::Text
        },
        text: Some(request.text),
        message_id: None,
        chat_id: None,
        username: request.username.clone(),
        display_name: request.username,
        language: None,
        at: service.now(),
        payments: false,
    };
    match service.handle(&user, &inbound, EventIds::Fresh).await {
        Ok(Handled::Answered { reply, .. }) => Json(MessageResponse {
            user_id: request.user_id,
            reply: reply.text,
            buttons: reply.buttons,
            products: reply.products,
        })
        .into_response(),
        Ok(Handled::Ignored) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "that button is not one the bot offered",
        ),
        Ok(Handled::Duplicate) => error(StatusCode::CONFLICT, "this message was recorded already"),
        Err(e) => {
            tracing::error!(error = %e, "web message failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the message could not be recorded; please retry",
            )
        }
    }
}
