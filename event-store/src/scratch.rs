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

/// A private `nats-server` with JetStream (tests, benchmarks): its own free port and a
/// temporary store directory, killed on drop. It can be stopped and started again on the same
/// port and store (a NATS outage mid-run).
#[derive(Debug)]
pub struct ScratchNats {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl ScratchNats {
    /// Starts `nats-server -js` on a free loopback port.
    pub async fn spawn_new() -> Result<ScratchNats, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir for nats-server: {e}"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let mut server = ScratchNats {
            port,
            dir,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> Result<(), String> {
        let child = std::process::Command::new("nats-server")
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-sd")
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run nats-server: {e}"))?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(format!("nats-server did not listen on {}", self.port))
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (its store stays).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.stop();
        if let Err(e) = self.spawn().await {
            panic!("restarting nats-server: {e}");
        }
    }
}

impl Drop for ScratchNats {
    fn drop(&mut self) {
        self.stop();
    }
}
