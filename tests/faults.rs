//! Trust under faults: the distributed system (command service, relay, projector workers on
//! Postgres and a private nats-server, as real processes) meets the faults an operator meets,
//! and afterwards every read table equals the independent recomputation from the log
//! (tests/support/oracle.rs).

mod support;

use std::time::Duration;

use event_store::EventStore;
use support::faults::{HealthWatch, append_poison, assert_recovers, reconcile};
use support::{Proc, env_of, finished, simulate, wait_caught_up};
use testkit::{NatsServer, TestDatabase};

const COMMAND_SERVICE: &str = env!("CARGO_BIN_EXE_command-service");
const PROJECTOR: &str = env!("CARGO_BIN_EXE_projector");
const QUERY_API: &str = env!("CARGO_BIN_EXE_query-api");

/// The distributed system of one fault test, as processes: the command service (with the
/// relay), the query API and one projector worker, on a fresh database and a private
/// nats-server. Every field is bound by the tests, so nothing stops early.
struct System {
    db: TestDatabase,
    nats: NatsServer,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    commands: Proc,
    query: Proc,
    worker: Proc,
    store: EventStore,
}

impl System {
    /// Starts it with `extra` variables besides `NATS_URL`, and waits until every process
    /// answers.
    async fn start(extra: &[(&str, &str)]) -> System {
        let db = TestDatabase::for_test().await;
        let nats = NatsServer::start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let url = nats.url();
        let mut vars = vec![("NATS_URL", url.as_str())];
        vars.extend_from_slice(extra);
        let env = env_of(&db, &vars);
        let commands = Proc::start(COMMAND_SERVICE, dir.path(), &env);
        let query = Proc::start(QUERY_API, dir.path(), &env);
        let worker = Proc::start(PROJECTOR, dir.path(), &env);
        for p in [&commands, &query, &worker] {
            p.wait_ready().await;
        }
        let store = EventStore::open(&db.config).await.expect("open store");
        System {
            db,
            nats,
            dir,
            env,
            commands,
            query,
            worker,
            store,
        }
    }
}

/// Whether a degraded answer `watch` saw named a partition with `fault` (any fault, or
/// stalled, for `None`).
fn saw_fault(watch: &HealthWatch, fault: Option<&str>) -> bool {
    watch.saw(|body| {
        body["projections"].as_array().is_some_and(|ps| {
            ps.iter().any(|p| match fault {
                None => p["fault"].is_string() || p["stalled"] == true,
                Some(f) => p["fault"] == f,
            })
        })
    })
}

/// `salesbot simulate` with `args` run to its end.
async fn shoppers(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) {
    let mut sim = simulate(dir, env, args);
    while !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A worker frozen (SIGSTOP) for several ack waits while shoppers chat: JetStream delivers its
/// unacknowledged messages again, interleaved with new ones, and every event must still count
/// once.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_paused_past_the_ack_wait_counts_every_event_once() {
    let tz = chrono_tz::UTC;
    let System {
        db: _db,
        nats: _nats,
        dir,
        env,
        commands: _commands,
        query: _query,
        worker,
        store,
    } = System::start(&[("PARTITIONS", "2"), ("STREAM_ACK_WAIT", "1s")]).await;
    let mut sim = simulate(
        dir.path(),
        &env,
        &[
            "--users", "1500", "--days", "3", "--seed", "21", "--rate", "120",
        ],
    );
    // Three pauses of four ack waits each, with the worker running in between.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        worker.pause();
        tokio::time::sleep(Duration::from_secs(4)).await;
        worker.resume();
    }
    assert!(
        !finished(&mut sim),
        "the shoppers stopped before the last pause"
    );
    while !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, tz).await;
    store.close().await;
}

/// The stream deleted under a running system: JetStream no longer holds what the checkpoints
/// point into, and the relay makes the stream anew. The store is the system of record: every
/// figure must come out whole, and health must say the projection was degraded meanwhile.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_stream_loses_nothing_and_health_tells_meanwhile() {
    let System {
        db: _db,
        nats,
        dir,
        env,
        commands: _commands,
        query,
        worker: _worker,
        store,
    } = System::start(&[("PARTITIONS", "4")]).await;
    shoppers(
        dir.path(),
        &env,
        &["--users", "100", "--days", "3", "--seed", "31"],
    )
    .await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    let before = store.head_position().await.expect("head");

    let watch = HealthWatch::start(query.port);
    let client = async_nats::connect(&nats.url())
        .await
        .expect("connect to NATS");
    let js = async_nats::jetstream::new(client);
    js.delete_stream(event_store::transport::STREAM_NAME)
        .await
        .expect("delete the stream");
    shoppers(
        dir.path(),
        &env,
        &["--users", "100", "--days", "3", "--seed", "32"],
    )
    .await;
    assert!(store.head_position().await.expect("head") > before * 3 / 2);
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, chrono_tz::UTC).await;
    assert!(
        saw_fault(&watch, None),
        "health never reported the partitions degraded: {:?}",
        watch.degraded()
    );
    assert_recovers(&query, Duration::from_secs(20)).await;
    store.close().await;
}

/// `STREAM_MAX_AGE` drops messages a paused worker never received: the store fills them in,
/// and health names the partition's `stream_gap` while that happens.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_stream_trimmed_past_a_worker_loses_nothing_and_health_names_the_gap() {
    let System {
        db: _db,
        nats: _nats,
        dir,
        env,
        commands: _commands,
        query,
        worker,
        store,
    } = System::start(&[("PARTITIONS", "2"), ("STREAM_MAX_AGE", "2s")]).await;
    let watch = HealthWatch::start(query.port);
    worker.pause();
    shoppers(
        dir.path(),
        &env,
        &["--users", "100", "--days", "3", "--seed", "41"],
    )
    .await;
    // Long enough for every message of the batch to expire unread.
    tokio::time::sleep(Duration::from_secs(4)).await;
    worker.resume();
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, chrono_tz::UTC).await;
    assert!(
        saw_fault(&watch, Some("stream_gap")),
        "health never named the gap: {:?}",
        watch.degraded()
    );
    assert_recovers(&query, Duration::from_secs(20)).await;
    store.close().await;
}

/// Someone publishes a message with a forged position into the stream: neither the projector
/// nor the relay (which reads the stream's last message when it starts) may take its word.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_forged_position_in_the_stream_is_ignored() {
    let System {
        db: _db,
        nats,
        dir,
        env,
        mut commands,
        query: _query,
        worker: _worker,
        store,
    } = System::start(&[("PARTITIONS", "2")]).await;
    shoppers(
        dir.path(),
        &env,
        &["--users", "30", "--days", "2", "--seed", "51"],
    )
    .await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;

    // A copy of the stream's last message, claiming a position far ahead, with a new id.
    let client = async_nats::connect(&nats.url())
        .await
        .expect("connect to NATS");
    let js = async_nats::jetstream::new(client);
    let mut stream = js
        .get_stream(event_store::transport::STREAM_NAME)
        .await
        .expect("stream");
    let last = stream.info().await.expect("info").state.last_sequence;
    let message = stream.get_raw_message(last).await.expect("last message");
    let mut forged: serde_json::Value = serde_json::from_slice(&message.payload).expect("json");
    let position = 1_000_000_000i64;
    forged["global_position"] = position.into();
    forged["event_id"] = uuid::Uuid::new_v4().to_string().into();
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        event_store::transport::POSITION_HEADER,
        position.to_string().as_str(),
    );
    js.publish_with_headers(
        message.subject.to_string(),
        headers,
        serde_json::to_vec(&forged).expect("json").into(),
    )
    .await
    .expect("publish")
    .await
    .expect("stored");
    // The relay starts again and looks at the stream's tip.
    commands.restart();
    commands.wait_ready().await;
    shoppers(
        dir.path(),
        &env,
        &["--users", "30", "--days", "2", "--seed", "52"],
    )
    .await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    let progress = store
        .progress(Duration::from_secs(10))
        .await
        .expect("progress");
    assert!(
        progress.partitions.iter().all(|p| p.checkpoint < position),
        "{progress:?}"
    );
    reconcile(&store, chrono_tz::UTC).await;
    store.close().await;
}

testkit::main!();

/// The admin API's parked events (`GET /admin/parked-events`).
async fn parked(query: &Proc) -> Option<Vec<serde_json::Value>> {
    let r = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/admin/parked-events",
            query.port
        ))
        .header("X-API-Key", "test-admin-key")
        .send()
        .await
        .expect("request");
    if !r.status().is_success() {
        return None;
    }
    let body: serde_json::Value = r.json().await.expect("json");
    body["events"].as_array().cloned()
}

/// An event the projector cannot decode (a newer release wrote it during a rolling upgrade)
/// must not wedge its partition nor hide behind a green health: it is parked with the reason,
/// shown by the admin API and `salesbot check`, health answers 503 naming the partition, the
/// rest of the log keeps flowing, and once the event decodes (the upgrade done) it is applied
/// in order, so the figures end exact.
#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_event_is_parked_named_and_applied_once_it_decodes() {
    let System {
        db,
        nats: _nats,
        dir,
        env,
        commands: _commands,
        query,
        worker: _worker,
        store,
    } = System::start(&[("PARTITIONS", "2")]).await;
    shoppers(
        dir.path(),
        &env,
        &["--users", "40", "--days", "2", "--seed", "61"],
    )
    .await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;

    let stream = "user-web:poisoned";
    append_poison(&db, stream).await;
    let watch = HealthWatch::start(query.port);
    // The rest of the log keeps flowing past it.
    shoppers(
        dir.path(),
        &env,
        &["--users", "40", "--days", "2", "--seed", "62"],
    )
    .await;
    wait_caught_up(&store, true, Duration::from_secs(60)).await;

    // Health says so, naming the partition: the figures lack an event of the log.
    let partition = events_schema::StreamId::new(stream)
        .expect("stream id")
        .partition(2);
    let r = query.get("/admin/health").await;
    let status = r.status();
    let body: serde_json::Value = r.json().await.expect("health body");
    assert_eq!(
        status, 503,
        "health is green while events are not applied: {body}"
    );
    assert!(
        body["projections"].as_array().is_some_and(|ps| ps
            .iter()
            .any(|p| p["partition"] == partition && p["parked"].as_i64() > Some(0))),
        "health does not name the partition: {body}"
    );
    // Both rows of that stream wait, the second behind the first, each with its reason.
    let events = parked(&query).await.expect("GET /admin/parked-events");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        events.iter().all(|e| e["stream_id"] == stream),
        "{events:?}"
    );
    assert!(
        events[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("schema version 99")),
        "{events:?}"
    );
    assert_eq!(events[0]["partition"], partition, "{events:?}");
    let check = support::command(env!("CARGO_BIN_EXE_salesbot"), dir.path(), &env)
        .arg("check")
        .output()
        .expect("check");
    let out = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}");
    assert!(
        out.contains("parked") && out.contains("schema version 99"),
        "{out}"
    );

    // The upgrade: the row decodes now. It and the one behind it are applied, in order.
    let current = events_schema::EventType::MessageReceived.current_version();
    db.execute(&format!(
        "UPDATE events SET schema_version = {current} WHERE stream_id = '{stream}'"
    ))
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while parked(&query).await.is_some_and(|e| !e.is_empty()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the parked events were never applied"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        watch.degraded().iter().any(|body| body["projections"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["parked"].as_i64() > Some(0)))),
        "health never reported the parked events: {:?}",
        watch.degraded()
    );
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, chrono_tz::UTC).await;
    assert_recovers(&query, Duration::from_secs(20)).await;
    store.close().await;
}
