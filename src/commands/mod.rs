//! One module per subcommand.

pub mod backup;
pub mod check;
pub mod erase;
pub mod migrate;
pub mod rebuild;
pub mod replay;
pub mod reset;
pub mod serve;
pub mod simulate;
pub mod stats;

use anyhow::Context as _;
use command_service::catalog::Catalog;
use event_store::EventStore;

use crate::config::Config;

/// Opens the store as every process does at start-up: migrations applied, master key checked.
pub async fn open_store(config: &Config) -> anyhow::Result<EventStore> {
    let store_config = config.store_config()?;
    EventStore::open(&store_config)
        .await
        .with_context(|| format!("opening the event store at {}", config.database_url))
}

/// The shop's catalog (`CATALOG_PATH`) or the bundled demo.
pub fn load_catalog(config: &Config) -> anyhow::Result<Catalog> {
    match &config.catalog_path {
        Some(path) => Catalog::load(path).context("CATALOG_PATH"),
        None => Catalog::demo().context("the bundled demo catalog"),
    }
}

/// The JetStream stream's shape from `STREAM_REPLICAS`, `STREAM_MAX_AGE`, `STREAM_ACK_WAIT` and
/// `PARTITIONS`.
pub fn stream_settings(config: &Config) -> event_store::transport::StreamSettings {
    event_store::transport::StreamSettings {
        replicas: usize::from(config.stream_replicas),
        max_age: config.stream_max_age,
        ack_wait: config.stream_ack_wait,
        partitions: u32::from(config.partitions),
    }
}

/// Connects to `NATS_URL` when it is set (distributed mode). With `wait` false the connection
/// is made in the background, so the process starts while NATS is down.
pub async fn connect_nats(
    config: &Config,
    name: &str,
    wait: bool,
) -> anyhow::Result<Option<event_store::transport::Nats>> {
    let Some(url) = &config.nats_url else {
        return Ok(None);
    };
    let nats = event_store::transport::Nats::connect(url, name, stream_settings(config), wait)
        .await
        .with_context(|| format!("NATS_URL: cannot connect to {url}"))?;
    Ok(Some(nats))
}

/// The live projector applier for this configuration.
pub fn applier(config: &Config, store: &EventStore) -> projector::Applier {
    projector::Applier::live(store, config.report_timezone, u32::from(config.partitions))
}
