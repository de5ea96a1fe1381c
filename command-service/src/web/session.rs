//! Anonymous web sessions: a caller who does not come through the shop's backend never picks a
//! user id; the server issues one (`web:_anon-<32 hex>`) inside a signed token. The token is
//! `v1.<hex id>.<issued, unix seconds>.<HMAC-SHA256, base64url>`, keyed by a key derived from
//! `SALESBOT_MASTER_KEY`, so any instance verifies any session without a shared table. A session
//! lasts [`Sessions::lifetime`] from when it was issued; it is renewed (a new token) once half
//! of that has passed, and ends when its user is erased (the command path refuses it then).
//! See docs/architecture.md, "Web chat identity".

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use chrono::{DateTime, Utc};
use events_schema::{Channel, UserId};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// The cookie the `/chat` page's session travels in (HttpOnly, SameSite=Strict).
pub(crate) const COOKIE: &str = "salesbot_session";
/// Every anonymous user id starts with this; ids a shop's backend names may not.
pub(crate) const ANONYMOUS_PREFIX: &str = "_anon-";
/// How far in the future a token's issue time may be (clocks of instances differ a little).
const CLOCK_SKEW: i64 = 300;
/// The purpose the session key is derived for from the master key.
pub const KEY_PURPOSE: &str = "salesbot web chat sessions v1";

/// Issues and verifies session tokens.
#[derive(Clone)]
pub struct Sessions {
    key: [u8; 32],
    lifetime: Duration,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("key", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: UserId,
    /// Unix seconds.
    pub issued: i64,
}

/// Why a token was not accepted. The caller learns only that it was not (one message for
/// all), so a forger learns nothing from the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not a session token")]
    Malformed,
    #[error("the signature does not match")]
    Forged,
    #[error("the session has expired")]
    Expired,
}

impl Sessions {
    /// `key`: 32 secret bytes, the same on every instance (derive it from the master key with
    /// [`KEY_PURPOSE`]).
    pub fn new(key: [u8; 32], lifetime: Duration) -> Sessions {
        Sessions { key, lifetime }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// A new anonymous user and their token.
    pub fn start(&self, now: DateTime<Utc>) -> (Session, String) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let session = Session {
            user: anonymous_user(&id),
            issued: now.timestamp(),
        };
        let token = self.sign(&id, session.issued);
        (session, token)
    }

    /// A new token for the same user, issued `now`.
    pub(crate) fn renew(&self, session: &Session, now: DateTime<Utc>) -> (Session, String) {
        let id = session
            .user
            .external()
            .trim_start_matches(ANONYMOUS_PREFIX)
            .to_owned();
        let renewed = Session {
            user: session.user.clone(),
            issued: now.timestamp(),
        };
        let token = self.sign(&id, renewed.issued);
        (renewed, token)
    }

    /// A new token for the session when it is past half its lifetime, else `None`: what a
    /// reply hands out to keep a shopper's session going.
    pub(crate) fn renewal(&self, session: &Session, now: DateTime<Utc>) -> Option<String> {
        self.due_for_renewal(session, now)
            .then(|| self.renew(session, now).1)
    }

    /// Whether the session is past half its lifetime (then the reply carries a new token).
    pub(crate) fn due_for_renewal(&self, session: &Session, now: DateTime<Utc>) -> bool {
        now.timestamp() - session.issued > lifetime_secs(self.lifetime) / 2
    }

    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Session, SessionError> {
        let mut parts = token.split('.');
        let (Some("v1"), Some(id), Some(issued), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(SessionError::Malformed);
        };
        let well_formed = id.len() == 32
            && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && !issued.is_empty()
            && issued.len() <= 12
            && issued.bytes().all(|b| b.is_ascii_digit());
        let issued_at = match issued.parse::<i64>() {
            Ok(n) if well_formed => n,
            _ => return Err(SessionError::Malformed),
        };
        let mac = BASE64URL.decode(mac).map_err(|_| SessionError::Malformed)?;
        self.mac(id, issued_at)
            .verify_slice(&mac)
            .map_err(|_| SessionError::Forged)?;
        let now = now.timestamp();
        if issued_at > now + CLOCK_SKEW || now - issued_at >= lifetime_secs(self.lifetime) {
            return Err(SessionError::Expired);
        }
        Ok(Session {
            user: anonymous_user(id),
            issued: issued_at,
        })
    }

    /// The `Set-Cookie` value carrying `token` to the `/chat` page: HttpOnly (the page's script
    /// never sees it), SameSite=Strict (no other site's page can send it), for the whole
    /// lifetime; `Secure` when the page was served over https.
    pub fn cookie(&self, token: &str, secure: bool) -> String {
        format!(
            "{COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
            lifetime_secs(self.lifetime),
            if secure { "; Secure" } else { "" }
        )
    }

    fn sign(&self, id: &str, issued: i64) -> String {
        let mac = self.mac(id, issued).finalize().into_bytes();
        format!("v1.{id}.{issued}.{}", BASE64URL.encode(mac))
    }

    fn mac(&self, id: &str, issued: i64) -> Hmac<Sha256> {
        // Any key length is valid for HMAC, so this cannot fail.
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"v1.");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(issued.to_string().as_bytes());
        mac
    }
}

fn lifetime_secs(lifetime: Duration) -> i64 {
    i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)
}

fn anonymous_user(hex_id: &str) -> UserId {
    // `_anon-` and 32 hex digits is a valid web id (38 characters of the allowed set).
    UserId::new(Channel::Web, &format!("{ANONYMOUS_PREFIX}{hex_id}"))
        .unwrap_or_else(|_| unreachable!("an anonymous id is a valid web user id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> Sessions {
        Sessions::new([7; 32], Duration::from_secs(3_600))
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn a_token_names_its_anonymous_user_until_it_expires() {
        let s = sessions();
        let (session, token) = s.start(at(0));
        assert!(
            session.user.as_str().starts_with("web:_anon-"),
            "{session:?}"
        );
        assert_eq!(s.verify(&token, at(10)), Ok(session.clone()));
        assert_eq!(s.verify(&token, at(3_599)), Ok(session));
        assert_eq!(s.verify(&token, at(3_600)), Err(SessionError::Expired));
        assert_eq!(s.verify(&token, at(-400)), Err(SessionError::Expired));
    }

    #[test]
    fn another_key_or_any_changed_character_is_refused() {
        let (_, token) = sessions().start(at(0));
        let other = Sessions::new([8; 32], Duration::from_secs(3_600));
        assert_eq!(other.verify(&token, at(1)), Err(SessionError::Forged));
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap_or_default();
            if changed != token {
                assert!(sessions().verify(&changed, at(1)).is_err(), "{changed}");
            }
        }
        for junk in [
            "",
            "v1",
            "v1...",
            "v2.a.b.c",
            &format!("{token}.x"),
            "v1.0.0.0",
        ] {
            assert!(sessions().verify(junk, at(1)).is_err(), "{junk}");
        }
    }

    #[test]
    fn renewal_keeps_the_user_with_a_later_issue_time() {
        let s = sessions();
        let (session, _) = s.start(at(0));
        assert!(!s.due_for_renewal(&session, at(1_800)));
        assert!(s.due_for_renewal(&session, at(1_801)));
        let (renewed, token) = s.renew(&session, at(1_801));
        assert_eq!(renewed.user, session.user);
        assert_eq!(s.verify(&token, at(5_000)), Ok(renewed));
    }

    #[test]
    fn the_cookie_is_http_only_and_strict() {
        let cookie = sessions().cookie("v1.x", false);
        assert_eq!(
            cookie,
            "salesbot_session=v1.x; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict"
        );
        assert!(sessions().cookie("t", true).ends_with("; Secure"));
    }
}
