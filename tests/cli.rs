//! The `salesbot` binary as a user runs it: subcommands, their output and exit codes, against
//! real SQLite files and real Postgres databases.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use event_store::{BackendKind, ExpectedVersion};
use events_schema::{
    Channel, ConversationStarted, Intent, MessageKind, MessageReceived, NewEvent, RecordedEvent,
    Sentiment, UserId,
};
use testkit::TestDatabase;
use testkit::both_backends;

/// `salesbot` in `dir` (where no `.env` lives) with only the given variables set.
fn salesbot(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesbot"));
    cmd.current_dir(dir).args(args);
    for v in support::VARIABLES {
        cmd.env_remove(v);
    }
    cmd.env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run salesbot")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The environment that points the CLI at a test database.
fn env_of(db: &TestDatabase) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.config.database_url.expose().to_owned()),
        ("SALESBOT_MASTER_KEY", db.config.master_key.to_base64()),
        ("ADMIN_API_KEY", "cli-test-admin-key".to_owned()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[testkit::test]
fn help_lists_every_built_subcommand_and_each_has_help() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = salesbot(dir.path(), &[], &["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    for sub in [
        "serve",
        "migrate",
        "check",
        "rebuild",
        "stats",
        "reset",
        "replay",
        "erase-user",
        "export-log",
        "import-log",
        "simulate",
        "bench",
    ] {
        assert!(text.contains(sub), "--help lacks {sub}: {text}");
        let sub_help = salesbot(dir.path(), &[], &[sub, "--help"]);
        assert!(sub_help.status.success(), "{sub} --help failed");
    }
    let bench = salesbot(dir.path(), &[], &["bench", "append", "--help"]);
    assert!(stdout(&bench).contains("--writers"));
}

#[testkit::test]
fn embedded_mode_starts_from_nothing_with_a_generated_master_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = salesbot(dir.path(), &[], &["check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stdout(&check));
    assert!(stdout(&check).starts_with("database: FAIL"));
    assert!(
        !dir.path().join("data").exists(),
        "check must not create anything"
    );

    let migrate = salesbot(dir.path(), &[], &["migrate"]);
    assert!(migrate.status.success(), "{}", stderr(&migrate));
    assert!(stdout(&migrate).contains("applied"));
    let key = std::fs::read_to_string(dir.path().join("data/master.key")).expect("key written");
    assert!(event_store::MasterKey::from_base64(&key).is_ok());

    let check = salesbot(dir.path(), &[], &["check"]);
    assert!(check.status.success(), "{}", stdout(&check));
    let lines: Vec<String> = stdout(&check).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 7, "{lines:?}");
    for (line, name) in lines.iter().zip([
        "database",
        "migrations",
        "master key",
        "events",
        "head position",
        "projections",
        "parked events",
    ]) {
        assert!(line.starts_with(&format!("{name}: ok")), "{line}");
    }
    assert_eq!(lines[3], "events: ok 0");

    let again = salesbot(dir.path(), &[], &["migrate"]);
    assert!(stdout(&again).contains("up to date"), "{}", stdout(&again));
}

async fn fill(db: &TestDatabase) {
    let store = db.open_for_test().await;
    let ana = UserId::new(Channel::Telegram, "424242001").expect("id");
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z")
        .expect("time")
        .to_utc();
    store
        .append(
            &ana.stream_id(),
            ExpectedVersion::NoStream,
            vec![
                NewEvent::new(
                    ConversationStarted {
                        channel: Channel::Telegram,
                        username: Some("ana_shop".into()),
                        display_name: Some("Ana".into()),
                        language: Some("en".into()),
                        returning: false,
                    },
                    at,
                ),
                NewEvent::new(
                    MessageReceived {
                        kind: MessageKind::Text,
                        message_id: Some("2".into()),
                        text: Some("what phones do you have?".into()),
                        intent: Intent::Browse,
                        sentiment: Sentiment::Neutral,
                        product_id: None,
                        language: Some("en".into()),
                        understood_by: events_schema::UnderstoodBy::Rules,
                    },
                    at,
                ),
            ],
        )
        .await
        .expect("append");
    let bo = UserId::new(Channel::Web, "bo").expect("id");
    store
        .append(
            &bo.stream_id(),
            ExpectedVersion::NoStream,
            vec![NewEvent::new(
                MessageReceived {
                    kind: MessageKind::Text,
                    message_id: None,
                    text: Some("hello".into()),
                    intent: Intent::Greeting,
                    sentiment: Sentiment::Positive,
                    product_id: None,
                    language: Some("en".into()),
                    understood_by: events_schema::UnderstoodBy::Rules,
                },
                at,
            )],
        )
        .await
        .expect("append");
    store.close().await;
}

both_backends!(commands_work_on);
async fn commands_work_on(db: TestDatabase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db);
    let env = as_refs(&env);
    fill(&db).await;

    // Events nobody has projected: the log is fine, the read models are not.
    let check = salesbot(dir.path(), &env, &["check"]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(stdout(&check).contains("events: ok 3"));
    assert!(stdout(&check).contains("head position: ok 3"));
    assert!(
        stdout(&check).contains("projections: FAIL the projector has never run"),
        "{}",
        stdout(&check)
    );

    let rebuild = salesbot(dir.path(), &env, &["rebuild"]);
    assert!(rebuild.status.success(), "{}", stderr(&rebuild));
    assert!(
        stdout(&rebuild).contains("from 3 events (through position 3)"),
        "{}",
        stdout(&rebuild)
    );
    let one = salesbot(dir.path(), &env, &["rebuild", "users"]);
    assert!(one.status.success(), "{}", stderr(&one));
    assert!(stdout(&one).starts_with("rebuilt users from 3 events"));
    let unknown = salesbot(dir.path(), &env, &["rebuild", "revenue"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("unknown projection `revenue`; the projections are: funnel,"),
        "{}",
        stderr(&unknown)
    );
    // Rebuilt, but no worker heartbeats: check says the projections are stalled.
    let check = salesbot(dir.path(), &env, &["check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("projection users: FAIL 8 partitions, checkpoint >= 3"),
        "{}",
        stdout(&check)
    );
    assert!(stdout(&check).contains("never heartbeated"));

    let stats = salesbot(dir.path(), &env, &["stats"]);
    let text = stdout(&stats);
    assert!(text.contains("events          3"), "{text}");
    assert!(text.contains("streams         2"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["MessageReceived", "2"]),
        "{text}"
    );
    assert!(
        text.contains("first event     2026-11-20T10:00:00+00:00"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&salesbot(dir.path(), &env, &["stats", "--json"])))
            .expect("json");
    assert_eq!(json["events_by_type"]["ConversationStarted"], 1);

    let replay = salesbot(dir.path(), &env, &["replay"]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    let events: Vec<RecordedEvent> = stdout(&replay)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is an envelope"))
        .collect();
    assert_eq!(
        events.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(
        stdout(&replay).contains("\"text\":\"what phones do you have?\""),
        "decrypted"
    );
    let from = salesbot(dir.path(), &env, &["replay", "--from-position", "3"]);
    assert_eq!(stdout(&from).lines().count(), 1);
    let out = dir.path().join("log.ndjson");
    let to_file = salesbot(
        dir.path(),
        &env,
        &[
            "replay",
            "--format",
            "ndjson",
            "--out",
            out.to_str().expect("utf-8 path"),
        ],
    );
    assert!(to_file.status.success(), "{}", stderr(&to_file));
    assert_eq!(
        std::fs::read_to_string(&out).expect("file"),
        stdout(&replay)
    );

    let refused = salesbot(dir.path(), &env, &["reset"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert!(stdout(&salesbot(dir.path(), &env, &["check"])).contains("events: ok 3"));
    let reset = salesbot(dir.path(), &env, &["reset", "--yes"]);
    assert!(reset.status.success(), "{}", stderr(&reset));
    assert!(stdout(&reset).contains("deleted 3 events"));
    assert!(stdout(&salesbot(dir.path(), &env, &["check"])).contains("events: ok 0"));
    assert_eq!(stdout(&salesbot(dir.path(), &env, &["replay"])), "");
}

#[testkit::test]
fn bad_configuration_is_one_line_naming_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (var, value) in [
        ("DATABASE_URL", "mysql://localhost/shop"),
        ("PARTITIONS", "zero"),
        ("REPORT_TIMEZONE", "Mars/Olympus"),
        ("BIND_ADDR", "localhost"),
        ("SALESBOT_MASTER_KEY", "c2hvcnQ="),
        ("LOG_FORMAT", "xml"),
        ("STREAM_MAX_AGE", "forever"),
        ("STATE_CACHE_MB", "lots"),
        ("TELEGRAM_WEBHOOK_URL", "http://example.com/hook"),
    ] {
        let o = salesbot(dir.path(), &[(var, value)], &["check"]);
        assert_eq!(o.status.code(), Some(1), "{var}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{var}: {err}");
        assert!(
            err.starts_with("error: configuration: ") && err.contains(var),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!dir.path().join("data").exists(), "nothing written");
}

#[testkit::test]
fn postgres_without_a_master_key_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = salesbot(
        dir.path(),
        &[(
            "DATABASE_URL",
            "postgres://postgres:postgres@127.0.0.1:5432/postgres",
        )],
        &["migrate"],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("SALESBOT_MASTER_KEY"), "{}", stderr(&o));
    // The admin API needs its key with Postgres too; start-up refuses before listening.
    let key = event_store::MasterKey::generate().to_base64();
    let o = salesbot(
        dir.path(),
        &[
            (
                "DATABASE_URL",
                "postgres://postgres:postgres@127.0.0.1:5432/postgres",
            ),
            ("SALESBOT_MASTER_KEY", key.as_str()),
        ],
        &["serve"],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("ADMIN_API_KEY"), "{}", stderr(&o));
}

#[testkit::test]
fn an_unreachable_database_fails_check_and_commands_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = event_store::MasterKey::generate().to_base64();
    let env = [
        (
            "DATABASE_URL",
            "postgres://postgres:secret@127.0.0.1:1/shop",
        ),
        ("SALESBOT_MASTER_KEY", key.as_str()),
    ];
    let check = salesbot(dir.path(), &env, &["check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).starts_with("database: FAIL"),
        "{}",
        stdout(&check)
    );
    assert!(!stdout(&check).contains("secret"));
    let stats = salesbot(dir.path(), &env, &["stats"]);
    assert_eq!(stats.status.code(), Some(1));
    assert_eq!(stderr(&stats).lines().count(), 1, "{}", stderr(&stats));
    assert!(!stderr(&stats).contains("secret"));
}

/// `salesbot serve` (no subcommand) in `dir` on a free port; returns it once `/health` answers.
async fn spawn_serve(dir: &Path) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_salesbot"));
    cmd.current_dir(dir);
    for v in support::VARIABLES {
        cmd.env_remove(v);
    }
    let child = cmd
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("CHAT_API_KEY", support::CHAT_KEY)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn serve");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reqwest::get(format!("{url}/health"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "serve never became healthy"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    (child, url)
}

/// `salesbot serve` in `dir` with `RUST_LOG=info` and umask 022, as a newcomer's shell runs
/// it; once `/health` answers, `while_up` runs against its URL, then the server gets `signal`
/// (`TERM`: a clean stop; `KILL`: a crash). Returns everything it printed, stdout and stderr.
async fn serve_once<F, Fut>(dir: &Path, signal: &str, while_up: F) -> String
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut child = support::command("sh", dir, &[])
        .args(["-c", "umask 022 && exec \"$0\"", support::SALESBOT])
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("CHAT_API_KEY", support::CHAT_KEY)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn serve");
    // Its stderr, kept whole, is read as it comes: the start-up line says the port it bound.
    let (bound, port) = std::sync::mpsc::channel();
    let mut pipe = child.stderr.take().expect("piped stderr");
    let printed = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut all = String::new();
        for line in std::io::BufReader::new(&mut pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(p) = support::bound_port(&line) {
                let _ = bound.send(p);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let port = match port.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(p) => p,
        Err(_) => {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            let err = printed.join().unwrap_or_default();
            panic!("serve never said where it listens: {}{err}", stdout(&out));
        }
    };
    let url = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !reqwest::get(format!("{url}/health"))
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            let err = printed.join().unwrap_or_default();
            panic!("serve never became healthy: {}{err}", stdout(&out));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    while_up(url).await;
    let killed = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let out = child.wait_with_output().expect("output");
    let err = printed.join().expect("the stderr reader");
    if signal == "TERM" {
        assert!(
            out.status.success(),
            "serve exits cleanly: {:?}",
            out.status
        );
    }
    format!("{}{err}", stdout(&out))
}

#[testkit::test(flavor = "multi_thread")]
async fn the_generated_admin_key_is_printed_on_the_start_that_creates_it_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = serve_once(dir.path(), "TERM", |_| async {}).await;
    let key = std::fs::read_to_string(dir.path().join("data/admin.key")).expect("key file");
    let key = key.trim();
    assert!(key.len() >= 32, "a real key: {key}");
    assert!(
        first.contains(key),
        "the first start shows the new key: {first}"
    );

    let second = serve_once(dir.path(), "TERM", |_| async {}).await;
    assert!(
        !second.contains(key),
        "later starts never print the key: {second}"
    );
    assert!(
        second.contains("data/admin.key"),
        "later starts say where the key is kept: {second}"
    );
    for output in [&first, &second] {
        assert!(
            output.contains("/dashboard"),
            "with the dashboard URL: {output}"
        );
    }
}

/// The mode bits of the data folder and of every file in it (in octal, as `ls` shows them).
#[cfg(unix)]
fn modes(data: &Path) -> (String, Vec<(String, String)>) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| {
        let bits = std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
        format!("{bits:o}")
    };
    let mut files: Vec<(String, String)> = std::fs::read_dir(data)
        .expect("data folder")
        .map(|e| e.expect("entry").path())
        .map(|p| {
            (
                p.file_name().expect("name").to_string_lossy().into_owned(),
                mode(&p),
            )
        })
        .collect();
    files.sort();
    (mode(data), files)
}

/// Sends a few web chat messages, so the database has a WAL and shared memory in use.
#[cfg(unix)]
async fn chat(url: &str) {
    let client = reqwest::Client::new();
    for text in ["hi", "what phones do you have?", "how much is the Nova X1?"] {
        let reply = client
            .post(format!("{url}/api/messages"))
            .header("X-Chat-Key", support::CHAT_KEY)
            .json(&serde_json::json!({"user_id": "ana", "text": text}))
            .send()
            .await
            .expect("post");
        assert_eq!(reply.status(), 200, "{text}");
    }
}

#[cfg(unix)]
#[testkit::test(flavor = "multi_thread")]
async fn data_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = &dir.path().join("data");
    let private = |files: &[(String, String)]| {
        files
            .iter()
            .map(|(name, _)| (name.clone(), "600".to_owned()))
            .collect::<Vec<_>>()
    };

    // A first start, a few messages, and the files as they are while it runs.
    let seen = &std::sync::Mutex::new(None);
    let stat = |url: String| async move {
        chat(&url).await;
        *seen.lock().expect("lock") = Some(modes(data));
    };
    serve_once(dir.path(), "KILL", stat).await;
    let (folder, files) = seen.lock().expect("lock").take().expect("stat while up");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for name in [
        "admin.key",
        "master.key",
        "salesbot.db",
        "salesbot.db-shm",
        "salesbot.db-wal",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert_eq!(files, private(&files), "owner-only files");
    assert_eq!(folder, "700", "the data folder");

    // Files an older version left readable by everyone (the crash kept the WAL and shared
    // memory) are tightened at the next start, which says so.
    std::fs::set_permissions(data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (name, _) in &files {
        std::fs::set_permissions(data.join(name), std::fs::Permissions::from_mode(0o644))
            .expect("chmod");
    }
    let output = serve_once(dir.path(), "TERM", stat).await;
    let (folder, files) = seen.lock().expect("lock").take().expect("stat while up");
    assert_eq!(files, private(&files), "owner-only files");
    assert_eq!(folder, "700", "the data folder");
    for name in [
        "data",
        "data/admin.key",
        "data/master.key",
        "data/salesbot.db",
        "data/salesbot.db-wal",
        "data/salesbot.db-shm",
    ] {
        assert!(
            output.contains(&format!("{name} was readable by others")),
            "the start logs that it tightened {name}: {output}"
        );
    }
}

fn sigterm(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    child.wait().expect("wait")
}

#[testkit::test(flavor = "multi_thread")]
async fn serve_answers_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = spawn_serve(dir.path()).await;
    let body: serde_json::Value = reqwest::get(format!("{url}/health"))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["head_position"], 0);
    let status = sigterm(&mut child);
    assert!(
        status.success(),
        "serve exits cleanly on SIGTERM: {status:?}"
    );
    assert!(dir.path().join("data/salesbot.db").exists());
}

both_backends!(store_damage_is_one_line_on);
async fn store_damage_is_one_line_on(db: TestDatabase) {
    let kind = db.kind();
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db);
    let env = as_refs(&env);
    fill(&db).await;
    let (uuid, cast) = match kind {
        BackendKind::Postgres => ("gen_random_uuid()", "::jsonb"),
        BackendKind::Sqlite => ("randomblob(16)", ""),
    };
    db.execute(&format!(
        "UPDATE log_head SET position = 4; \
         INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, \
           schema_version, occurred_at, recorded_at, correlation_id, payload) \
         VALUES (4, {uuid}, 'broken', 1, 'PriceInquired', 1, '2026-11-20T10:00:00Z', \
           '2026-11-20T10:00:00Z', {uuid}, '{{\"product_id\": \"x\"}}'{cast})"
    ))
    .await;
    let replay = salesbot(dir.path(), &env, &["replay"]);
    assert_eq!(replay.status.code(), Some(1));
    let err = stderr(&replay);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("global position 4 is corrupt"), "{err}");

    let checksum = match kind {
        BackendKind::Postgres => "'\\x00'::bytea",
        BackendKind::Sqlite => "x'00'",
    };
    db.execute(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999999, 'from the future', true, {checksum}, 0)"
    ))
    .await;
    for args in [&["migrate"][..], &["stats"], &["serve"]] {
        let o = salesbot(dir.path(), &env, args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("migration 99999999"), "{err}");
    }
    let check = salesbot(dir.path(), &env, &["check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("migrations: FAIL"),
        "{}",
        stdout(&check)
    );
}

#[testkit::test]
fn simulate_is_deterministic_by_seed_and_back_dates_the_conversations() {
    let stats_after = |seed: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let o = salesbot(
            dir.path(),
            &[],
            &["simulate", "--users", "120", "--seed", seed, "--days", "14"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).starts_with("simulate: 120 shoppers"),
            "{}",
            stdout(&o)
        );
        let json: serde_json::Value =
            serde_json::from_str(&stdout(&salesbot(dir.path(), &[], &["stats", "--json"])))
                .expect("json");
        json
    };
    let a = stats_after("7");
    let b = stats_after("7");
    let c = stats_after("8");
    assert_eq!(
        a["events_by_type"], b["events_by_type"],
        "same seed, same conversations"
    );
    assert_ne!(
        a["events_by_type"], c["events_by_type"],
        "another seed, other conversations"
    );
    assert_eq!(a["streams"], 120);
    assert!(
        a["events_by_type"]["OrderPlaced"].as_i64().unwrap_or(0) > 0,
        "some shoppers buy"
    );
    let first =
        chrono::DateTime::parse_from_rfc3339(a["first_occurred_at"].as_str().expect("time"))
            .expect("rfc3339");
    let age = chrono::Utc::now().signed_duration_since(first);
    assert!(
        age > chrono::Duration::days(1) && age <= chrono::Duration::days(15),
        "back-dated: {age}"
    );
}

#[testkit::test(flavor = "multi_thread")]
async fn simulate_sends_live_traffic_to_a_running_salesbot() {
    let server_dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = spawn_serve(server_dir.path()).await;
    let client_dir = tempfile::tempdir().expect("tempdir");
    let args = [
        "simulate", "--users", "10", "--target", &url, "--rate", "200",
    ];
    // It names its shoppers as a shop's backend does, so it needs the target's chat key.
    let o = salesbot(client_dir.path(), &[], &args);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("CHAT_API_KEY"), "{}", stderr(&o));
    let o = salesbot(
        client_dir.path(),
        &[("CHAT_API_KEY", "the-wrong-key-0123456789")],
        &args,
    );
    assert!(!o.status.success(), "a wrong key sends nothing");
    let o = salesbot(
        client_dir.path(),
        &[("CHAT_API_KEY", support::CHAT_KEY)],
        &args,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sent: usize = stdout(&o)
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .expect("message count");
    let health: serde_json::Value = reqwest::get(format!("{url}/health"))
        .await
        .expect("health")
        .json()
        .await
        .expect("json");
    assert!(
        health["head_position"].as_i64().unwrap_or(0) >= i64::try_from(sent * 2).unwrap_or(0),
        "{health}"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

#[testkit::test]
fn a_bad_catalog_stops_start_up_with_the_line_and_field_at_fault() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.toml");
    std::fs::write(
        &path,
        "currency = \"USD\"\n\n[[categories]]\nid = \"phones\"\nname = \"Phones\"\n\n[[products]]\nid = \"p1\"\nname = \"P1\"\ncategory = \"phone\"\nprice = 10.00\ndescription = \"x\"\nstock = 1\n",
    )
    .expect("write catalog");
    let path = path.to_str().expect("utf-8 path");
    let o = salesbot(dir.path(), &[("CATALOG_PATH", path)], &["serve"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("line 10") && err.contains("products[0].category"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing started, nothing written"
    );
}

testkit::main!();
