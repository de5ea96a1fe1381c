//! User ids (`<channel>:<external id>`) and stream ids (`user-<user id>`).

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a shopper talks to the bot. Each channel is its own id space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Telegram,
    Web,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Web => "web",
        }
    }
}

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error(
        "user id `{0}` must look like `<channel>:<id>`, e.g. `telegram:424242001` or `web:ana`"
    )]
    Shape(String),
    #[error("unknown channel `{0}` (expected `telegram` or `web`)")]
    Channel(String),
    #[error(
        "the id part of `{0}` must be 1 to 64 characters of letters, digits, `_`, `-` or `.` \
         (ids are never erased, so they must not be personal data such as an email address)"
    )]
    External(String),
    #[error("a telegram user id must be a number, got `{0}`")]
    TelegramNotNumeric(String),
}

/// A user: `<channel>:<external id>`, e.g. `telegram:424242001` or `web:ana`.
///
/// The channel prefix is part of the identity, so a web user can never write as a Telegram user.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Builds the id of a user on `channel` from the channel's own id for them.
    pub fn new(channel: Channel, external: &str) -> Result<Self, IdError> {
        validate_external(channel, external)?;
        Ok(UserId(format!("{}:{external}", channel.as_str())))
    }

    pub fn channel(&self) -> Channel {
        if self.0.starts_with("telegram:") {
            Channel::Telegram
        } else {
            Channel::Web
        }
    }

    /// The channel's own id for the user (the part after the colon).
    pub fn external(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, e)| e)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream holding this user's events.
    pub fn stream_id(&self) -> StreamId {
        StreamId(format!("{}{}", StreamId::USER_PREFIX, self.0))
    }
}

fn validate_external(channel: Channel, external: &str) -> Result<(), IdError> {
    let ok_len = !external.is_empty() && external.len() <= 64;
    let ok_chars = external
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !ok_len || !ok_chars {
        return Err(IdError::External(format!(
            "{}:{external}",
            channel.as_str()
        )));
    }
    if channel == Channel::Telegram && external.parse::<i64>().is_err() {
        return Err(IdError::TelegramNotNumeric(external.to_owned()));
    }
    Ok(())
}

impl FromStr for UserId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (channel, external) = s
            .split_once(':')
            .ok_or_else(|| IdError::Shape(s.to_owned()))?;
        let channel = match channel {
            "telegram" => Channel::Telegram,
            "web" => Channel::Web,
            other => return Err(IdError::Channel(other.to_owned())),
        };
        UserId::new(channel, external)
    }
}

impl TryFrom<String> for UserId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> Self {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of one stream of events. Every stream salesbot writes belongs to one user:
/// `user-<user id>`, e.g. `user-telegram:424242001`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct StreamId(String);

impl StreamId {
    pub const USER_PREFIX: &'static str = "user-";

    /// Accepts any non-empty stream id of at most 200 bytes; user streams are recognised by
    /// their prefix.
    pub fn new(id: impl Into<String>) -> Result<Self, IdError> {
        let id = id.into();
        if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) {
            return Err(IdError::Shape(id));
        }
        Ok(StreamId(id))
    }

    /// The user whose stream this is, if it is a user stream.
    pub fn user_id(&self) -> Option<UserId> {
        self.user_str().map(|id| UserId(id.to_owned()))
    }

    /// The same as text (`telegram:42` of `user-telegram:42`), borrowed: for readers that see
    /// every event and only need the text.
    pub fn user_str(&self) -> Option<&str> {
        let id = self.0.strip_prefix(Self::USER_PREFIX)?;
        let (channel, external) = id.split_once(':')?;
        let channel = match channel {
            "telegram" => Channel::Telegram,
            "web" => Channel::Web,
            _ => return None,
        };
        validate_external(channel, external).ok()?;
        Some(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The partition (0..`partitions`) this stream's events travel in: a stable hash (64-bit
    /// FNV-1a) of the stream id, so one user's events always share a partition, in order.
    /// Every process must agree on it, so it never changes.
    pub fn partition(&self, partitions: u32) -> u32 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let hash = self
            .0
            .bytes()
            .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
        u32::try_from(hash % u64::from(partitions.max(1))).unwrap_or(0)
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        let stream = |n: u32| StreamId::new(format!("user-web:u{n}")).expect("valid");
        // Pinned: every process, version and platform must put a stream in the same partition.
        assert_eq!(stream(1).partition(8), stream(1).partition(8));
        assert_eq!(
            StreamId::new("user-telegram:424242001")
                .expect("valid")
                .partition(8),
            PINNED_PARTITION
        );
        let mut counts = [0u32; 8];
        for n in 0..8000 {
            counts[stream(n).partition(8) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
        assert_eq!(stream(7).partition(1), 0);
        assert_eq!(stream(7).partition(0), 0);
    }

    const PINNED_PARTITION: u32 = 5;

    #[test]
    fn user_ids_round_trip_through_their_stream() {
        let id: UserId = "telegram:424242001".parse().expect("valid");
        assert_eq!(id.channel(), Channel::Telegram);
        assert_eq!(id.external(), "424242001");
        assert_eq!(id.stream_id().as_str(), "user-telegram:424242001");
        assert_eq!(id.stream_id().user_id(), Some(id));
    }

    #[test]
    fn bad_user_ids_are_refused_with_a_reason() {
        assert!(matches!("ana".parse::<UserId>(), Err(IdError::Shape(_))));
        assert!(matches!(
            "sms:1".parse::<UserId>(),
            Err(IdError::Channel(_))
        ));
        assert!(matches!(
            "web:".parse::<UserId>(),
            Err(IdError::External(_))
        ));
        assert!(matches!(
            "web:a b".parse::<UserId>(),
            Err(IdError::External(_))
        ));
        assert!(matches!(
            "web:ana@example.com".parse::<UserId>(),
            Err(IdError::External(_))
        ));
        assert!(matches!(
            "telegram:ana".parse::<UserId>(),
            Err(IdError::TelegramNotNumeric(_))
        ));
        // A web user cannot smuggle a telegram id in: the channel prefix is part of the id.
        let web = UserId::new(Channel::Web, "telegram").expect("valid web id");
        assert_eq!(web.as_str(), "web:telegram");
        assert!(UserId::new(Channel::Web, "telegram:1").is_err());
    }
}
