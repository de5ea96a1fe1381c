//! `POST /api/messages`, described by poem-openapi so that the spec says exactly what the route
//! takes and answers: the three ways in (`X-Chat-Key`, a session as `Authorization: Bearer`, the
//! `/chat` page's cookie, or none for a new session), the body's limits and every status.

use std::sync::Arc;

use poem::Request;
use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::error::ParseRequestPayloadError;
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use events_schema::{Channel, MessageKind};

use super::identity::{ChatAuth, Sender, identify, user_of};
use super::{MAX_TEXT_CHARS, MAX_USERNAME_CHARS, WebChat, is_https};
use crate::engine::Inbound;
use crate::limits::retry_after_secs;
use crate::service::{CommandService, EventIds, Handled, Live};

/// The web chat's API (its routes are mounted by [`super::routes`]; the type alone gives the
/// spec, so a server that only documents it needs no state).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatApi;

#[derive(Debug, Tags)]
enum ChatTag {
    /// Talking to the bot from a web page or another front end.
    Chat,
}

/// A message to the bot.
// Its description in the spec; [`MessageBody`] reads it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example)]
struct MessageRequest {
    /// The message, 1 to 2,000 characters; for a button press, the button's `data`.
    #[oai(validator(min_length = 1, max_length = 2000))]
    text: String,
    /// The shop's own id for the user (its backend authenticated them): only with
    /// `X-Chat-Key`. Stored as `web:<user_id>`. Ids starting with `_` are the server's own
    /// (anonymous sessions). Without it the message belongs to an anonymous session.
    // The pattern ([`USER_ID_PATTERN`]) is added to the spec by [`describe`] and checked by
    // `identify`: poem-openapi's own pattern validator compiles its regex on every request.
    user_id: Option<String>,
    /// The name to greet the user by.
    #[oai(validator(max_length = 64))]
    username: Option<String>,
    /// True when `text` is the `data` of a button the bot offered.
    #[oai(default)]
    button: bool,
}

impl poem_openapi::types::Example for MessageRequest {
    fn example() -> Self {
        MessageRequest {
            text: "what laptops do you have under $800?".into(),
            user_id: None,
            username: Some("Ana".into()),
            button: false,
        }
    }
}

/// A message as it arrives: read by serde straight from the body's bytes, which takes exactly
/// what [`MessageRequest`] describes (strings only where it says string, `null` for a field left
/// out, no other fields), then checked for the lengths it states. poem-openapi's own `Json`
/// would build a `serde_json::Value` tree first: an allocation per field on every message.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct WireMessage {
    text: String,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    button: Option<bool>,
}

/// The body of `POST /api/messages`: described by [`MessageRequest`], read as [`WireMessage`].
#[derive(Debug)]
struct MessageBody(WireMessage);

impl Payload for MessageBody {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        Json::<MessageRequest>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        MessageRequest::schema_ref()
    }

    fn register(registry: &mut Registry) {
        MessageRequest::register(registry);
    }
}

impl ParsePayload for MessageBody {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        let _ = request;
        let bytes = body.take()?.into_bytes().await?;
        let refused = |reason: String| ParseRequestPayloadError {
            reason: format!("failed to parse \"MessageRequest\": {reason}"),
        };
        // serde's derived struct reader also takes an array of the fields in order: only an
        // object is a message.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(refused("expected a JSON object".into()).into());
        }
        let mut json = serde_json::Deserializer::from_slice(&bytes);
        let message: WireMessage =
            serde_path_to_error::deserialize(&mut json).map_err(|e| {
                match e.path().to_string().as_str() {
                    "." => refused(e.inner().to_string()),
                    path => refused(format!("{path}: {}", e.inner())),
                }
            })?;
        json.end().map_err(|e| refused(e.to_string()))?;
        let chars = |s: &str| s.chars().count();
        if message.text.is_empty() {
            return Err(refused("field `text` verification failed. minLength(1)".into()).into());
        }
        if chars(&message.text) > MAX_TEXT_CHARS {
            return Err(refused(format!(
                "field `text` verification failed. maxLength({MAX_TEXT_CHARS})"
            ))
            .into());
        }
        if message
            .username
            .as_deref()
            .is_some_and(|u| chars(u) > MAX_USERNAME_CHARS)
        {
            return Err(refused(format!(
                "field `username` verification failed. maxLength({MAX_USERNAME_CHARS})"
            ))
            .into());
        }
        Ok(MessageBody(message))
    }
}

impl_apirequest_for_payload!(MessageBody);

/// A button under the reply; pressing it sends its `data` with `"button": true`.
#[derive(Debug, Object, serde::Serialize)]
pub(super) struct ChatButton {
    label: String,
    data: String,
}

/// The bot's reply.
// Written by serde straight from this struct ([`Direct`]).
#[derive(Debug, Object, serde::Serialize)]
pub(super) struct MessageReply {
    /// The user the message was recorded for (without the `web:` prefix).
    user_id: String,
    reply: String,
    buttons: Vec<ChatButton>,
    /// Ids of the products the reply offers, in order.
    products: Vec<String>,
    /// A new session token (sent when a session starts, or is renewed past half its
    /// lifetime, for callers using `Authorization: Bearer`): send it back as
    /// `Authorization: Bearer <session>` from now on. Absent otherwise.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    session: Option<String>,
}

/// A JSON body written by serde straight from the value, described in the spec by the value's
/// own type. poem-openapi's `Json` builds a `serde_json::Value` tree first, an allocation per
/// field and string of every reply; the types here serialise the same JSON either way.
#[derive(Debug)]
pub(super) struct Direct<T>(T);

impl<T: Type + Send> Payload for Direct<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + serde::Serialize + Send> poem::IntoResponse for Direct<T> {
    fn into_response(self) -> poem::Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => poem::Response::builder()
                .content_type(<Self as Payload>::CONTENT_TYPE)
                .body(body),
            // Strings, vectors and options of them always serialise; a failure is a bug.
            Err(error) => {
                tracing::error!(%error, "web chat: a reply did not serialise");
                poem::IntoResponse::into_response(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
}

/// The body of every error of the chat route.
#[derive(Debug, Object)]
pub(super) struct ChatError {
    /// What went wrong, for a person.
    message: String,
}

#[derive(Debug, ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub(super) enum PostMessageResponse {
    /// Recorded and answered. A caller without credentials gets its new `session` in the body;
    /// the `/chat` page's cookie is set or renewed through `Set-Cookie`.
    #[oai(status = 200)]
    Ok(
        Direct<MessageReply>,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
    /// The body is not JSON, or breaks the schema (a missing or over-long `text`, an unknown
    /// field, a malformed `user_id`).
    #[oai(status = 400)]
    BadRequest(Json<ChatError>),
    /// `X-Chat-Key` is wrong (or no key is configured), or the session is not valid, expired,
    /// or ended with its user's erasure: send without `Authorization` to start a new one.
    #[oai(status = 401)]
    Unauthorized(Json<ChatError>),
    /// `user_id` without `X-Chat-Key`: only the shop's backend names users.
    #[oai(status = 403)]
    Forbidden(Json<ChatError>),
    /// The body is larger than 16 KiB.
    #[oai(status = 413)]
    TooLarge(Json<ChatError>),
    /// The body is not `application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ChatError>),
    /// `"button": true` with data the bot does not offer in this conversation (never did, or
    /// no longer does): it conflicts with where the conversation is.
    #[oai(status = 409)]
    Conflict(Json<ChatError>),
    /// Too many messages from this user, or from this address without `X-Chat-Key`; retry
    /// after `Retry-After` seconds. Nothing was recorded.
    #[oai(status = 429)]
    TooManyRequests(Json<ChatError>, #[oai(header = "Retry-After")] u64),
    /// The message could not be recorded (the database is unavailable); retry.
    #[oai(status = 503)]
    Unavailable(Json<ChatError>),
}

pub(super) fn error(status: StatusCode, message: impl Into<String>) -> PostMessageResponse {
    let body = Json(ChatError {
        message: message.into(),
    });
    match status {
        StatusCode::UNAUTHORIZED => PostMessageResponse::Unauthorized(body),
        StatusCode::FORBIDDEN => PostMessageResponse::Forbidden(body),
        StatusCode::PAYLOAD_TOO_LARGE => PostMessageResponse::TooLarge(body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => PostMessageResponse::UnsupportedMediaType(body),
        StatusCode::CONFLICT => PostMessageResponse::Conflict(body),
        StatusCode::SERVICE_UNAVAILABLE => PostMessageResponse::Unavailable(body),
        _ => PostMessageResponse::BadRequest(body),
    }
}

pub(super) fn too_many(wait: std::time::Duration, whose: &str) -> PostMessageResponse {
    crate::limits::count_refused(Channel::Web);
    let secs = retry_after_secs(wait);
    PostMessageResponse::TooManyRequests(
        Json(ChatError {
            message: format!("too many messages from {whose}; retry in {secs} s"),
        }),
        secs,
    )
}

fn bad_request(error: poem::Error) -> PostMessageResponse {
    if error.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return self::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json)",
        );
    }
    self::error(StatusCode::BAD_REQUEST, error.to_string())
}

#[OpenApi]
impl ChatApi {
    /// Send a message to the bot
    ///
    /// Records the message (and what the bot read in it) in the user's stream and answers with
    /// the bot's reply. A shop's backend names its users with `user_id` and `X-Chat-Key`;
    /// anyone else gets an anonymous session: its token comes back as `session` in the first
    /// reply and goes back as `Authorization: Bearer <session>`, or, on the `/chat` page, as
    /// an HttpOnly cookie. Sessions last `CHAT_SESSION_TTL` (default 30 days) and end when
    /// their user is erased. Limits: `CHAT_USER_RATE` messages a minute per user, and
    /// `CHAT_ADDRESS_RATE` requests a minute per address without `X-Chat-Key` (429 with
    /// `Retry-After`). A refused request records nothing.
    #[oai(
        path = "/api/messages",
        method = "post",
        operation_id = "postMessage",
        tag = "ChatTag::Chat"
    )]
    async fn post_message(
        &self,
        req: &Request,
        Data(service): Data<&CommandService>,
        Data(chat): Data<&Arc<WebChat>>,
        auth: ChatAuth,
        body: MessageBody,
    ) -> PostMessageResponse {
        let now = service.now();
        let request = body.0;
        let user_id = request.user_id;
        let username = request.username;
        let sender = match identify(req, chat, auth, user_id.as_deref(), now) {
            Ok(sender) => sender,
            Err(refused) => return refused,
        };
        if let Err(wait) = service.admit(user_of(&sender)) {
            return too_many(wait, "this user");
        }
        let inbound = Inbound {
            channel: Channel::Web,
            kind: if request.button.unwrap_or(false) {
                MessageKind::Button
            } else {
                MessageKind::Text
            },
            text: Some(request.text),
            message_id: None,
            chat_id: None,
            username: username.clone(),
            display_name: username,
            language: None,
            at: now,
            payments: false,
        };
        let live = match sender {
            Sender::Named(_) => Live::Any,
            Sender::Session { .. } => Live::Required,
        };
        let mut sender = sender;
        let mut handled = service
            .handle_if(user_of(&sender), &inbound, EventIds::Fresh, live)
            .await;
        if matches!(handled, Ok(Handled::Ended))
            && let Sender::Session { cookie: true, .. } = sender
        {
            // The page's user was erased: it goes on as a new anonymous shopper.
            let (session, token) = chat.sessions.start(now);
            sender = Sender::Session {
                session,
                token: Some(token),
                cookie: true,
            };
            handled = service
                .handle_if(user_of(&sender), &inbound, EventIds::Fresh, live)
                .await;
        }
        match handled {
            Ok(Handled::Answered { reply, .. }) => {
                let (user, session, set_cookie) = match sender {
                    Sender::Named(user) => (user, None, None),
                    Sender::Session {
                        session,
                        token,
                        cookie: true,
                    } => (
                        session.user,
                        None,
                        token.map(|t| chat.sessions.cookie(&t, is_https(req))),
                    ),
                    Sender::Session {
                        session,
                        token,
                        cookie: false,
                    } => (session.user, token, None),
                };
                PostMessageResponse::Ok(
                    Direct(MessageReply {
                        user_id: user.external().to_owned(),
                        reply: reply.text,
                        buttons: reply
                            .buttons
                            .into_iter()
                            .map(|b| ChatButton {
                                label: b.label,
                                data: b.data,
                            })
                            .collect(),
                        products: reply.products,
                        session,
                    }),
                    set_cookie,
                )
            }
            Ok(Handled::Ignored) => error(
                StatusCode::CONFLICT,
                "that button is not one the bot offers in this conversation",
            ),
            Ok(Handled::Ended) => error(
                StatusCode::UNAUTHORIZED,
                "this session ended (its user was erased); send without Authorization to start \
                 a new one",
            ),
            // Web messages get fresh ids: a duplicate would be a bug, not the caller's retry.
            Ok(Handled::Duplicate) => {
                tracing::error!("a web message's fresh event ids were stored already");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the message could not be recorded; please retry",
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "web message failed");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the message could not be recorded; please retry",
                )
            }
        }
    }
}

/// The ids a shop's backend may name: those of `UserId` for the web, not starting with `_`
/// (the server's own anonymous ids). `identify` checks exactly this, without a regex.
pub const USER_ID_PATTERN: &str = "^[A-Za-z0-9.-][A-Za-z0-9_.-]{0,63}$";

/// Adds to the spec (a document that describes [`ChatApi`]) what poem-openapi has no words
/// for: the `user_id` pattern (see [`USER_ID_PATTERN`]); a message takes no fields but its
/// own (`additionalProperties: false`; unknown ones are refused with 400), and its optional
/// fields may also be sent as `null`, meaning left out.
pub fn describe(spec: &mut serde_json::Value) {
    let Some(message) = spec["components"]["schemas"]
        .get_mut("MessageRequest")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    message.insert("additionalProperties".into(), false.into());
    if let Some(properties) = message
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        for optional in ["user_id", "username", "button"] {
            if let Some(p) = properties
                .get_mut(optional)
                .and_then(serde_json::Value::as_object_mut)
            {
                p.insert("nullable".into(), true.into());
            }
        }
        if let Some(p) = properties
            .get_mut("user_id")
            .and_then(serde_json::Value::as_object_mut)
        {
            p.insert("pattern".into(), USER_ID_PATTERN.into());
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_spec_names_the_cookie_the_page_gets() {
        let spec = poem_openapi::OpenApiService::new(super::ChatApi, "t", "1").spec();
        assert!(
            spec.contains(&format!("\"name\": \"{}\"", crate::web::session::COOKIE)),
            "{spec}"
        );
    }
}
