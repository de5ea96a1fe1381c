//! Time travel: the read tables as they stood at one position of the log, built by replaying
//! the log up to that position into a temporary SQLite database with the same fold and the same
//! writes as the live tables ([`Applier`]), so the query service answers `as_of` with its usual
//! queries (docs/architecture.md, "Time travel"; docs/decisions/0021-asof-bounded-replay.md).
//!
//! The model leaves out the conversation timeline (personal text the figures never read) and
//! holds no personal text at all: it has no user keys, so names are written as missing.

use std::collections::HashMap;
use std::time::Instant;

use chrono_tz::Tz;
use event_store::{DatabaseUrl, EventStore, MasterKey, StoreConfig};

use crate::apply::{self, Applier, ProjectorError};
use crate::model::Projection;

/// Positions read per step; the next step is read while this one is applied.
const STEP: i64 = 10_000;

/// The projections a past model holds: every one but the conversation timeline.
pub const PROJECTIONS: [Projection; 6] = [
    Projection::Funnel,
    Projection::Products,
    Projection::Users,
    Projection::Business,
    Projection::Carts,
    Projection::Questions,
];

/// The read tables as of one position, in a temporary database removed on drop.
#[derive(Debug)]
pub struct PastModel {
    store: EventStore,
    /// The log position the tables are complete through.
    pub through: i64,
    /// Events replayed into them.
    pub events: u64,
    /// How long the replay took.
    pub took: std::time::Duration,
    // Declared last: the database's files go after its pool.
    _dir: tempfile::TempDir,
}

impl PastModel {
    /// The model's store: its read tables answer the usual queries.
    pub fn store(&self) -> &EventStore {
        &self.store
    }
}

/// Replays `source` from its start through `through` (at most its head, so every position up
/// to it has committed) into a new temporary model.
pub async fn replay(
    source: &EventStore,
    tz: Tz,
    through: i64,
) -> Result<PastModel, ProjectorError> {
    let started = Instant::now();
    // Like a rebuild, a release that is behind skips what a newer one wrote (README, "Upgrading").
    let source = &source.skipping_newer();
    let mut folder = tempfile::Builder::new();
    folder.prefix("salesbot-as-of-");
    // Private from the start, as the store wants its folder (docs/architecture.md, invariant 8).
    #[cfg(unix)]
    folder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = folder
        .tempdir()
        .map_err(|e| ProjectorError::Config(format!("a temporary folder for as_of: {e}")))?;
    let url = DatabaseUrl::parse(&format!(
        "sqlite://{}",
        dir.path().join("model.db").display()
    ))
    .map_err(ProjectorError::Config)?;
    let config = StoreConfig {
        max_connections: 2,
        ..StoreConfig::new(url, MasterKey::generate())
    };
    let store = EventStore::open(&config).await?;
    // One partition: shards only split the shared counters' rows, whose sums are the figures.
    let applier = Applier::model(&store, tz, PROJECTIONS.to_vec());
    let read = |after: i64| {
        let source = source.clone();
        let to = (after + STEP).min(through);
        (
            to,
            tokio::spawn(async move { source.read_range(after, to).await }),
        )
    };
    let mut events = 0u64;
    let mut next = (through > 0).then(|| read(0));
    while let Some((to, reading)) = next.take() {
        let batch = reading
            .await
            .map_err(|e| ProjectorError::Config(format!("reading the log for as_of: {e}")))??;
        next = (to < through).then(|| read(to));
        let mut tx = apply::begin(store.pool()).await?;
        applier.apply_in(&mut tx, &batch, &HashMap::new()).await?;
        tx.commit().await?;
        events += batch.len() as u64;
    }
    Ok(PastModel {
        store,
        through,
        events,
        took: started.elapsed(),
        _dir: dir,
    })
}
