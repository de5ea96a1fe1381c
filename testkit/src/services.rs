//! The services tests need beyond the code itself (Postgres, `nats-server`, Chromium, the
//! Python tools, Prometheus), how the harness looks for each, and whether a missing one is a failure.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::Connection as _;

/// Debian's Chromium and its WebDriver, which the dashboard test drives.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Debian's `prometheus` package: the server and `promtool`, which the metrics test runs.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// Where `.ci/run` installs schemathesis and openapi-python-client.
const DEFAULT_VENV: &str = "/var/tmp/salesbot-py";

/// How long the harness waits for Postgres before calling it unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Something outside the code that a test needs (`#[testkit::test(needs = …)]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// The server at `TEST_DATABASE_URL`.
    Postgres,
    /// `nats-server` on `PATH` (with JetStream).
    Nats,
    /// [`CHROMIUM`] and [`CHROMEDRIVER`].
    Chromium,
    /// schemathesis, openapi-python-client and python, in `$SALESBOT_PY_VENV` or on `PATH`.
    PythonTools,
    /// [`PROMETHEUS`] and [`PROMTOOL`].
    Prometheus,
}

/// True under CI (`CI=true` or `CI=1`), where a missing service fails a test instead of
/// skipping it. The one place the workspace reads `CI`.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl Service {
    /// `Err(why)` when the service cannot be used.
    pub fn probe(self) -> Result<(), String> {
        match self {
            Service::Postgres => probe_postgres(),
            Service::Nats => match std::process::Command::new("nats-server")
                .arg("--version")
                .output()
            {
                Ok(out) if out.status.success() => Ok(()),
                Ok(out) => Err(format!("`nats-server --version` failed: {}", out.status)),
                Err(e) => Err(format!(
                    "nats-server cannot run ({e}); apt-get install nats-server"
                )),
            },
            Service::Chromium => files(
                &[CHROMIUM, CHROMEDRIVER],
                "apt-get install chromium chromium-driver; .ci/run does",
            ),
            Service::Prometheus => files(
                &[PROMETHEUS, PROMTOOL],
                "apt-get install prometheus; .ci/run does",
            ),
            Service::PythonTools => {
                let missing: Vec<&str> = ["schemathesis", "openapi-python-client", "python"]
                    .into_iter()
                    .filter(|t| python_tool(t).is_none())
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{} not in $SALESBOT_PY_VENV/bin (default {DEFAULT_VENV}/bin) nor on \
                         PATH; .ci/run installs them, see the README",
                        missing.join(", ")
                    ))
                }
            }
        }
    }
}

/// `Ok` when every one of `paths` exists; else which do not, and how to get them.
fn files(paths: &[&str], install: &str) -> Result<(), String> {
    let missing: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| !std::path::Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("{} missing ({install})", missing.join(", ")))
    }
}

fn probe_postgres() -> Result<(), String> {
    let url = crate::test_database_url();
    let shown = event_store::DatabaseUrl::parse(&url)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| "TEST_DATABASE_URL".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("a runtime to reach Postgres: {e}"))?;
    runtime.block_on(async {
        match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect(&url)).await {
            Ok(Ok(c)) => {
                let _ = c.close().await;
                Ok(())
            }
            Ok(Err(e)) => Err(format!("Postgres unreachable at {shown}: {e}")),
            Err(_) => Err(format!(
                "Postgres unreachable at {shown}: no answer within {CONNECT_TIMEOUT:?}"
            )),
        }
    })
}

/// The Python tool `name` from the virtualenv `$SALESBOT_PY_VENV` (default
/// `/var/tmp/salesbot-py`), else from `PATH`.
pub fn python_tool(name: &str) -> Option<PathBuf> {
    let venv =
        std::env::var_os("SALESBOT_PY_VENV").map_or_else(|| DEFAULT_VENV.into(), PathBuf::from);
    let in_venv = venv.join("bin").join(name);
    if in_venv.is_file() {
        return Some(in_venv);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}
