//! Who sends a chat message: the ways in a request may take (`X-Chat-Key`, a session as
//! `Authorization: Bearer`, the `/chat` page's cookie, or none), declared as security schemes for
//! the spec, and checked here (docs/architecture.md, "Web chat identity").

use poem::Request;
use poem::http::StatusCode;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use events_schema::{Channel, UserId};

use super::WebChat;
use super::api::{PostMessageResponse, error, too_many};
use super::session::Session;

/// `X-Chat-Key: $CHAT_API_KEY`: the shop's backend, naming its users.
#[derive(Debug, SecurityScheme)]
#[oai(
    rename = "ChatKey",
    ty = "api_key",
    key_name = "X-Chat-Key",
    key_in = "header"
)]
pub(super) struct ChatKey(ApiKey);

/// `Authorization: Bearer <session>`: an anonymous session, as issued in a reply's `session`.
#[derive(Debug, SecurityScheme)]
#[oai(rename = "Session", ty = "bearer")]
pub(super) struct SessionBearer(Bearer);

/// The `/chat` page's session cookie (HttpOnly, SameSite=Strict; set by `GET /chat`).
#[derive(Debug, SecurityScheme)]
#[oai(
    rename = "SessionCookie",
    ty = "api_key",
    key_name = "salesbot_session",
    key_in = "cookie"
)]
pub(super) struct SessionCookie(ApiKey);

/// The way in a request took; none at all starts a new anonymous session. The values are only
/// taken here, and checked by the handler, so that a wrong one is refused rather than treated
/// as no credentials.
#[derive(Debug, SecurityScheme)]
pub(super) enum ChatAuth {
    Key(ChatKey),
    Bearer(SessionBearer),
    Cookie(SessionCookie),
    #[oai(fallback)]
    Anonymous,
}

/// Who sends the message, once the credentials are checked.
pub(super) enum Sender {
    /// Named by the shop's backend.
    Named(UserId),
    /// An anonymous session: the token to hand out (new or renewed), and how.
    Session {
        session: Session,
        token: Option<String>,
        cookie: bool,
    },
}

/// Who sends the message, from the way in the request took; a refusal writes nothing.
///
/// - `X-Chat-Key` (the shop's backend): with `user_id`, that user; without, an anonymous
///   session it relays (`Authorization: Bearer`, or a new one). No address limit: a backend
///   speaks for many shoppers from one address.
/// - Otherwise `user_id` is refused, the address limit applies, and the session comes from
///   `Authorization: Bearer` (401 when not valid), the page's cookie (a new one when not
///   valid: the page goes on as a new shopper), or is started.
// The refusal is the route's response itself, returned once per request: boxing it would only
// add an allocation.
#[allow(clippy::result_large_err)]
pub(super) fn identify(
    req: &Request,
    chat: &WebChat,
    auth: ChatAuth,
    user_id: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Sender, PostMessageResponse> {
    let keyed = match &auth {
        ChatAuth::Key(key) if !chat.chat_key_matches(&key.0.key) => {
            return Err(error(
                StatusCode::UNAUTHORIZED,
                "X-Chat-Key is not this shop's key",
            ));
        }
        ChatAuth::Key(_) => true,
        _ => false,
    };
    if let Some(id) = user_id {
        if !keyed {
            return Err(error(
                StatusCode::FORBIDDEN,
                "user_id may only be sent by the shop's backend, with X-Chat-Key; leave it out \
                 to chat in a session",
            ));
        }
        return match UserId::new(Channel::Web, id) {
            Ok(user) if !id.starts_with('_') => Ok(Sender::Named(user)),
            _ => Err(error(
                StatusCode::BAD_REQUEST,
                "user_id: 1-64 of letters, digits, `_`, `-`, `.`, not starting with `_`",
            )),
        };
    }
    if !keyed && let Err(wait) = chat.per_address.check(&chat.address(req)) {
        return Err(too_many(wait, "this address"));
    }
    let continued = |session: Session, cookie: bool| {
        let token = chat.sessions.renewal(&session, now);
        Sender::Session {
            session,
            token,
            cookie,
        }
    };
    let started = |cookie: bool| {
        let (session, token) = chat.sessions.start(now);
        Sender::Session {
            session,
            token: Some(token),
            cookie,
        }
    };
    if let ChatAuth::Cookie(cookie) = &auth {
        // A cookie that expired (or whose key changed) starts a new one: the page goes on as
        // a new anonymous shopper.
        return Ok(match chat.sessions.verify(&cookie.0.key, now) {
            Ok(session) => continued(session, true),
            Err(_) => started(true),
        });
    }
    let bearer = match &auth {
        ChatAuth::Bearer(bearer) => Some(bearer.0.token.as_str()),
        // The shop's backend relaying a session, or a header that is not `Bearer <token>`.
        _ => match req.header(poem::http::header::AUTHORIZATION) {
            None => None,
            Some(value) => Some(
                value
                    .strip_prefix("Bearer ")
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        error(
                            StatusCode::UNAUTHORIZED,
                            "Authorization must be `Bearer <session>`",
                        )
                    })?,
            ),
        },
    };
    let Some(token) = bearer else {
        return Ok(started(false));
    };
    match chat.sessions.verify(token, now) {
        Ok(session) => Ok(continued(session, false)),
        Err(why) => {
            tracing::debug!(%why, "session token refused");
            Err(error(
                StatusCode::UNAUTHORIZED,
                "the session is not valid or has expired; send without Authorization to start \
                 a new one",
            ))
        }
    }
}

pub(super) fn user_of(sender: &Sender) -> &UserId {
    match sender {
        Sender::Named(user) => user,
        Sender::Session { session, .. } => &session.user,
    }
}
