//! Scratch databases: a uniquely named Postgres database or a SQLite file in a temporary
//! folder, dropped when the value is dropped. Tests and benchmarks run in these so they never
//! touch a shop's data.

use std::str::FromStr as _;

use sqlx::Connection as _;
use sqlx::postgres::PgConnectOptions;

use event_store::{BackendKind, DatabaseUrl, EventStore, MasterKey, StoreConfig, StoreError};

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
    /// Held for its `Drop`, which removes the folder.
    Sqlite(tempfile::TempDir),
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

/// A private `nats-server` with JetStream (tests, benchmarks): a port of its own and a
/// temporary store directory, killed on drop. It can be stopped and started again on the same
/// port and store (a NATS outage mid-run).
#[derive(Debug)]
pub struct ScratchNats {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

/// How long `nats-server` gets to start listening.
const NATS_START: std::time::Duration = std::time::Duration::from_secs(10);

impl ScratchNats {
    /// Starts `nats-server -js` on a loopback port the server picks itself (`-p -1`), read back
    /// from the ports file it writes: no port is chosen first and bound later.
    pub async fn spawn_new() -> Result<ScratchNats, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir for nats-server: {e}"))?;
        let ports = dir.path().join("ports");
        std::fs::create_dir(&ports).map_err(|e| format!("{}: {e}", ports.display()))?;
        let mut child = Self::command(dir.path(), "-1")
            .arg("--ports_file_dir")
            .arg(&ports)
            .spawn()
            .map_err(|e| format!("cannot run nats-server: {e}"))?;
        let deadline = tokio::time::Instant::now() + NATS_START;
        let port = loop {
            if let Some(port) = read_ports_file(&ports) {
                break port;
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("nats-server exited at start: {status}"));
            }
            if tokio::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "nats-server wrote no ports file within {NATS_START:?}"
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let server = ScratchNats {
            port,
            dir,
            child: Some(child),
        };
        server.wait_listening().await?;
        Ok(server)
    }

    fn command(store: &std::path::Path, port: &str) -> std::process::Command {
        let mut cmd = std::process::Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p", port])
            .arg("-sd")
            .arg(store)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd
    }

    async fn wait_listening(&self) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + NATS_START;
        while tokio::time::Instant::now() < deadline {
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

    /// Starts it again on the same port and store: clients reconnect to the address they
    /// know. The port was free while the server was down, so another process could have taken
    /// it in between; that fails here, loudly, rather than in the test that follows.
    pub async fn restart(&mut self) {
        self.stop();
        let child = Self::command(self.dir.path(), &self.port.to_string())
            .spawn()
            .unwrap_or_else(|e| panic!("restarting nats-server: {e}"));
        self.child = Some(child);
        if let Err(e) = self.wait_listening().await {
            panic!("restarting nats-server: {e}");
        }
    }
}

/// The client port in the ports file `nats-server` writes (`{"nats":["nats://127.0.0.1:N"]}`).
fn read_ports_file(dir: &std::path::Path) -> Option<u16> {
    let entry = std::fs::read_dir(dir).ok()?.flatten().next()?;
    let text = std::fs::read_to_string(entry.path()).ok()?;
    let ports: serde_json::Value = serde_json::from_str(&text).ok()?;
    let url = ports["nats"].get(0)?.as_str()?;
    url.rsplit(':').next()?.parse().ok()
}

impl Drop for ScratchNats {
    fn drop(&mut self) {
        self.stop();
    }
}

impl ScratchNats {
    /// A server for a test, failing it if `nats-server` cannot run; a test that uses one says
    /// `#[testkit::test(needs = nats)]`.
    pub async fn start() -> ScratchNats {
        ScratchNats::spawn_new().await.unwrap_or_else(|e| {
            panic!("{e}; a test that uses nats-server says #[testkit::test(needs = nats)]")
        })
    }
}
