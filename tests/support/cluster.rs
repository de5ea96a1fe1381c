//! A private Postgres cluster for one test (`initdb` + `pg_ctl` on a free loopback port), so a
//! test can restart the server under a running system without touching the shared one.

use std::path::PathBuf;
use std::process::Command;

/// Where Debian keeps the server binaries; `PG_BIN` overrides.
const DEFAULT_PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A Postgres server in a temporary folder, stopped (immediately) on drop.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// `initdb` into a new temporary folder, then starts the server on a free port. Postgres
    /// cannot report a port it picked itself, so the port is found free first; if another
    /// process takes it meanwhile the start fails and another port is tried.
    pub fn start() -> PrivatePostgres {
        let bin = std::env::var_os("PG_BIN").map_or_else(|| DEFAULT_PG_BIN.into(), PathBuf::from);
        assert!(
            bin.join("initdb").is_file(),
            "{}/initdb missing: apt-get install postgresql (or set PG_BIN)",
            bin.display()
        );
        let dir = tempfile::tempdir().expect("tempdir");
        // initdb refuses to run as root: the cluster then belongs to the postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            run(Command::new("chown").arg("postgres").arg(dir.path()));
        }
        let mut cluster = PrivatePostgres {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        let data = cluster.data();
        run(cluster
            .tool("initdb")
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-D"])
            .arg(&data));
        for _ in 0..5 {
            cluster.port = free_port();
            let options = cluster.options();
            let started = cluster
                .pg_ctl()
                .args(["-w", "-t", "60", "-o", &options, "start"])
                .status()
                .expect("pg_ctl start");
            if started.success() {
                return cluster;
            }
        }
        panic!(
            "the private Postgres cluster did not start: {}",
            std::fs::read_to_string(cluster.dir.path().join("log")).unwrap_or_default()
        );
    }

    /// The superuser's URL of the cluster's `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server: `immediate` as a crash would (it recovers from the WAL at the next
    /// start), otherwise `fast` (every session cut, a clean shutdown).
    pub fn stop(&self, immediate: bool) {
        let mode = if immediate { "immediate" } else { "fast" };
        run(self.pg_ctl().args(["-w", "-t", "60", "-m", mode, "stop"]));
    }

    /// Starts it again after [`PrivatePostgres::stop`], on the same port and data.
    pub fn start_again(&self) {
        run(self
            .pg_ctl()
            .args(["-w", "-t", "60", "-o", &self.options(), "start"]));
    }

    /// `fsync` and full-page writes off: the machine does not crash under a test, so an
    /// immediate stop loses nothing committed without them. `synchronous_commit` stays on: off,
    /// an immediate stop would lose commits already acknowledged (events the relay had
    /// published), which no real restart does.
    fn options(&self) -> String {
        format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c full_page_writes=off \
             -c max_connections=300",
            self.port,
            self.dir.path().display()
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.tool("pg_ctl");
        cmd.arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("log"));
        cmd
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(self.dir.path())
            .stdout(std::process::Stdio::null());
        cmd
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self
            .pg_ctl()
            .args(["-w", "-m", "immediate", "stop"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?}: {status}");
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
