//! The committed spec against the real server, with tools the project does not write itself:
//! schemathesis with every check (responses match their schemas, valid requests are taken,
//! invalid ones refused, every status documented, undeclared methods answered 405, ...), and a
//! Python client generated from `query-api/openapi.json` by openapi-python-client calling every
//! operation (`tests/python/call_every_operation.py`).
//!
//! Both run `salesbot serve` filled by `salesbot simulate`. The Python tools come from the
//! virtualenv at `$SALESBOT_PY_VENV` (default `/var/tmp/salesbot-py`; `.ci/run` installs them
//! there) or from `PATH`; without them the harness reports the tests as ignored, with the
//! reason, and with `CI=true` they fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::Served;
use testkit::TestDatabase;

/// The admin key of the server under test (`support::env_of`).
const ADMIN_KEY: &str = "test-admin-key";
/// Shoppers `simulate` creates: enough for every figure to be non-trivial.
const USERS: &str = "60";

/// The headers every request of the tools carries: one per authentication the spec declares.
fn headers() -> Vec<(&'static str, &'static str)> {
    vec![("X-API-Key", ADMIN_KEY), ("X-Chat-Key", support::CHAT_KEY)]
}

/// The server's environment beyond `support::env_of` (which sets the chat key). The chat
/// route's limits are turned off: the tools send hundreds of messages as a handful of users
/// from one address, and a 429 (documented, and checked by `tests` of the limits) would
/// otherwise stand in for the answers being checked here.
const SERVER_ENV: &[(&str, &str)] = &[("CHAT_USER_RATE", "0"), ("CHAT_ADDRESS_RATE", "0")];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The tools (the harness has checked that they are there).
fn tools(names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .map(|n| testkit::python_tool(n).unwrap_or_else(|| panic!("{n} not found")))
        .collect()
}

fn shown(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs `cmd` to its end off the async runtime.
async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("start the tool"))
        .await
        .expect("the tool's thread")
}

#[testkit::test(needs = python_tools, flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_with_every_check() {
    let tools = tools(&["schemathesis"]);
    let db = TestDatabase::sqlite_for_test();
    let served = Served::simulated(&db, SERVER_ENV, &["--users", USERS, "--seed", "31"]).await;
    let mut cmd = Command::new(&tools[0]);
    cmd.current_dir(served.dir.path())
        .env(
            "SCHEMATHESIS_HOOKS",
            repo().join("tests/python/schemathesis_hooks.py"),
        )
        .arg("--config-file")
        .arg(repo().join("tests/python/schemathesis.toml"))
        .arg("run")
        .arg(format!(
            "http://127.0.0.1:{}/openapi.json",
            served.server.port
        ))
        .args(["--checks", "all", "--no-color"]);
    for (name, value) in headers() {
        cmd.arg("--header").arg(format!("{name}: {value}"));
    }
    let started = std::time::Instant::now();
    let output = run(cmd).await;
    let report = shown(&output);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{report}"
    );
    // It exits 0 on warnings too (say, an id that was never found); every operation must have
    // been tested.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let number_after = |label: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|rest| rest.trim().split(['/', ' ']).next())
            .and_then(|n| n.trim().parse::<usize>().ok())
    };
    let selected = number_after("Selected:");
    assert!(
        selected.is_some_and(|n| n > 0) && number_after("Tested:") == selected,
        "schemathesis did not test every operation:\n{report}"
    );
    eprintln!("schemathesis: no failures in {:?}", started.elapsed());
    served.store.close().await;
}

#[testkit::test(needs = python_tools, flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_python_client_calls_every_operation() {
    let tools = tools(&["openapi-python-client", "python"]);
    let db = TestDatabase::sqlite_for_test();
    let served = Served::simulated(&db, SERVER_ENV, &["--users", USERS, "--seed", "37"]).await;
    let spec = repo().join("query-api/openapi.json");
    let out = tempfile::tempdir().expect("tempdir");
    let package = "salesbot_admin_api_client";
    let mut generate = Command::new(&tools[0]);
    generate
        .current_dir(out.path())
        .args(["generate", "--meta", "none", "--path"])
        .arg(&spec)
        .arg("--output-path")
        .arg(out.path().join(package));
    let generated = run(generate).await;
    assert!(
        generated.status.success() && out.path().join(package).join("client.py").is_file(),
        "openapi-python-client could not generate a client from the committed spec:\n{}",
        shown(&generated)
    );
    let mut call = Command::new(&tools[1]);
    call.arg(repo().join("tests/python/call_every_operation.py"))
        .arg("--client")
        .arg(out.path())
        .args(["--package", package, "--spec"])
        .arg(&spec)
        .arg("--base-url")
        .arg(format!("http://127.0.0.1:{}", served.server.port))
        .args(["--admin-key", ADMIN_KEY, "--chat-key", support::CHAT_KEY])
        .args(["--users", USERS]);
    let called = run(call).await;
    assert!(
        called.status.success(),
        "the generated Python client failed:\n{}",
        shown(&called)
    );
    eprint!("{}", String::from_utf8_lossy(&called.stdout));
    served.store.close().await;
}

testkit::main!();
