//! `salesbot migrate`: apply pending migrations and say what was done.

use anyhow::Context as _;
use event_store::EventStore;

use crate::config::Config;

pub async fn run(config: &Config) -> anyhow::Result<()> {
    let store_config = config.store_config()?;
    let before = EventStore::inspect(&store_config)
        .await
        .with_context(|| format!("inspecting {}", config.database_url))?;
    let store = super::open_store(config).await?;
    store.close().await;
    if before.pending.is_empty() {
        println!(
            "migrations: up to date ({} of {} applied)",
            before.known, before.known
        );
    } else {
        let versions: Vec<String> = before.pending.iter().map(i64::to_string).collect();
        println!(
            "migrations: applied {} ({}); {} of {} applied",
            before.pending.len(),
            versions.join(", "),
            before.known,
            before.known
        );
    }
    Ok(())
}
