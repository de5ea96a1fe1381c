//! The whole pipeline as it runs: simulated shoppers append through the real command path, the
//! relay publishes to a real nats-server, projector processes fold the events into the read
//! tables, and every row of every read table must equal an independent recomputation from the
//! raw log (tests/support/oracle.rs), after SIGKILLs, a NATS outage, redelivered events and
//! rebuilds under traffic. Both modes: embedded (SQLite, in process) and distributed
//! (Postgres + JetStream).

mod support;

use std::time::Duration;

use event_store::progress::STALE_AFTER;
use event_store::{EventStore, ExpectedVersion};
use events_schema::{NewEvent, UserErased, UserId};
use rand::{Rng as _, SeedableRng as _};
use support::{
    Proc, SALESBOT, Served, command, env_of, finished, oracle, simulate, wait_caught_up,
};
use testkit::{NatsServer, TestDatabase};

const COMMAND_SERVICE: &str = env!("CARGO_BIN_EXE_command-service");
const PROJECTOR: &str = env!("CARGO_BIN_EXE_projector");

/// Erases `n` users the way the admin does: the key destroyed and `UserErased` recorded.
async fn erase_some(store: &EventStore, n: usize) -> Vec<UserId> {
    let mut erased = Vec::new();
    let mut after = 0;
    while erased.len() < n {
        let batch = store.read_all(after, 1_000).await.expect("read");
        let Some(last) = batch.last() else { break };
        after = last.global_position;
        for e in batch {
            if let Some(user) = e.stream_id.user_id()
                && !erased.contains(&user)
                && erased.len() < n
                && e.global_position % 7 == 0
            {
                assert!(store.destroy_user_key(&user).await.expect("destroy key"));
                let stream = user.stream_id();
                store
                    .append(
                        &stream,
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
                erased.push(user);
            }
        }
    }
    erased
}

async fn reconcile(
    store: &EventStore,
    tz: chrono_tz::Tz,
) -> std::collections::BTreeMap<&'static str, usize> {
    let expected = oracle::expected(store, tz).await;
    let actual = oracle::actual(store).await;
    oracle::assert_same(&expected, &actual);
    oracle::sizes(&expected)
}

#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn distributed_read_models_reconcile_through_kills_an_outage_and_redelivery() {
    let db = TestDatabase::for_test().await;
    let mut nats = NatsServer::start().await;
    let tz: chrono_tz::Tz = "America/New_York".parse().expect("tz");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let env = env_of(
        &db,
        &[
            ("NATS_URL", url.as_str()),
            ("REPORT_TIMEZONE", tz.name()),
            ("PARTITIONS", "4"),
        ],
    );
    let (commands, mut workers) = support::start_command_and_workers(dir.path(), &env).await;
    let mut sim = simulate(
        dir.path(),
        &env,
        &[
            "--users", "1000", "--days", "30", "--seed", "11", "--rate", "900",
        ],
    );
    // Chaos while the shoppers chat: SIGKILL a random worker and start it again, at random
    // moments, at least ten times; stop NATS for a while on the fourth.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut kills = 0;
    while kills < 10 || !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(150..700))).await;
        if kills < 10 {
            let w = rng.random_range(0..workers.len());
            workers[w].kill();
            if kills == 4 {
                nats.stop();
                tokio::time::sleep(Duration::from_millis(1_500)).await;
                nats.restart().await;
            }
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
            workers[w].restart();
            kills += 1;
        }
    }
    let store = EventStore::open(&db.config).await.expect("open store");
    let erased = erase_some(&store, 3).await;
    assert_eq!(erased.len(), 3);
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    let sizes = reconcile(&store, tz).await;
    assert!(sizes["users"] > 900, "{sizes:?}");
    assert!(sizes["sales_days"] > 20, "{sizes:?}");

    // Events delivered twice: the consumers are rewound to the start of the stream, so every
    // event arrives again; none may count twice.
    for w in &mut workers {
        w.kill();
    }
    if let event_store::Pool::Postgres(p) = store.pool() {
        sqlx::query("UPDATE projection_checkpoints SET stream_seq = 0")
            .execute(p)
            .await
            .expect("rewind");
    }
    for w in &mut workers {
        w.restart();
    }
    // Something new behind the replay, so "caught up" means the replay went through.
    let mut more = simulate(
        dir.path(),
        &env,
        &["--users", "20", "--days", "1", "--seed", "12"],
    );
    while !finished(&mut more) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, tz).await;

    // The metrics every process serves tell the same story.
    let metrics = workers[0].get("/metrics").await.text().await.expect("text");
    assert!(
        metrics.contains("salesbot_projection_lag_events{projection=\"funnel\",partition=\"0\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("salesbot_relay_lag_events 0"), "{metrics}");
    let health = commands.get("/health").await;
    assert_eq!(health.status(), 200);
    store.close().await;
}

#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_worker_is_reported_stalled_and_its_partitions_are_taken_over() {
    let db = TestDatabase::for_test().await;
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let env = env_of(&db, &[("NATS_URL", url.as_str()), ("PARTITIONS", "4")]);
    let commands = Proc::start(COMMAND_SERVICE, dir.path(), &env);
    let mut a = Proc::start(PROJECTOR, dir.path(), &env);
    let b = Proc::start(PROJECTOR, dir.path(), &env);
    commands.wait_ready().await;
    a.wait_ready().await;
    b.wait_ready().await;
    let store = EventStore::open(&db.config).await.expect("open store");
    // Two workers share the four partitions.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let p = store
            .progress(Duration::from_secs(10))
            .await
            .expect("progress");
        let workers: std::collections::BTreeSet<_> = p
            .partitions
            .iter()
            .filter_map(|x| x.worker.clone())
            .collect();
        if workers.len() == 2 && p.partitions.iter().all(|x| !x.stalled) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not shared: {p:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    a.kill();
    let mut sim = simulate(
        dir.path(),
        &env,
        &["--users", "200", "--days", "3", "--seed", "5"],
    );
    while !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The survivor takes every partition and catches up; totals reconcile.
    wait_caught_up(&store, true, Duration::from_secs(60)).await;
    reconcile(&store, chrono_tz::UTC).await;

    // With every worker gone, nothing looks caught up for long: check fails naming the
    // stalled partitions.
    drop(b);
    // Wait for the progress `check` reads to call every partition stalled (silent for
    // STALE_AFTER), rather than for a fixed time.
    let deadline = tokio::time::Instant::now() + STALE_AFTER * 3;
    loop {
        let p = store.progress(STALE_AFTER).await.expect("progress");
        if !p.partitions.is_empty() && p.partitions.iter().all(|x| x.stalled) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still live after the last worker died: {p:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let check = command(SALESBOT, dir.path(), &env)
        .arg("check")
        .output()
        .expect("check");
    let out = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}");
    assert!(out.contains("projection funnel: FAIL"), "{out}");
    assert!(out.contains("degraded: partition 0 silent for"), "{out}");
    store.close().await;
}

#[testkit::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_read_models_reconcile_after_repeated_sigkills() {
    let db = TestDatabase::sqlite_for_test();
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().expect("tz");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[("REPORT_TIMEZONE", tz.name())]);
    let mut server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let mut sim = simulate(
        dir.path(),
        &env,
        &[
            "--users", "1000", "--days", "30", "--seed", "21", "--rate", "1500",
        ],
    );
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut kills = 0;
    while kills < 10 || !finished(&mut sim) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..500))).await;
        if kills < 10 {
            server.restart();
            kills += 1;
        }
    }
    let store = EventStore::open(&db.config).await.expect("open store");
    erase_some(&store, 2).await;
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    let sizes = reconcile(&store, tz).await;
    assert!(sizes["users"] > 900, "{sizes:?}");
    store.close().await;
}

testkit::both_backends!(rebuilds_under_traffic_never_show_a_partial_table);
async fn rebuilds_under_traffic_never_show_a_partial_table(db: TestDatabase) {
    // A log to rebuild, then traffic while rebuilding.
    let Served {
        dir,
        env,
        server: _server,
        store,
    } = Served::simulated(&db, &[], &["--users", "300", "--days", "10", "--seed", "3"]).await;
    let mut traffic = simulate(
        dir.path(),
        &env,
        &[
            "--users", "300", "--days", "2", "--seed", "4", "--rate", "400",
        ],
    );
    // A reader watching totals that traffic only ever raises.
    let pool = store.pool().clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone();
    let reader = tokio::spawn(async move {
        let sql = "SELECT (SELECT COUNT(*) FROM users), \
                          (SELECT CAST(COALESCE(SUM(messages), 0) AS BIGINT) FROM business_days), \
                          (SELECT COUNT(*) FROM funnel_user_days), \
                          (SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM product_days), \
                          (SELECT COUNT(*) FROM conversation_messages), \
                          (SELECT CAST(COALESCE(SUM(orders), 0) AS BIGINT) FROM sales_days)";
        let mut last = [0i64; 6];
        let mut reads = 0u64;
        while !stopped.is_cancelled() {
            let row: (i64, i64, i64, i64, i64, i64) = event_store::db::query(sql)
                .fetch_one(&pool)
                .await
                .expect("the read tables are always there");
            let now = [row.0, row.1, row.2, row.3, row.4, row.5];
            for (i, (n, l)) in now.iter().zip(last).enumerate() {
                assert!(*n >= l && *n > 0, "figure {i} went from {l} to {n}");
            }
            last = now;
            reads += 1;
        }
        reads
    });
    // Small flushes, so that rows are written again by later flushes (upserts over plain
    // inserts, counters held across flushes), as in a rebuild of a long log.
    for args in [
        &["rebuild", "--flush-events", "700"][..],
        &["rebuild", "funnel", "--flush-events", "500"],
        &["rebuild"],
    ] {
        let out = command(SALESBOT, dir.path(), &env)
            .args(args)
            .output()
            .expect("rebuild");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    while !finished(&mut traffic) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let reads = reader.await.expect("reader never saw a partial table");
    assert!(reads > 10, "the reader read {reads} times");
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    reconcile(&store, chrono_tz::UTC).await;
    store.close().await;
}

#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn the_bot_keeps_answering_while_nats_is_down_and_the_relay_catches_up_in_order() {
    let db = TestDatabase::for_test().await;
    let mut nats = NatsServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let env = env_of(&db, &[("NATS_URL", url.as_str()), ("PARTITIONS", "8")]);
    let commands = Proc::start(COMMAND_SERVICE, dir.path(), &env);
    commands.wait_ready().await;
    nats.stop();
    let client = reqwest::Client::new();
    let secret = "my secret phone number is 555-0100";
    for (user, text) in [("ana", "hi"), ("ana", secret), ("bob", "show me phones")] {
        let reply = client
            .post(format!("http://127.0.0.1:{}/api/messages", commands.port))
            .header("X-Chat-Key", support::CHAT_KEY)
            .json(&serde_json::json!({"user_id": user, "text": text}))
            .send()
            .await
            .expect("post");
        assert_eq!(reply.status(), 200, "the bot answers while NATS is down");
    }
    let health = commands.get("/health").await;
    assert_eq!(health.status(), 503, "health says NATS is down");
    let store = EventStore::open(&db.config).await.expect("open store");
    let head = store.head_position().await.expect("head");
    assert!(head >= 6);
    nats.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.checkpoint("relay").await.expect("checkpoint") != Some(head) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the relay did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The stream holds the log once, in order, with no personal data in sight.
    let client = async_nats::connect(url.as_str()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream("SALESBOT_EVENTS").await.expect("stream");
    let log = store.read_all(0, 1_000).await.expect("log");
    assert_eq!(log.len() as i64, head);
    for (seq, event) in (1u64..).zip(&log) {
        let m = stream.get_raw_message(seq).await.expect("message");
        let partition = event.stream_id.partition(8);
        assert_eq!(
            m.subject.as_str(),
            format!(
                "salesbot.events.{partition}.{}",
                event.event.event_type().as_str()
            )
        );
        let headers = m.headers;
        assert_eq!(
            headers.get("Nats-Msg-Id").map(|v| v.as_str().to_owned()),
            Some(event.event_id.to_string())
        );
        assert_eq!(
            headers
                .get("Salesbot-Position")
                .map(|v| v.as_str().to_owned()),
            Some(event.global_position.to_string())
        );
        let body = String::from_utf8_lossy(&m.payload);
        assert!(
            !body.contains("555-0100"),
            "personal data in JetStream: {body}"
        );
        let stored: event_store::StoredEvent =
            serde_json::from_slice(&m.payload).expect("stored form");
        let opened = store.open_stored(vec![stored]).await.expect("open");
        assert_eq!(&opened[0], event, "the store opens what JetStream carries");
    }
    assert!(
        log.iter()
            .any(|e| serde_json::to_string(e).expect("json").contains("555-0100")),
        "the log itself has the text, sealed"
    );
    store.close().await;
}

testkit::main!();
