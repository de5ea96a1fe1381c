//! Per-user keys as the store sees them: unwrapped keys cached by key id (a key's liveness is
//! still checked against the database on every read and write), and the master-key check.

use std::collections::HashMap;
use std::sync::Mutex;

use uuid::Uuid;

use crate::crypto::{MasterKey, UserKey};
use crate::{Pool, StoreError, db};

/// Unwrapping is cheap but not free; a busy store sees the same few thousand users again and
/// again. The cache never decides whether a key is live: callers pass the wrapped key they just
/// read from the database.
#[derive(Debug)]
pub(crate) struct KeyCache {
    master: MasterKey,
    unwrapped: Mutex<HashMap<Uuid, UserKey>>,
}

const CACHE_LIMIT: usize = 100_000;

impl KeyCache {
    pub(crate) fn new(master: MasterKey) -> Self {
        KeyCache {
            master,
            unwrapped: Mutex::new(HashMap::new()),
        }
    }

    /// The key of `user_id` stored wrapped as `wrapped` under `key_id`.
    pub(crate) fn unwrap(
        &self,
        key_id: Uuid,
        user_id: &str,
        wrapped: &[u8],
    ) -> Result<UserKey, StoreError> {
        if let Some(key) = self.lock().get(&key_id) {
            return Ok(key.clone());
        }
        let key =
            self.master
                .unwrap(wrapped, key_id, user_id)
                .map_err(|e| StoreError::CorruptKey {
                    key_id,
                    reason: e.to_string(),
                })?;
        let mut cache = self.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key_id, key.clone());
        Ok(key)
    }

    /// A fresh key for a user: `(key_id, key, wrapped)`.
    pub(crate) fn new_key(&self, user_id: &str) -> Result<(Uuid, UserKey, Vec<u8>), StoreError> {
        let key_id = Uuid::now_v7();
        let key = UserKey::generate();
        let wrapped =
            self.master
                .wrap(&key, key_id, user_id)
                .map_err(|e| StoreError::CorruptKey {
                    key_id,
                    reason: format!("wrapping a new key: {e}"),
                })?;
        self.lock().insert(key_id, key.clone());
        Ok((key_id, key, wrapped))
    }

    pub(crate) fn master(&self) -> &MasterKey {
        &self.master
    }

    pub(crate) fn forget(&self, key_id: Uuid) {
        self.lock().remove(&key_id);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, UserKey>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.unwrapped.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Live keys of users, created where missing, within the caller's transaction.
pub(crate) type UserKeys = HashMap<String, (Uuid, UserKey)>;

/// A row of `user_keys` as readers see it: `wrapped` is `None` once the key was destroyed.
#[derive(Debug, Clone)]
pub(crate) struct KeyRecord {
    pub user_id: String,
    pub wrapped: Option<Vec<u8>>,
}

/// On first open, stores a value sealed with the master key; afterwards refuses a different key.
pub(crate) async fn verify_master_key(pool: &Pool, master: &MasterKey) -> Result<(), StoreError> {
    let candidate = master
        .check_value()
        .map_err(|e| StoreError::Internal(format!("sealing the master key check: {e}")))?;
    db::query(
        "INSERT INTO store_settings (name, value) VALUES ('master_key_check', $1) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(candidate)
    .execute(pool)
    .await?;
    let stored: Vec<u8> =
        db::query("SELECT value FROM store_settings WHERE name = 'master_key_check'")
            .scalar(pool)
            .await?;
    if master.verify_check_value(&stored) {
        Ok(())
    } else {
        Err(StoreError::WrongMasterKey)
    }
}
