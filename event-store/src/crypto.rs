//! Crypto-shredding: personal payload fields are sealed (XChaCha20-Poly1305) with a per-user
//! key; per-user keys are stored wrapped by the master key, outside the log. Destroying a user's
//! key makes their personal fields unreadable while the log itself never changes.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use serde_json::{Map, Value};
use uuid::Uuid;

const NONCE_LEN: usize = 24;

/// The AEAD failed: wrong key, or the bytes were changed.
#[derive(Debug, thiserror::Error)]
#[error("decryption failed (wrong key or altered data)")]
pub struct CryptoError;

/// The key that wraps every per-user key (`SALESBOT_MASTER_KEY`, 32 bytes, base64).
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        MasterKey(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// Parses 32 bytes given as standard base64 (what `generate` writes).
    pub fn from_base64(text: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        if bytes.len() != 32 {
            return Err(format!(
                "must be 32 bytes, base64-encoded (e.g. `openssl rand -base64 32`), got {} bytes",
                bytes.len()
            ));
        }
        Ok(MasterKey(*Key::from_slice(&bytes)))
    }

    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_slice())
    }

    /// A key for another purpose (HKDF-SHA256 with `purpose` as its info), so that one secret
    /// the operator keeps protects several things without any of them revealing the master key
    /// or each other: e.g. the web chat's session tokens, which every instance must verify.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32), so expand cannot fail.
        let _ = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"salesbot"), self.0.as_slice())
            .expand(purpose.as_bytes(), &mut out);
        out
    }

    /// Reads the key file (tightened to mode 0600 if an older version left it looser), or
    /// creates it (0600, in a folder only its owner may open) with a new key if it does not
    /// exist.
    pub fn load_or_generate(path: &Path) -> std::io::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                crate::private::tighten_file(path)?;
                MasterKey::from_base64(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("master key file {}: {e}", path.display()),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = MasterKey::generate();
                if let Some(dir) = path.parent() {
                    crate::private::create_dir(dir)?;
                }
                write_private(path, &key.to_base64())?;
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    /// Wraps a user key; the key id and user id are bound in, so a wrapped key moved to another
    /// row or user does not unwrap.
    pub(crate) fn wrap(
        &self,
        key: &UserKey,
        key_id: Uuid,
        user_id: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, key.0.as_slice(), &wrap_aad(key_id, user_id))
    }

    pub(crate) fn unwrap(
        &self,
        wrapped: &[u8],
        key_id: Uuid,
        user_id: &str,
    ) -> Result<UserKey, CryptoError> {
        let bytes = open(&self.0, wrapped, &wrap_aad(key_id, user_id))?;
        if bytes.len() != 32 {
            return Err(CryptoError);
        }
        Ok(UserKey(*Key::from_slice(&bytes)))
    }

    /// A value sealed with this key, stored once per database so that a wrong master key is
    /// refused at start-up instead of making every user look erased.
    pub(crate) fn check_value(&self) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, CHECK_PLAINTEXT, CHECK_AAD)
    }

    /// The check value a backup carries (`salesbot export-log`): HKDF of this key for a fixed
    /// purpose, base64. It tells whether two keys are the same and nothing about either.
    pub fn backup_check(&self) -> String {
        BASE64.encode(self.derive("salesbot export-log master key check v1"))
    }

    pub(crate) fn verify_check_value(&self, sealed: &[u8]) -> bool {
        open(&self.0, sealed, CHECK_AAD).is_ok_and(|p| p == CHECK_PLAINTEXT)
    }
}

const CHECK_PLAINTEXT: &[u8] = b"salesbot master key check v1";

fn wrap_aad(key_id: Uuid, user_id: &str) -> Vec<u8> {
    let mut aad = key_id.as_bytes().to_vec();
    aad.extend_from_slice(user_id.as_bytes());
    aad
}

/// What a sealed personal-data blob is bound to: its event, stream and key. A blob copied onto
/// another event does not open.
pub(crate) fn event_aad(event_id: Uuid, stream_id: &str, key_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(32 + stream_id.len());
    aad.extend_from_slice(event_id.as_bytes());
    aad.extend_from_slice(key_id.as_bytes());
    aad.extend_from_slice(stream_id.as_bytes());
    aad
}
const CHECK_AAD: &[u8] = b"salesbot";

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, format!("{text}\n"))
}

/// One user's data key.
#[derive(Clone)]
pub(crate) struct UserKey(Key);

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UserKey(<redacted>)")
    }
}

impl UserKey {
    pub(crate) fn generate() -> Self {
        UserKey(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    pub(crate) fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, plaintext, aad)
    }

    pub(crate) fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open(&self.0, sealed, aad)
    }
}

/// `nonce || ciphertext`, with a fresh random 192-bit nonce (safe to draw at random).
fn seal(key: &Key, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let cipher = XChaCha20Poly1305::new(key);
    let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| CryptoError)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(key: &Key, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN {
        return Err(CryptoError);
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    XChaCha20Poly1305::new(key)
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError)
}

/// Moves the personal `fields` out of `payload` into their own object (absent when none of
/// them holds a value).
pub(crate) fn split_personal(payload: &mut Value, fields: &[&str]) -> Option<Map<String, Value>> {
    let object = payload.as_object_mut()?;
    let mut personal = Map::new();
    for field in fields {
        if let Some(value) = object.remove(*field)
            && !value.is_null()
        {
            personal.insert((*field).to_owned(), value);
        }
    }
    (!personal.is_empty()).then_some(personal)
}

/// Puts personal fields back; every field of `fields` is present afterwards (`null` if it had
/// no value or the values are gone).
pub(crate) fn merge_personal(
    payload: &mut Value,
    fields: &[&str],
    personal: Option<Map<String, Value>>,
) {
    let Some(object) = payload.as_object_mut() else {
        return;
    };
    for field in fields {
        object.entry(*field).or_insert(Value::Null);
    }
    for (k, v) in personal.into_iter().flatten() {
        object.insert(k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let key = UserKey::generate();
        let sealed = key.seal(b"hello", b"event-1").expect("seals");
        assert_eq!(key.open(&sealed, b"event-1").expect("opens"), b"hello");
        assert!(key.open(&sealed, b"event-2").is_err());
        assert!(UserKey::generate().open(&sealed, b"event-1").is_err());
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
    }

    #[test]
    fn user_keys_wrap_and_unwrap_with_the_master_key() {
        let master = MasterKey::generate();
        let key = UserKey::generate();
        let id = Uuid::now_v7();
        let wrapped = master.wrap(&key, id, "web:ana").expect("wraps");
        let back = master.unwrap(&wrapped, id, "web:ana").expect("unwraps");
        assert_eq!(back.0, key.0);
        assert!(
            MasterKey::generate()
                .unwrap(&wrapped, id, "web:ana")
                .is_err()
        );
        assert!(
            master.unwrap(&wrapped, id, "web:bo").is_err(),
            "bound to its user"
        );
        assert!(
            master.unwrap(&wrapped, Uuid::now_v7(), "web:ana").is_err(),
            "bound to its id"
        );
        let check = master.check_value().expect("seals");
        assert!(master.verify_check_value(&check));
        assert!(!MasterKey::generate().verify_check_value(&check));
    }

    #[test]
    fn master_keys_parse_from_base64_of_32_bytes_only() {
        let key = MasterKey::generate();
        assert!(MasterKey::from_base64(&key.to_base64()).is_ok());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
    }

    #[test]
    fn master_key_files_are_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/master.key");
        let first = MasterKey::load_or_generate(&path).expect("created");
        let second = MasterKey::load_or_generate(&path).expect("read");
        assert_eq!(first.to_base64(), second.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn personal_fields_split_out_and_merge_back() {
        let mut payload = json!({"text": "hi", "intent": "greeting", "username": null});
        let personal = split_personal(&mut payload, &["text", "username"]).expect("has text");
        assert_eq!(payload, json!({"intent": "greeting"}));
        merge_personal(&mut payload, &["text", "username"], Some(personal));
        assert_eq!(
            payload,
            json!({"text": "hi", "intent": "greeting", "username": null})
        );
        let mut erased = json!({"intent": "greeting"});
        merge_personal(&mut erased, &["text"], None);
        assert_eq!(erased, json!({"intent": "greeting", "text": null}));
    }
}
