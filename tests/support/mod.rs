//! Shared by the end-to-end tests: running the binaries as processes, waiting for the
//! projector to catch up, and the reconciliation oracle.

#![allow(dead_code)]

pub mod cluster;
pub mod faults;
pub mod oracle;

/// The `salesbot` binary under test.
pub const SALESBOT: &str = env!("CARGO_BIN_EXE_salesbot");

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use event_store::EventStore;
use testkit::TestDatabase;

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
    "STREAM_ACK_WAIT",
    "STATE_CACHE_MB",
    "RUST_LOG",
    "LOG_FORMAT",
];

/// Where the binaries log the address they listen on (`"{name} is running"`, field `local`):
/// a process started on port 0 is run with `RUST_LOG=…,{RUNNING_TARGET}=info` to read it back.
pub const RUNNING_TARGET: &str = "salesbot::commands::serve";

/// Reads a child's output `pipe` line by line on a thread of its own: the first port
/// `port_in` finds goes to the receiver, and the lines `echo` picks go on to this stderr.
pub fn port_from_lines(
    pipe: impl std::io::Read + Send + 'static,
    port_in: fn(&str) -> Option<u16>,
    echo: fn(&str) -> bool,
) -> std::sync::mpsc::Receiver<u16> {
    let (found, port) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(p) = port_in(&line) {
                let _ = found.send(p);
            } else if echo(&line) {
                eprintln!("{line}");
            }
        }
    });
    port
}

/// An info line of [`RUNNING_TARGET`], there only because the port is read from it.
pub fn is_running_info(line: &str) -> bool {
    uncoloured(line).contains(&format!(" INFO {RUNNING_TARGET}:"))
}

/// The port in a binary's `… is running local=127.0.0.1:N …` line (colours or not).
pub fn bound_port(line: &str) -> Option<u16> {
    let plain = uncoloured(line);
    if !plain.contains(" is running") {
        return None;
    }
    let addr = plain.split_once(" local=")?.1.split_whitespace().next()?;
    addr.parse::<std::net::SocketAddr>().ok().map(|a| a.port())
}

/// `line` without its ANSI colours (ESC [ … m).
fn uncoloured(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
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
    /// Starts `binary` on port 0 and reads back the port it bound from its start-up line.
    pub fn start(binary: &str, dir: &Path, env: &[(String, String)]) -> Proc {
        let mut p = Proc {
            binary: binary.to_owned(),
            dir: dir.to_owned(),
            env: env.to_vec(),
            port: 0,
            child: None,
        };
        p.spawn();
        p
    }

    /// Starts the process on `self.port`: 0 the first time, then the port it bound, since a
    /// restarted process must answer at the address others were given (in between, another
    /// process could take it; the start then fails loudly in `wait_ready`).
    fn spawn(&mut self) {
        let log = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "RUST_LOG")
            .map_or("warn", |(_, v)| v.as_str());
        let mut child = command(&self.binary, &self.dir, &self.env)
            .env("BIND_ADDR", format!("127.0.0.1:{}", self.port))
            .env("RUST_LOG", format!("{log},{RUNNING_TARGET}=info"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start process");
        let stderr = child.stderr.take().expect("piped stderr");
        let port = port_from_lines(stderr, bound_port, |line| !is_running_info(line));
        if self.port == 0 {
            match port.recv_timeout(Duration::from_secs(30)) {
                Ok(p) => self.port = p,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("{} never said where it listens", self.binary);
                }
            }
        }
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

    /// SIGSTOP: the process freezes with its connections open (a paused VM, a long GC pause).
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`Proc::pause`].
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the process runs");
        let status = Command::new("kill")
            .arg(signal)
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {signal} {}", child.id());
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
