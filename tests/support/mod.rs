//! Shared by the end-to-end tests: running the binaries as processes, waiting for the
//! projector to catch up, and the reconciliation oracle.

#![allow(dead_code)]

pub mod oracle;

/// The `salesbot` binary under test.
pub const SALESBOT: &str = env!("CARGO_BIN_EXE_salesbot");

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use event_store::EventStore;
use event_store::testing::TestDatabase;

/// Every variable salesbot reads, so the developer's environment cannot leak into a test.
pub const VARIABLES: &[&str] = &[
    "DATABASE_URL",
    "CHAT_API_KEY",
    "CHAT_SESSION_TTL",
    "CHAT_USER_RATE",
    "CHAT_USER_BURST",
    "CHAT_ADDRESS_RATE",
    "CHAT_ADDRESS_BURST",
    "CHAT_TRUST_FORWARDED_FOR",
    "NATS_URL",
    "ADMIN_API_KEY",
    "SALESBOT_MASTER_KEY",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_API_URL",
    "TELEGRAM_PAYMENT_PROVIDER_TOKEN",
    "PARTITIONS",
    "CATALOG_PATH",
    "LLM_API_URL",
    "LLM_API_KEY",
    "LLM_MODEL",
    "REPORT_TIMEZONE",
    "BIND_ADDR",
    "STREAM_REPLICAS",
    "STREAM_MAX_AGE",
    "STATE_CACHE_MB",
    "RUST_LOG",
    "LOG_FORMAT",
];

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A binary of this package run in `dir` with exactly `env` (plus its own `BIND_ADDR`).
pub fn command(binary: &str, dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir);
    for v in VARIABLES {
        cmd.env_remove(v);
    }
    cmd.env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A long-running process (server, worker) that a test can SIGKILL and start again.
#[derive(Debug)]
pub struct Proc {
    binary: String,
    dir: std::path::PathBuf,
    env: Vec<(String, String)>,
    pub port: u16,
    child: Option<Child>,
}

impl Proc {
    pub fn start(binary: &str, dir: &Path, env: &[(String, String)]) -> Proc {
        let mut p = Proc {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            env: env.to_vec(),
            port: free_port(),
            child: None,
        };
        p.spawn();
        p
    }

    fn spawn(&mut self) {
        let child = command(&self.binary, &self.dir, &self.env)
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.port))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start process");
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no last batch, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub async fn wait_ready(&self) {
        let url = format!("http://127.0.0.1:{}/metrics", self.port);
        for _ in 0..200 {
            if reqwest::get(&url)
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} did not come up on port {}", self.binary, self.port);
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .expect("request")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until every projection on every partition has applied the whole log (and, with a
/// relay, the relay has published it) and reports a live worker.
pub async fn wait_caught_up(store: &EventStore, relay: bool, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let p = store
            .progress(Duration::from_secs(10))
            .await
            .expect("progress");
        let relayed = !relay || p.relay.as_ref().is_some_and(|r| r.position == p.head);
        let projected = !p.partitions.is_empty()
            && p.partitions
                .iter()
                .all(|x| x.caught_up_to == p.head && !x.stalled);
        if relayed && projected {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not caught up within {within:?}: head {}, relay {:?}, behind: {:?}",
            p.head,
            p.relay,
            p.partitions
                .iter()
                .filter(|x| x.caught_up_to < p.head || x.stalled)
                .map(|x| (&x.projection, x.partition, x.caught_up_to, x.stalled))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The variables of a test's processes: its database, master key and admin key.
/// The `X-Chat-Key` of every server the tests start (`CHAT_API_KEY`).
pub const CHAT_KEY: &str = "test-chat-key-0123456789";

pub fn env_of(db: &TestDatabase, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "DATABASE_URL".to_owned(),
            db.config.database_url.expose().to_owned(),
        ),
        (
            "SALESBOT_MASTER_KEY".to_owned(),
            db.config.master_key.to_base64(),
        ),
        ("ADMIN_API_KEY".to_owned(), "test-admin-key".to_owned()),
        ("CHAT_API_KEY".to_owned(), CHAT_KEY.to_owned()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

/// `salesbot simulate` as a background process.
pub fn simulate(
    dir: &std::path::Path,
    env: &[(String, String)],
    args: &[&str],
) -> std::process::Child {
    command(env!("CARGO_BIN_EXE_salesbot"), dir, env)
        .arg("simulate")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("simulate")
}

pub fn finished(child: &mut std::process::Child) -> bool {
    match child.try_wait().expect("simulate status") {
        None => false,
        Some(status) => {
            assert!(status.success(), "simulate failed: {status}");
            true
        }
    }
}

/// Runs `salesbot simulate` with `args` to its end, then waits until every projection has
/// applied the whole log (embedded mode); returns the store to check the read tables with.
pub async fn simulate_and_catch_up(
    dir: &Path,
    env: &[(String, String)],
    db: &TestDatabase,
    args: &[&str],
) -> EventStore {
    let mut sim = simulate(dir, env, args);
    while !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = EventStore::open(&db.config).await.expect("open store");
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    store
}

/// `salesbot serve` (embedded, in its own folder) with a simulated log it has caught up on.
pub struct Served {
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    pub server: Proc,
    pub store: EventStore,
}

impl Served {
    /// Starts the server with `extra` environment, then runs `simulate` with `args` to its end
    /// and waits for the projector.
    pub async fn simulated(db: &TestDatabase, extra: &[(&str, &str)], args: &[&str]) -> Served {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = env_of(db, extra);
        let server = Proc::start(SALESBOT, dir.path(), &env);
        server.wait_ready().await;
        let store = simulate_and_catch_up(dir.path(), &env, db, args).await;
        Served {
            dir,
            env,
            server,
            store,
        }
    }
}

/// The command service and two projector workers on `env`, started and ready: the distributed
/// system the reconciliation tests drive.
pub async fn start_command_and_workers(dir: &Path, env: &[(String, String)]) -> (Proc, [Proc; 2]) {
    let commands = Proc::start(env!("CARGO_BIN_EXE_command-service"), dir, env);
    let workers = [
        Proc::start(env!("CARGO_BIN_EXE_projector"), dir, env),
        Proc::start(env!("CARGO_BIN_EXE_projector"), dir, env),
    ];
    commands.wait_ready().await;
    for w in &workers {
        w.wait_ready().await;
    }
    (commands, workers)
}
