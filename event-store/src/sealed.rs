//! Personal text in the read tables (a message's text, a user's names), sealed under the user's
//! data key, and the keyed hashes that let the admin search users by name without the names
//! (docs/architecture.md, invariant 8, "Personal text in the read tables").
//!
//! A read-table row is rewritten, deleted and vacuumed on its own schedule: the old versions
//! live on as dead tuples, freed pages, WAL frames and in backups. Sealed, they are noise once
//! the user's key is destroyed, wherever a copy went.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use hmac::{Hmac, Mac as _};
use unicode_normalization::UnicodeNormalization as _;
use uuid::Uuid;

use crate::crypto::UserKey;
use crate::{EventStore, StoreError, Tx, db};

/// What a sealed value starts with (the format's version): `s1:` then base64 of
/// `key_id (16 bytes) || nonce (24) || ciphertext`.
const PREFIX: &str = "s1:";

/// Users per key lookup (one statement each).
const USERS_PER_QUERY: usize = 1_000;

/// What a sealed value is bound to: its table, column, user and key. A value copied into
/// another row, column or table does not open.
fn aad(table: &str, column: &str, user_id: &str, key_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(48 + table.len() + column.len() + user_id.len());
    aad.extend_from_slice(b"salesbot read table v1\0");
    for part in [table, column, user_id] {
        aad.extend_from_slice(part.as_bytes());
        aad.push(0);
    }
    aad.extend_from_slice(key_id.as_bytes());
    aad
}

/// The live data keys of some users, to seal the text the projector writes for them or open
/// what the query API reads ([`EventStore::read_keys`]). A user without a live key (erased, or
/// unknown) has none here: nothing is sealed for them and nothing of theirs opens.
#[derive(Debug, Default, Clone)]
pub struct ReadKeys {
    keys: HashMap<String, (Uuid, UserKey)>,
}

impl ReadKeys {
    /// `plaintext` sealed for `table.column` of `user_id`'s row; `None` when the user has no
    /// live key (then nothing may be written in plain either).
    pub fn seal(
        &self,
        table: &str,
        column: &str,
        user_id: &str,
        plaintext: &str,
    ) -> Option<String> {
        let (key_id, key) = self.keys.get(user_id)?;
        let sealed = key
            .seal(plaintext.as_bytes(), &aad(table, column, user_id, *key_id))
            .ok()?;
        let mut bytes = Vec::with_capacity(16 + sealed.len());
        bytes.extend_from_slice(key_id.as_bytes());
        bytes.extend_from_slice(&sealed);
        Some(format!("{PREFIX}{}", BASE64.encode(bytes)))
    }

    /// The text sealed in `table.column` of `user_id`'s row; `None` when the key it was
    /// sealed under is not live (the user was erased), or the value is not one this store
    /// sealed for that place.
    pub fn open(&self, table: &str, column: &str, user_id: &str, sealed: &str) -> Option<String> {
        let bytes = BASE64.decode(sealed.strip_prefix(PREFIX)?).ok()?;
        if bytes.len() < 16 {
            return None;
        }
        let (id, sealed) = bytes.split_at(16);
        let (key_id, key) = self.keys.get(user_id)?;
        if id != key_id.as_bytes() {
            return None;
        }
        let plain = key
            .open(sealed, &aad(table, column, user_id, *key_id))
            .ok()?;
        String::from_utf8(plain).ok()
    }

    /// Whether `user_id` has a live key here.
    pub fn has(&self, user_id: &str) -> bool {
        self.keys.contains_key(user_id)
    }
}

/// Keyed hashes (HMAC-SHA256 under a key derived from the master key, cut to 96 bits, hex) of
/// normalised names and their prefixes: what searching users by name compares
/// ([`EventStore::name_index`]). The master key itself is never the HMAC key.
#[derive(Clone)]
pub struct NameIndex {
    key: [u8; 32],
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameIndex(<redacted>)")
    }
}

/// Prefixes up to this many characters (of the whole name and of each of its words) are
/// searchable; a longer search term matches only a whole name or word.
pub const NAME_PREFIX_CHARS: usize = 16;

/// A name as search compares it: Unicode NFKC, lowercase, trimmed, inner runs of white space
/// as one space.
pub fn normalise_name(name: &str) -> String {
    let folded: String = name.nfkc().collect::<String>().to_lowercase();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl NameIndex {
    /// The hash of one normalised term.
    fn hash(&self, term: &str) -> String {
        // HMAC takes a key of any length, so this cannot fail.
        let mut mac = <Hmac<sha2::Sha256>>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts 32-byte keys"));
        mac.update(term.as_bytes());
        let digest = mac.finalize().into_bytes();
        digest[..12].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// What a users row stores for its names: the hashes of each name whole, of each word of
    /// it, and of their prefixes of 1 to [`NAME_PREFIX_CHARS`] characters, space separated
    /// and space delimited (` h1 h2 … `), so `LIKE '% h %'` finds one. `None` without names.
    pub fn hashes<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
        let mut terms = std::collections::BTreeSet::new();
        for name in names {
            let name = normalise_name(name);
            if name.is_empty() {
                continue;
            }
            let words: Vec<&str> = name.split(' ').collect();
            for whole in std::iter::once(name.as_str()).chain(words) {
                terms.insert(whole.to_owned());
                for (n, (i, c)) in whole.char_indices().enumerate() {
                    if n >= NAME_PREFIX_CHARS {
                        break;
                    }
                    terms.insert(whole[..i + c.len_utf8()].to_owned());
                }
            }
        }
        if terms.is_empty() {
            return None;
        }
        let mut hashes: Vec<String> = terms.iter().map(|t| self.hash(t)).collect();
        hashes.sort_unstable();
        Some(format!(" {} ", hashes.join(" ")))
    }

    /// The `LIKE` pattern that finds rows whose names (or a word of them) are `term` or start
    /// with it; `None` for a term that normalises to nothing.
    pub fn pattern(&self, term: &str) -> Option<String> {
        let term = normalise_name(term);
        (!term.is_empty()).then(|| format!("% {} %", self.hash(&term)))
    }
}

impl EventStore {
    /// The live data keys of `users`, read from `user_keys` now (a key destroyed by another
    /// process is not live here either).
    pub async fn read_keys(&self, users: &[&str]) -> Result<ReadKeys, StoreError> {
        let mut rows = Vec::new();
        for chunk in users.chunks(USERS_PER_QUERY) {
            rows.extend(
                live_keys_query(chunk)
                    .fetch_all::<(String, Uuid, Vec<u8>)>(self.pool())
                    .await?,
            );
        }
        self.unwrap_all(rows)
    }

    /// The same inside `tx` (the projector's batch, which must not wait for another
    /// connection while it holds one).
    pub async fn read_keys_in(&self, tx: &mut Tx, users: &[&str]) -> Result<ReadKeys, StoreError> {
        let mut rows = Vec::new();
        for chunk in users.chunks(USERS_PER_QUERY) {
            rows.extend(
                live_keys_query(chunk)
                    .fetch_all::<(String, Uuid, Vec<u8>)>(&mut *tx)
                    .await?,
            );
        }
        self.unwrap_all(rows)
    }

    /// The keyed hash of names for user search, under a key derived from the master key.
    pub fn name_index(&self) -> NameIndex {
        NameIndex {
            key: self
                .shared
                .keys
                .master()
                .derive("salesbot user name search v1"),
        }
    }

    fn unwrap_all(&self, rows: Vec<(String, Uuid, Vec<u8>)>) -> Result<ReadKeys, StoreError> {
        let mut keys = HashMap::with_capacity(rows.len());
        for (user_id, key_id, wrapped) in rows {
            let key = self.shared.keys.unwrap(key_id, &user_id, &wrapped)?;
            keys.insert(user_id, (key_id, key));
        }
        Ok(ReadKeys { keys })
    }
}

fn live_keys_query(users: &[&str]) -> db::Query<'static> {
    db::query(format!(
        "SELECT user_id, key_id, wrapped_key FROM user_keys \
         WHERE wrapped_key IS NOT NULL AND user_id IN ({})",
        db::placeholders(1, users.len())
    ))
    .bind_all(users.iter().map(|u| db::Value::from(*u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(user: &str) -> ReadKeys {
        let mut keys = ReadKeys::default();
        keys.keys
            .insert(user.to_owned(), (Uuid::now_v7(), UserKey::generate()));
        keys
    }

    #[test]
    fn sealed_text_opens_only_in_its_place_under_its_key() {
        let eve = keys("web:eve");
        let sealed = eve
            .seal(
                "conversation_messages",
                "text",
                "web:eve",
                "violet harmonica",
            )
            .expect("a live key");
        assert!(!sealed.contains("violet"));
        assert_eq!(
            eve.open("conversation_messages", "text", "web:eve", &sealed)
                .as_deref(),
            Some("violet harmonica")
        );
        assert_eq!(eve.open("users", "username", "web:eve", &sealed), None);
        assert_eq!(
            eve.open("conversation_messages", "text", "web:bob", &sealed),
            None
        );
        assert_eq!(
            keys("web:eve").open("conversation_messages", "text", "web:eve", &sealed),
            None
        );
        assert_eq!(
            eve.open("conversation_messages", "text", "web:eve", "plain"),
            None
        );
        assert_eq!(
            keys("web:bob").seal("users", "username", "web:eve", "x"),
            None
        );
    }

    #[test]
    fn names_match_whole_by_word_and_by_prefix_after_normalising() {
        let index = NameIndex { key: [7; 32] };
        let stored = index
            .hashes(["  Ｅvangeline   THISTLEWAITE "])
            .expect("hashes");
        let finds = |term: &str| {
            let pattern = index.pattern(term).expect("a term");
            let needle = pattern.trim_matches('%');
            stored.contains(needle)
        };
        for term in [
            "evangeline thistlewaite",
            "Evangeline",
            "eva",
            "e",
            "thistle",
            "THISTLEWAITE",
            "evangeline  thi",
        ] {
            assert!(finds(term), "{term}");
        }
        for term in ["vangeline", "waite", "bob", "evangeline thistlewaitex"] {
            assert!(!finds(term), "{term}");
        }
        assert!(!stored.to_lowercase().contains("evangeline"));
        assert_eq!(index.hashes([" ", ""]), None);
        assert_eq!(index.pattern("  "), None);
        let other = NameIndex { key: [8; 32] };
        assert_ne!(other.pattern("eva"), index.pattern("eva"), "keyed");
    }
}
