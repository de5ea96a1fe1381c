//! What the admin routes read from: the store, the report time zone, the catalog's product
//! names, the NATS connection for health, the response caches, and the admin key's digest.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono_tz::Tz;
use event_store::EventStore;
use event_store::transport::Nats;
use subtle::ConstantTimeEq as _;

use crate::cache::Cache;
use crate::period::Period;
use crate::types::{Dashboard, FunnelStage};

/// Funnels by period and window.
type FunnelCache = Cache<(Period, Option<i64>), Vec<FunnelStage>>;

/// What the admin routes read from.
#[derive(Debug, Clone)]
pub struct State {
    pub store: EventStore,
    pub tz: Tz,
    /// Product id → name, from the catalog.
    pub product_names: Arc<BTreeMap<String, String>>,
    /// Distributed mode: the NATS connection, for health.
    pub nats: Option<Nats>,
    pub(crate) dashboards: Arc<Cache<Period, Dashboard>>,
    pub(crate) funnels: Arc<FunnelCache>,
    /// Time travel (`as_of`): the replay that builds past models, and the last ones built.
    pub(crate) history: Option<Arc<crate::as_of::History>>,
}

impl State {
    /// The state, with response caches that serve only while the read models are unchanged
    /// (`cache.rs`).
    pub fn new(
        store: EventStore,
        tz: Tz,
        product_names: BTreeMap<String, String>,
        nats: Option<Nats>,
    ) -> State {
        State {
            // Events a newer release wrote are skipped, never a 500 (README, "Upgrading").
            store: store.skipping_newer(),
            tz,
            product_names: Arc::new(product_names),
            nats,
            dashboards: Arc::default(),
            funnels: Arc::default(),
            history: None,
        }
    }

    /// Serves `as_of` on the figures routes with models `replay` builds.
    pub fn with_replay(self, replay: Arc<dyn crate::as_of::Replay>) -> State {
        State {
            history: Some(Arc::new(crate::as_of::History::new(replay))),
            ..self
        }
    }
}

/// The admin key, kept as a SHA-256 digest so that comparing takes the same time whatever
/// the key tried.
#[derive(Debug, Clone)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    pub fn new(key: &str) -> KeyDigest {
        KeyDigest(digest(key))
    }

    pub(crate) fn matches(&self, tried: &str) -> bool {
        bool::from(self.0.ct_eq(&digest(tried)))
    }
}

fn digest(key: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(key.as_bytes()).into()
}
