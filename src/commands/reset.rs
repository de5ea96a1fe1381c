//! `salesbot reset --yes`: delete every event, key and snapshot, empty the read tables and, in
//! distributed mode, delete the JetStream stream with its consumers. Stop the services first.

use anyhow::{Context as _, bail};

use crate::cli::ResetArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: &ResetArgs) -> anyhow::Result<()> {
    if !args.yes {
        bail!(
            "reset deletes every event of {} for good; run `salesbot reset --yes` to confirm",
            config.database_url
        );
    }
    let store = super::open_store(config).await?;
    let result = async {
        let before = store.stats().await?;
        store.reset().await?;
        projector::rebuild::clear(store.pool()).await?;
        anyhow::Ok(before.events)
    }
    .await;
    store.close().await;
    println!(
        "reset: deleted {} events from {} and emptied the read tables",
        result?, config.database_url
    );
    if let Some(nats) = super::connect_nats(config, "salesbot-reset", true).await? {
        let existed = nats
            .delete_stream()
            .await
            .context("deleting the JetStream stream")?;
        if existed {
            println!(
                "reset: deleted the JetStream stream {} and its consumers",
                event_store::transport::STREAM_NAME
            );
        }
    }
    Ok(())
}
