//! `salesbot export-log` and `salesbot import-log` as an operator runs them: a store filled by
//! `salesbot simulate`, exported, imported into a new database of either backend, and compared
//! with the source: the log event by event (personal fields opened), every read table row by row
//! (and against the oracle's recomputation from the imported log). Erased users stay erased,
//! also one whose erasure was interrupted before the key was destroyed. A wrong master key, a
//! store that is not empty and a truncated file are refused with nothing written.

mod support;

use std::path::Path;
use std::process::Output;

use event_store::{BackendKind, EventStore, ExpectedVersion, StoreConfig};
use events_schema::{NewEvent, RecordedEvent, UserErased, UserId};
use support::{SALESBOT, command, env_of, oracle};
use testkit::TestDatabase;

const TZ: chrono_tz::Tz = chrono_tz::UTC;
/// `simulate --seed 7` names its shoppers `web:sim-7-<n>`.
const ERASED: &str = "web:sim-7-1";
/// A user whose `UserErased` is in the log while the key is still live: an erasure cut off
/// between its two steps (docs/decisions/0002-personal-data.md).
const HALF_ERASED: &str = "web:sim-7-2";

fn run(dir: &Path, env: &[(String, String)], args: &[&str]) -> Output {
    command(SALESBOT, dir, env)
        .args(args)
        .output()
        .expect("run salesbot")
}

fn ok(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{what} failed: {stderr}{}",
        String::from_utf8_lossy(&output.stdout)
    );
    stderr
}

fn refused(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{what} was not refused: {stderr}");
    stderr
}

/// The store of `db` opened with `master` (the source's key, which the import needs too).
async fn open(db: &TestDatabase, master: &event_store::MasterKey) -> EventStore {
    EventStore::open(&StoreConfig::new(
        db.config.database_url.clone(),
        master.clone(),
    ))
    .await
    .expect("open store")
}

/// Shoppers through the real command path, one user erased by `erase-user`, one with an
/// interrupted erasure, and the read models built.
async fn fill(source: &TestDatabase, dir: &Path) {
    let env = env_of(source, &[]);
    ok(
        &run(dir, &env, &["simulate", "--users", "40", "--seed", "7"]),
        "simulate",
    );
    ok(&run(dir, &env, &["erase-user", ERASED]), "erase-user");
    let store = source.open_for_test().await;
    let half: UserId = HALF_ERASED.parse().expect("user id");
    store
        .append(
            &half.stream_id(),
            ExpectedVersion::Any,
            vec![NewEvent::new(
                UserErased {
                    requested_by: "test".into(),
                },
                chrono::Utc::now(),
            )],
        )
        .await
        .expect("append UserErased");
    store.close().await;
    ok(&run(dir, &env, &["rebuild"]), "rebuild");
}

/// The events as JSON, times to the microsecond: Postgres keeps microseconds, so an event
/// SQLite recorded to the nanosecond arrives in Postgres to the microsecond (README, "Backup
/// and restore"). Every other field must be the same.
fn as_json(events: &[RecordedEvent]) -> Vec<serde_json::Value> {
    use chrono::Timelike as _;
    let micros = |t: chrono::DateTime<chrono::Utc>| {
        t.with_nanosecond(t.nanosecond() / 1_000 * 1_000)
            .expect("a valid time")
    };
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.occurred_at = micros(e.occurred_at);
            e.recorded_at = micros(e.recorded_at);
            serde_json::to_value(e).expect("event as JSON")
        })
        .collect()
}

/// Whether any personal field of the event reads in the clear.
fn readable(e: &RecordedEvent) -> bool {
    let json = serde_json::to_value(e).expect("event as JSON");
    e.event
        .event_type()
        .personal_fields()
        .iter()
        .any(|f| json["payload"].get(*f).is_some_and(|v| !v.is_null()))
}

fn users_events<'a>(events: &'a [RecordedEvent], user: &str) -> Vec<&'a RecordedEvent> {
    events
        .iter()
        .filter(|e| e.stream_id.user_id().is_some_and(|u| u.as_str() == user))
        .collect()
}

async fn round_trip(from: BackendKind, to: BackendKind, file: &str) {
    let source = TestDatabase::new(from).await;
    let target = TestDatabase::new(to).await;
    let dir = tempfile::tempdir().expect("tempdir");
    fill(&source, dir.path()).await;
    let master = source.config.master_key.clone();

    let exported = ok(
        &run(dir.path(), &env_of(&source, &[]), &["export-log", file]),
        "export-log",
    );
    assert!(exported.contains("export-log: wrote"), "{exported}");
    let mut target_env = env_of(&target, &[]);
    for (k, v) in &mut target_env {
        if k == "SALESBOT_MASTER_KEY" {
            *v = master.to_base64();
        }
    }
    let imported = ok(
        &run(dir.path(), &target_env, &["import-log", file]),
        "import-log",
    );
    assert!(imported.contains("import-log: restored"), "{imported}");
    assert!(imported.contains("read models rebuilt"), "{imported}");
    assert!(
        imported.contains("erasure applied again to 1 user(s)"),
        "the interrupted erasure was not applied again: {imported}"
    );

    let source_store = open(&source, &master).await;
    let target_store = open(&target, &master).await;
    // The half-erased user reads in the clear in the source (its key is live there) and
    // erased after the import.
    let before = oracle::log(&source_store).await;
    let half = users_events(&before, HALF_ERASED);
    assert!(half.iter().any(|e| readable(e)), "the source kept the key");
    let after = oracle::log(&target_store).await;
    assert!(
        users_events(&after, HALF_ERASED)
            .iter()
            .all(|e| !readable(e)),
        "an erased user's text came back after the import"
    );
    assert!(
        users_events(&after, ERASED).iter().all(|e| !readable(e)),
        "an erased user's text came back after the import"
    );
    assert!(
        after.iter().filter(|e| readable(e)).count() > 100,
        "the other users' events must open: {}",
        after.len()
    );
    // Finishing the interrupted erasure in the source makes the two logs the same, event by
    // event, personal fields and erased flags included.
    ok(
        &run(
            dir.path(),
            &env_of(&source, &[]),
            &["erase-user", HALF_ERASED],
        ),
        "erase-user again",
    );
    let before = oracle::log(&source_store).await;
    assert_eq!(before.len(), after.len(), "event counts");
    if let Some((b, a)) = as_json(&before)
        .into_iter()
        .zip(as_json(&after))
        .find(|(b, a)| b != a)
    {
        panic!("the imported log differs:\n source {b}\n target {a}");
    }
    assert_eq!(
        source_store.head_position().await.expect("head"),
        target_store.head_position().await.expect("head")
    );

    // Every read table: as the projector builds it from the imported log, and, on the same
    // backend, as the source's (the source was rebuilt before its last erasure was finished,
    // which changes no read table: the erasure's event was in the log already).
    let expected = oracle::expected(&target_store, TZ).await;
    let actual = oracle::actual(&target_store).await;
    oracle::assert_same(&expected, &actual);
    let sizes = oracle::sizes(&actual);
    assert!(
        sizes["users"] > 30 && sizes["conversation_messages"] > 100,
        "{sizes:?}"
    );
    if from == to {
        oracle::assert_same(&oracle::actual(&source_store).await, &actual);
    }

    // The store can take new events after the import, after the imported head.
    let head = target_store.head_position().await.expect("head");
    let shopper: UserId = "web:after-import".parse().expect("user id");
    let appended = target_store
        .append(
            &shopper.stream_id(),
            ExpectedVersion::NoStream,
            vec![NewEvent::new(
                UserErased {
                    requested_by: "test".into(),
                },
                chrono::Utc::now(),
            )],
        )
        .await
        .expect("append after import");
    assert_eq!(appended.first_position, head + 1);
    source_store.close().await;
    target_store.close().await;
}

#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite_round_trip_gzip() {
    round_trip(BackendKind::Sqlite, BackendKind::Sqlite, "log.ndjson.gz").await;
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_postgres_round_trip_gzip() {
    round_trip(
        BackendKind::Postgres,
        BackendKind::Postgres,
        "log.ndjson.gz",
    )
    .await;
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_round_trip_plain() {
    round_trip(BackendKind::Sqlite, BackendKind::Postgres, "log.ndjson").await;
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn postgres_to_sqlite_round_trip_plain() {
    round_trip(BackendKind::Postgres, BackendKind::Sqlite, "log.ndjson").await;
}

async fn events_in(db: &TestDatabase, master: &event_store::MasterKey) -> i64 {
    let store = open(db, master).await;
    let head = store.head_position().await.expect("head");
    let events = store.read_all(0, 10).await.expect("read").len();
    store.close().await;
    head + i64::try_from(events).expect("count")
}

testkit::both_backends!(bad_imports_write_nothing_on);
async fn bad_imports_write_nothing_on(target: TestDatabase) {
    let source = TestDatabase::new(target.kind()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&source, &[]);
    ok(
        &run(
            dir.path(),
            &env,
            &["simulate", "--users", "10", "--seed", "7"],
        ),
        "simulate",
    );
    ok(
        &run(dir.path(), &env, &["export-log", "log.ndjson"]),
        "export-log",
    );
    let again = refused(
        &run(dir.path(), &env, &["export-log", "log.ndjson"]),
        "export over a file",
    );
    assert!(again.contains("does not overwrite"), "{again}");

    // The target's own master key is not the one the file was written under.
    let wrong = refused(
        &run(
            dir.path(),
            &env_of(&target, &[]),
            &["import-log", "log.ndjson"],
        ),
        "import with another master key",
    );
    assert!(wrong.contains("different master key"), "{wrong}");
    assert!(wrong.contains("nothing was written"), "{wrong}");

    let mut right = env_of(&target, &[]);
    for (k, v) in &mut right {
        if k == "SALESBOT_MASTER_KEY" {
            *v = source.config.master_key.to_base64();
        }
    }
    // A file cut short: everything before the cut is rolled back.
    let text = std::fs::read_to_string(dir.path().join("log.ndjson")).expect("read backup");
    let lines: Vec<&str> = text.lines().collect();
    let cut = lines[..lines.len() - 1].join("\n") + "\n";
    std::fs::write(dir.path().join("cut.ndjson"), cut).expect("write cut backup");
    let truncated = refused(
        &run(dir.path(), &right, &["import-log", "cut.ndjson"]),
        "import of a truncated file",
    );
    assert!(truncated.contains("truncated"), "{truncated}");
    assert_eq!(events_in(&target, &source.config.master_key).await, 0);

    // A store that already holds events is refused whole.
    ok(
        &run(dir.path(), &right, &["import-log", "log.ndjson"]),
        "import-log",
    );
    let full = refused(
        &run(dir.path(), &right, &["import-log", "log.ndjson"]),
        "import into a store that is not empty",
    );
    assert!(full.contains("not empty"), "{full}");
    let store = open(&target, &source.config.master_key).await;
    let source_store = open(&source, &source.config.master_key).await;
    assert_eq!(
        as_json(&oracle::log(&store).await),
        as_json(&oracle::log(&source_store).await)
    );
    store.close().await;
    source_store.close().await;
}

testkit::main!();
