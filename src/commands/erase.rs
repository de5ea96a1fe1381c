//! `salesbot erase-user ID`: crypto-shredding of one user (ARCHITECTURE.md invariant 8), the
//! same as `DELETE /admin/users/{id}`.

use anyhow::{Context as _, bail};
use events_schema::UserId;

use crate::cli::EraseUserArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: &EraseUserArgs) -> anyhow::Result<()> {
    let user: UserId =
        args.id.parse().ok().with_context(|| {
            format!("`{}` is not a user id (telegram:<id> or web:<id>)", args.id)
        })?;
    let store = super::open_store(config).await?;
    let result = store.erase_user(&user, "cli").await;
    store.close().await;
    match result.context("erasing the user")? {
        None => bail!("no user `{user}` in the log"),
        Some(erased) => {
            println!(
                "erase-user: {user} erased (UserErased at position {}{}); their personal data \
                 now reads as null, and the projector drops them from the user tables",
                erased.position,
                if erased.key_destroyed {
                    ", key destroyed"
                } else {
                    "; the key had been destroyed already"
                }
            );
            Ok(())
        }
    }
}
