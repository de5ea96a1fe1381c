//! The web chat: `POST /api/messages` (a message → the bot's reply, described in the OpenAPI
//! spec by [`ChatApi`]) and the `/chat` page. Web users live in their own id space
//! (`web:<id>`), so no request here can ever write as a Telegram user.
//!
//! Who a web user is (docs/architecture.md, "Web chat identity"):
//! - a shop's own backend, which has authenticated its users, names them: `user_id` in the
//!   body with `X-Chat-Key: $CHAT_API_KEY`;
//! - anyone else gets a server-issued anonymous session ([`session`]): its token comes back in
//!   the first reply (`session`) and is sent back as `Authorization: Bearer <token>`; the
//!   `/chat` page gets it as an HttpOnly, SameSite=Strict cookie instead, so its script never
//!   sees it. Nobody without the key can choose an id.

mod api;
mod guard;
mod identity;
pub mod session;

use std::net::IpAddr;
use std::sync::Arc;

use poem::middleware::CookieJarManager;
use poem::web::cookie::CookieJar;
use poem::web::{Data, Html};
use poem::{EndpointExt as _, IntoResponse as _, Request, Response, Route, get, handler};
use subtle::ConstantTimeEq as _;

pub use api::{ChatApi, describe};
pub use session::Sessions;

use crate::limits::{Limiter, Rate};
use crate::service::CommandService;

/// Largest request body accepted (413 above).
pub(crate) const MAX_BODY_BYTES: usize = 16 * 1024;
/// Longest message text accepted, in characters (400 above: the spec's `maxLength`).
pub(crate) const MAX_TEXT_CHARS: usize = 2_000;
/// Longest `username`, in characters.
pub(crate) const MAX_USERNAME_CHARS: usize = 64;

/// How the web chat knows its callers.
#[derive(Debug)]
pub struct WebConfig {
    /// `CHAT_API_KEY`: lets a shop's backend name its users. Unset: sessions only.
    pub chat_api_key: Option<String>,
    pub sessions: Sessions,
    /// Requests per network address of callers without `X-Chat-Key`.
    pub address_rate: Rate,
    /// Take the caller's address from the last `X-Forwarded-For` entry (behind a reverse
    /// proxy that sets it), not from the connection.
    pub trust_forwarded_for: bool,
}

/// The web chat's state, shared by its routes.
#[derive(Debug)]
pub(crate) struct WebChat {
    /// SHA-256 of `CHAT_API_KEY`, so comparing takes the same time whatever key is tried.
    chat_key: Option<[u8; 32]>,
    sessions: Sessions,
    per_address: Limiter<IpAddr>,
    trust_forwarded_for: bool,
}

impl WebChat {
    fn new(config: WebConfig) -> WebChat {
        WebChat {
            chat_key: config.chat_api_key.as_deref().map(digest),
            sessions: config.sessions,
            per_address: Limiter::new(config.address_rate),
            trust_forwarded_for: config.trust_forwarded_for,
        }
    }

    fn chat_key_matches(&self, tried: &str) -> bool {
        self.chat_key
            .is_some_and(|key| bool::from(key.ct_eq(&digest(tried))))
    }

    /// The address a caller's allowance is kept under: IPv4 as it is, IPv6 by its /64 (one
    /// subscriber's whole network, which is what one host can cheaply choose from).
    fn address(&self, req: &Request) -> IpAddr {
        let forwarded = self
            .trust_forwarded_for
            .then(|| req.header("x-forwarded-for"))
            .flatten()
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let ip = forwarded
            .or_else(|| req.remote_addr().as_socket_addr().map(|a| a.ip()))
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(std::net::Ipv6Addr::from(
                    u128::from(v6) & !((1u128 << 64) - 1),
                )),
            },
            v4 => v4,
        }
    }
}

fn digest(key: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes()).into()
}

/// Whether the page was served over https (directly, or as the proxy in front says).
fn is_https(req: &Request) -> bool {
    req.uri().scheme_str() == Some("https")
        || req
            .header("x-forwarded-proto")
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// The web chat's routes: `POST /api/messages` and `GET /chat`. The server adds
/// `.data(service)` with a [`crate::service::CommandService`].
pub fn routes(config: WebConfig) -> Route {
    let chat = Arc::new(WebChat::new(config));
    let api = poem_openapi::OpenApiService::new(ChatApi, "salesbot web chat", "1")
        .data(chat.clone())
        .with(CookieJarManager::new())
        .around(guard::limit_body)
        .catch_all_error(guard::json_error);
    Route::new().nest_no_strip("/api/messages", api).at(
        "/chat",
        get(chat_page).data(chat).with(CookieJarManager::new()),
    )
}

/// The chat page. It gets a session cookie here unless it holds a valid one already, so its
/// first message is already a session's (and its script never handles a token).
#[handler]
fn chat_page(
    req: &Request,
    jar: &CookieJar,
    Data(chat): Data<&Arc<WebChat>>,
    Data(service): Data<&CommandService>,
) -> Response {
    let now = service.now();
    let held = jar
        .get(session::COOKIE)
        .and_then(|c| chat.sessions.verify(c.value_str(), now).ok());
    let fresh = match held {
        Some(s) => chat.sessions.renewal(&s, now),
        None => Some(chat.sessions.start(now).1),
    };
    let mut response = Html(include_str!("../../static/chat.html")).into_response();
    if let Some(token) = fresh
        && let Ok(value) = chat.sessions.cookie(&token, is_https(req)).parse()
    {
        response
            .headers_mut()
            .append(poem::http::header::SET_COOKIE, value);
    }
    response.headers_mut().insert(
        poem::http::header::CACHE_CONTROL,
        poem::http::HeaderValue::from_static("no-store"),
    );
    response
}
