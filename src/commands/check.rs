//! `salesbot check`: one line per part (database, migrations, master key, events, head
//! position); a non-zero exit when any is unhealthy. Changes nothing.

use std::process::ExitCode;

use event_store::{BackendKind, EventStore, Migrations, StoreError};

use crate::config::Config;

fn line(name: &str, ok: bool, detail: &str) {
    println!("{name}: {} {detail}", if ok { "ok" } else { "FAIL" });
}

pub async fn run(config: &Config) -> anyhow::Result<ExitCode> {
    let url = &config.database_url;
    if url.kind() == BackendKind::Sqlite
        && let Some(path) = url.sqlite_dir().map(|d| d.join("master.key"))
        && config.master_key.is_none()
        && !path.exists()
    {
        line(
            "database",
            false,
            &format!("({url}) has never been started: run `salesbot migrate` or `salesbot`"),
        );
        return Ok(ExitCode::FAILURE);
    }
    let store_config = match config.store_config() {
        Ok(c) => c,
        Err(e) => {
            line("master key", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let status = match EventStore::inspect(&store_config).await {
        Ok(status) => {
            line("database", true, &format!("({url})"));
            status
        }
        Err(e @ StoreError::Unreachable { .. }) => {
            line("database", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            line("database", true, &format!("({url})"));
            line("migrations", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let applied = format!("{} of {} applied", status.applied.len(), status.known);
    if !status.pending.is_empty() {
        line(
            "migrations",
            false,
            &format!("{applied}; run `salesbot migrate`"),
        );
        return Ok(ExitCode::FAILURE);
    }
    line("migrations", true, &applied);
    let store = match EventStore::open_with(&store_config, Migrations::Require).await {
        Ok(store) => {
            line("master key", true, "matches this database");
            store
        }
        Err(e) => {
            line("master key", false, &e.to_string());
            return Ok(ExitCode::FAILURE);
        }
    };
    let result = async {
        let stats = store.stats().await?;
        line("events", true, &stats.events.to_string());
        line("head position", true, &stats.head_position.to_string());
        Ok::<_, StoreError>(())
    }
    .await;
    store.close().await;
    Ok(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            line("events", false, &e.to_string());
            ExitCode::FAILURE
        }
    })
}
