//! One module per subcommand.

pub mod check;
pub mod migrate;
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
