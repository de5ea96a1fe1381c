//! Scratch databases: a uniquely named Postgres database or a SQLite file in a temporary
//! folder, dropped when the value is dropped. Tests and benchmarks run in these so they never
//! touch a shop's data.

use std::str::FromStr as _;

use sqlx::Connection as _;
use sqlx::postgres::PgConnectOptions;

use crate::{BackendKind, DatabaseUrl, EventStore, MasterKey, StoreConfig, StoreError};

/// A database that exists as long as this value.
#[derive(Debug)]
pub struct ScratchDatabase {
    pub config: StoreConfig,
    pub(crate) guard: Guard,
}

#[derive(Debug)]
pub(crate) enum Guard {
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Held for its `Drop`, which removes the folder (read only by the test helpers).
    Sqlite(#[cfg_attr(not(feature = "test-util"), allow(dead_code))] tempfile::TempDir),
}

impl ScratchDatabase {
    /// Creates `<prefix>_<uuid>` on the server `admin_url` points at.
    pub async fn postgres(admin_url: &str, prefix: &str) -> Result<ScratchDatabase, StoreError> {
        let options = PgConnectOptions::from_str(admin_url)
            .map_err(|e| StoreError::Config(format!("not a Postgres URL: {e}")))?;
        let redacted = DatabaseUrl::parse(admin_url)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| "the Postgres server".into());
        let mut admin = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|source| StoreError::Unreachable {
                url: redacted,
                source,
            })?;
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        // The name is ours (prefix from code, a uuid): nothing of it comes from input.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url)
            .map_err(|e| StoreError::Config(format!("not a Postgres URL: {e}")))?;
        url.set_path(&name);
        let database_url = DatabaseUrl::parse(url.as_str()).map_err(StoreError::Config)?;
        Ok(ScratchDatabase {
            config: StoreConfig::new(database_url, MasterKey::generate()),
            guard: Guard::Postgres {
                admin_url: admin_url.to_owned(),
                name,
            },
        })
    }

    /// A SQLite file in a new temporary folder.
    pub fn sqlite() -> Result<ScratchDatabase, StoreError> {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("salesbot.db").display());
        let database_url = DatabaseUrl::parse(&url).map_err(StoreError::Config)?;
        Ok(ScratchDatabase {
            config: StoreConfig::new(database_url, MasterKey::generate()),
            guard: Guard::Sqlite(dir),
        })
    }

    pub fn kind(&self) -> BackendKind {
        self.config.database_url.kind()
    }

    /// Opens the store (applying migrations).
    pub async fn open(&self) -> Result<EventStore, StoreError> {
        EventStore::open(&self.config).await
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Guard::Postgres { admin_url, name } = &self.guard {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop is synchronous; the database goes away on a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&mut c)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}
