//! `salesbot reset --yes`: delete every event, key and snapshot.

use anyhow::bail;

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
    let before = store.stats().await;
    let result = match before {
        Ok(before) => store.reset().await.map(|()| before.events),
        Err(e) => Err(e),
    };
    store.close().await;
    println!(
        "reset: deleted {} events from {}",
        result?, config.database_url
    );
    Ok(())
}
