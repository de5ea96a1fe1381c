//! The fault matrix (docs/architecture.md, "Tests"): one long-running distributed system (two
//! command services, three projector workers over four partitions, the query API, a private
//! nats-server and a private Postgres cluster), shoppers chatting all along, and a seeded
//! schedule of faults of every kind an operator meets. After each fault: the system catches up
//! by itself, every read table equals the independent recomputation from the log
//! (tests/support/oracle.rs), `/admin/health` answered 503 naming the degraded part while it
//! lasted (where the fault lasts long enough to be seen) and is green again.
//!
//! `FAULT_MATRIX_SEED` (default 15) and `FAULT_MATRIX_FAULTS` (default 50) choose the schedule,
//! `FAULT_MATRIX_KINDS` (comma-separated, e.g. `nats_down,relay`) narrows it to some kinds
//! (three of each at least); the per-kind summary goes to stderr.

mod support;

use std::collections::BTreeMap;
use std::process::Child;
use std::time::{Duration, Instant};

use event_store::EventStore;
use event_store::progress::STALE_AFTER;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use support::cluster::PrivatePostgres;
use support::faults::{HealthWatch, append_poison, assert_recovers, reconcile};
use support::{Proc, env_of, simulate, wait_caught_up};
use testkit::{NatsServer, ScratchDatabase};

const COMMAND_SERVICE: &str = env!("CARGO_BIN_EXE_command-service");
const PROJECTOR: &str = env!("CARGO_BIN_EXE_projector");
const QUERY_API: &str = env!("CARGO_BIN_EXE_query-api");

const PARTITIONS: u32 = 4;
const WORKERS: usize = 3;
/// Long enough for health to see a frozen worker or a dead relay (its threshold is
/// `STALE_AFTER`), with a poll or two to spare.
const SEEN_AFTER: Duration = Duration::from_secs(STALE_AFTER.as_secs() + 3);
/// How long Postgres stays down.
const POSTGRES_DOWN: Duration = Duration::from_secs(7);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// Every command service SIGKILLed while shoppers post to one (appends in flight, group
    /// commits cut), down long enough for health to name the relay, then started again.
    CommandService,
    /// The command service holding the relay lease SIGKILLed; the other takes over.
    Relay,
    /// A projector worker holding partitions SIGKILLed, then started again.
    Worker,
    /// A projector worker holding partitions SIGSTOPped past the ack wait (and past
    /// `STALE_AFTER`, so health sees it), then SIGCONT.
    PausedWorker,
    /// nats-server down for 30 s while messages keep arriving.
    NatsDown,
    /// The Postgres server stopped for 7 s (alternately a fast shutdown and a crash), then
    /// started again.
    PostgresRestart,
    /// The JetStream stream deleted.
    StreamDeleted,
    /// An event the projector cannot decode inserted, later made decodable.
    PoisonEvent,
}

impl Kind {
    const ALL: [Kind; 8] = [
        Kind::CommandService,
        Kind::Relay,
        Kind::Worker,
        Kind::PausedWorker,
        Kind::NatsDown,
        Kind::PostgresRestart,
        Kind::StreamDeleted,
        Kind::PoisonEvent,
    ];
    /// The kinds that take seconds, not tens of seconds: the schedule's filler.
    const QUICK: [Kind; 5] = [
        Kind::Relay,
        Kind::Worker,
        Kind::PostgresRestart,
        Kind::StreamDeleted,
        Kind::PoisonEvent,
    ];

    /// The name `FAULT_MATRIX_KINDS` takes.
    fn key(self) -> &'static str {
        match self {
            Kind::CommandService => "command_service",
            Kind::Relay => "relay",
            Kind::Worker => "worker",
            Kind::PausedWorker => "paused_worker",
            Kind::NatsDown => "nats_down",
            Kind::PostgresRestart => "postgres_restart",
            Kind::StreamDeleted => "stream_deleted",
            Kind::PoisonEvent => "poison_event",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::CommandService => "SIGKILL command-service",
            Kind::Relay => "SIGKILL relay holder",
            Kind::Worker => "SIGKILL worker",
            Kind::PausedWorker => "SIGSTOP worker",
            Kind::NatsDown => "NATS down 30 s",
            Kind::PostgresRestart => "Postgres restart",
            Kind::StreamDeleted => "stream deleted",
            Kind::PoisonEvent => "poison event",
        }
    }

    /// Whether a shopper's message may fail while this fault lasts (its path is cut).
    fn cuts_appends(self) -> bool {
        matches!(self, Kind::PostgresRestart)
    }
}

/// At least three of every kind of `kinds`, then quick ones up to `total`, in a seeded order.
fn schedule(rng: &mut rand_chacha::ChaCha8Rng, kinds: &[Kind], total: usize) -> Vec<Kind> {
    let mut faults: Vec<Kind> = kinds.iter().flat_map(|k| [*k; 3]).collect();
    let quick: Vec<Kind> = Kind::QUICK
        .into_iter()
        .filter(|k| kinds.contains(k))
        .collect();
    while faults.len() < total && !quick.is_empty() {
        faults.push(quick[rng.random_range(0..quick.len())]);
    }
    faults.shuffle(rng);
    faults
}

/// The kinds `FAULT_MATRIX_KINDS` names (comma-separated keys), all when unset.
fn selected_kinds() -> Vec<Kind> {
    match std::env::var("FAULT_MATRIX_KINDS") {
        Err(_) => Kind::ALL.to_vec(),
        Ok(list) => list
            .split(',')
            .map(|key| {
                Kind::ALL
                    .into_iter()
                    .find(|k| k.key() == key.trim())
                    .unwrap_or_else(|| panic!("FAULT_MATRIX_KINDS: no kind `{key}`"))
            })
            .collect(),
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Shoppers chatting in-process (appending to the store directly, as the simulator does), one
/// `salesbot simulate` after another with a new seed, for as long as the matrix runs.
struct Load {
    dir: std::path::PathBuf,
    env: Vec<(String, String)>,
    seed: u64,
    child: Option<Child>,
    /// The current run started while appends could fail (its failures are expected).
    excused: bool,
}

impl Load {
    /// Starts the next run if none is going (the last one finished or was stopped).
    fn keep_up(&mut self, excused: bool) {
        if let Some(child) = &mut self.child {
            match child.try_wait().expect("simulate status") {
                None => {
                    self.excused |= excused;
                    return;
                }
                Some(status) => assert!(
                    status.success() || self.excused || excused,
                    "the shoppers' messages failed while nothing cut their path: {status}"
                ),
            }
        }
        self.seed += 1;
        let seed = self.seed.to_string();
        self.child = Some(simulate(
            &self.dir,
            &self.env,
            &[
                "--users",
                "40",
                "--days",
                "3",
                "--rate",
                "30",
                "--concurrency",
                "8",
                "--seed",
                &seed,
            ],
        ));
        self.excused = excused;
    }

    /// Stops the current run (SIGKILL: a client cut off mid-append changes nothing committed).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(Some(status)) = child.try_wait() {
                assert!(
                    status.success() || self.excused,
                    "the shoppers' messages failed while nothing cut their path: {status}"
                );
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Keeps the load going for `how_long`.
async fn hold(load: &mut Load, how_long: Duration, excused: bool) {
    let until = Instant::now() + how_long;
    while Instant::now() < until {
        load.keep_up(excused);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Any partition of the body's projections for which `f` holds.
fn any_partition(body: &serde_json::Value, f: impl Fn(&serde_json::Value) -> bool) -> bool {
    body["projections"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(f))
}

/// What a degraded answer must name while a fault of `kind` lasts; `None` where the fault is
/// over before any threshold could see it (a killed process replaced within a second or two).
fn named_part(kind: Kind) -> Option<fn(&serde_json::Value) -> bool> {
    match kind {
        Kind::CommandService => Some(|b| b["relay"]["ok"] == false),
        Kind::PausedWorker => Some(|b| any_partition(b, |p| p["stalled"] == true)),
        Kind::NatsDown => Some(|b| b["nats"]["ok"] == false),
        Kind::PostgresRestart => Some(|b| b["database"]["ok"] == false),
        Kind::StreamDeleted => {
            Some(|b| any_partition(b, |p| p["fault"].is_string() || p["stalled"] == true))
        }
        Kind::PoisonEvent => Some(|b| any_partition(b, |p| p["parked"].as_i64() > Some(0))),
        Kind::Relay | Kind::Worker => None,
    }
}

/// The names (`application_name`) of the sessions holding advisory locks (leases) whose
/// name starts with `prefix`.
async fn lease_holders(url: &str, lease_prefix: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.application_name FROM pg_locks l \
         JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE $1",
    )
    .bind(format!("{lease_prefix}%"))
    .fetch_all(&mut c)
    .await
    .expect("pg_locks");
    let _ = c.close().await;
    rows
}

/// The command service holding the relay lease (its session's `application_name`).
async fn relay_holder(url: &str) -> Option<String> {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(url).await.expect("connect");
    let holder: Option<String> = sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND ((l.classid::bigint << 32) | l.objid::bigint) \
               = hashtextextended('salesbot-lease:relay', 0)",
    )
    .fetch_optional(&mut c)
    .await
    .expect("pg_locks");
    let _ = c.close().await;
    holder
}

/// How many events are parked (`GET /admin/parked-events`), if the API answers.
async fn parked_total(query: &Proc) -> Option<i64> {
    let r = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/admin/parked-events",
            query.port
        ))
        .header("X-API-Key", "test-admin-key")
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let body: serde_json::Value = r.json().await.ok()?;
    body["total"].as_i64()
}

#[derive(Debug, Default)]
struct Tally {
    count: usize,
    survived: usize,
    time: Duration,
}

/// The running system: every process of it, and what the faults need to reach them.
/// Fields drop in order: the processes before the servers they use.
struct System {
    commands: Vec<Proc>,
    workers: Vec<Proc>,
    query: Proc,
    nats: NatsServer,
    db: ScratchDatabase,
}

#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_of_the_matrix_ends_in_exact_figures_and_truthful_health() {
    let seed = env_number("FAULT_MATRIX_SEED", 15);
    let total = usize::try_from(env_number("FAULT_MATRIX_FAULTS", 50)).unwrap_or(50);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let kinds = selected_kinds();
    let faults = schedule(&mut rng, &kinds, total);

    let cluster = PrivatePostgres::start();
    let db = ScratchDatabase::postgres(&cluster.url(), "salesbot_matrix")
        .await
        .expect("a database on the private cluster");
    let nats = NatsServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let partitions = PARTITIONS.to_string();
    let env = env_of(
        &db,
        &[
            ("NATS_URL", url.as_str()),
            ("PARTITIONS", partitions.as_str()),
            ("STREAM_ACK_WAIT", "1s"),
        ],
    );
    let database_url = db.config.database_url.expose().to_owned();
    // Each process names its sessions, so the test can see who holds which lease.
    let named = |name: &str| {
        let mut env = env.clone();
        env.push((
            "DATABASE_URL".into(),
            format!("{database_url}?application_name={name}"),
        ));
        env
    };
    let commands: Vec<Proc> = ["command-a", "command-b"]
        .iter()
        .map(|n| Proc::start(COMMAND_SERVICE, dir.path(), &named(n)))
        .collect();
    let workers: Vec<Proc> = (0..WORKERS)
        .map(|i| Proc::start(PROJECTOR, dir.path(), &named(&format!("worker-{i}"))))
        .collect();
    let query = Proc::start(QUERY_API, dir.path(), &env);
    for p in commands.iter().chain(&workers).chain([&query]) {
        p.wait_ready().await;
    }
    let mut system = System {
        commands,
        workers,
        query,
        nats,
        db,
    };
    let store = EventStore::open(&system.db.config)
        .await
        .expect("open store");
    let mut load = Load {
        dir: dir.path().to_owned(),
        env: env.clone(),
        seed: seed * 1_000,
        child: None,
        excused: false,
    };
    hold(&mut load, Duration::from_secs(3), false).await;
    load.stop();
    wait_caught_up(&store, true, Duration::from_secs(120)).await;

    let mut tally: BTreeMap<Kind, Tally> = BTreeMap::new();
    let started = Instant::now();
    for (n, kind) in faults.iter().copied().enumerate() {
        let began = Instant::now();
        eprintln!(
            "fault {}/{}: {} (at {:.0} s)",
            n + 1,
            faults.len(),
            kind.name(),
            started.elapsed().as_secs_f64()
        );
        let watch = HealthWatch::start(system.query.port);
        // A seeded point in the load: the fault lands on appends, publishes and batches in
        // flight.
        let lead = Duration::from_millis(rng.random_range(300..1_500));
        hold(&mut load, lead, false).await;
        inject(
            kind,
            n,
            &mut system,
            &cluster,
            &mut load,
            &mut rng,
            dir.path(),
        )
        .await;
        hold(&mut load, Duration::from_millis(500), kind.cuts_appends()).await;
        load.stop();

        wait_caught_up(&store, true, Duration::from_secs(120)).await;
        reconcile(&store, chrono_tz::UTC).await;
        if let Some(named) = named_part(kind) {
            let degraded = watch.degraded();
            assert!(
                watch.saw(named),
                "fault {} ({}): health never named the degraded part; {} answers were 503, \
                 the last: {}",
                n + 1,
                kind.name(),
                degraded.len(),
                degraded.last().map(ToString::to_string).unwrap_or_default()
            );
        }
        drop(watch);
        assert_recovers(&system.query, Duration::from_secs(30)).await;
        let t = tally.entry(kind).or_default();
        t.count += 1;
        t.survived += 1;
        t.time += began.elapsed();
    }

    eprintln!(
        "fault matrix (seed {seed}): {} faults in {:.0} s, head {}",
        faults.len(),
        started.elapsed().as_secs_f64(),
        store.head_position().await.expect("head")
    );
    eprintln!(
        "{:<26} {:>5} {:>8} {:>8}",
        "kind", "count", "survived", "time s"
    );
    for (kind, t) in &tally {
        eprintln!(
            "{:<26} {:>5} {:>8} {:>8.0}",
            kind.name(),
            t.count,
            t.survived,
            t.time.as_secs_f64()
        );
    }
    assert!(faults.len() >= total.min(50) || kinds.len() < Kind::ALL.len());
    for kind in kinds {
        assert!(
            tally.get(&kind).is_some_and(|t| t.survived >= 3),
            "{kind:?}"
        );
    }
    store.close().await;
}

/// Injects one fault of `kind` and heals it, the load running throughout.
async fn inject(
    kind: Kind,
    n: usize,
    system: &mut System,
    cluster: &PrivatePostgres,
    load: &mut Load,
    rng: &mut rand_chacha::ChaCha8Rng,
    dir: &std::path::Path,
) {
    let url = system.db.config.database_url.expose().to_owned();
    match kind {
        Kind::CommandService => {
            // Shoppers posting to the first command service, so appends (group commits) are
            // in flight there when it dies; their failures are the point.
            let target = format!("http://127.0.0.1:{}", system.commands[0].port);
            let mut posting = simulate(
                dir,
                &load.env,
                &[
                    "--users",
                    "30",
                    "--rate",
                    "80",
                    "--concurrency",
                    "16",
                    "--seed",
                    &(9_000 + n).to_string(),
                    "--target",
                    &target,
                ],
            );
            hold(
                load,
                Duration::from_millis(rng.random_range(500..1_500)),
                false,
            )
            .await;
            for c in &mut system.commands {
                c.kill();
            }
            let _ = posting.kill();
            let _ = posting.wait();
            // The relay is down with them while the in-process shoppers append.
            hold(load, SEEN_AFTER, false).await;
            for c in &mut system.commands {
                c.restart();
            }
            for c in &system.commands {
                c.wait_ready().await;
            }
        }
        Kind::Relay => {
            let holder = wait_for(|| relay_holder(&url)).await;
            let i = usize::from(holder != "command-a");
            system.commands[i].kill();
            // The other instance takes the lease over (it retries every 2 s).
            hold(load, Duration::from_secs(3), false).await;
            system.commands[i].restart();
            system.commands[i].wait_ready().await;
        }
        Kind::Worker | Kind::PausedWorker => {
            let holders = lease_holders(&url, "worker-").await;
            let i = if holders.is_empty() {
                rng.random_range(0..system.workers.len())
            } else {
                let name = &holders[rng.random_range(0..holders.len())];
                name.trim_start_matches("worker-").parse().unwrap_or(0)
            };
            if kind == Kind::Worker {
                system.workers[i].kill();
                hold(
                    load,
                    Duration::from_millis(rng.random_range(200..1_500)),
                    false,
                )
                .await;
                system.workers[i].restart();
                system.workers[i].wait_ready().await;
            } else {
                system.workers[i].pause();
                hold(load, SEEN_AFTER, false).await;
                system.workers[i].resume();
            }
        }
        Kind::NatsDown => {
            system.nats.stop();
            hold(load, Duration::from_secs(30), false).await;
            system.nats.restart().await;
        }
        Kind::PostgresRestart => {
            // Down for longer than the pools' 5 s acquire timeout: a shorter outage is waited
            // out by every request (health included), not reported.
            cluster.stop(n % 2 == 1);
            hold(load, POSTGRES_DOWN, true).await;
            cluster.start_again();
            hold(load, Duration::from_secs(1), true).await;
        }
        Kind::StreamDeleted => {
            let client = async_nats::connect(system.nats.url())
                .await
                .expect("connect to NATS");
            let js = async_nats::jetstream::new(client);
            // The relay may be making it anew this very moment; deleted is deleted.
            let _ = js.delete_stream(event_store::transport::STREAM_NAME).await;
            hold(load, Duration::from_secs(3), false).await;
        }
        Kind::PoisonEvent => {
            append_poison(&system.db, &format!("user-web:poisoned-{n}")).await;
            let deadline = Instant::now() + Duration::from_secs(60);
            while parked_total(&system.query).await.unwrap_or(0) == 0 {
                assert!(
                    Instant::now() < deadline,
                    "the poison event was never parked"
                );
                hold(load, Duration::from_millis(200), false).await;
            }
            // The upgrade: the row decodes now, and is applied in order.
            let current = events_schema::EventType::MessageReceived.current_version();
            system
                .db
                .execute(&format!(
                    "UPDATE events SET schema_version = {current} \
                     WHERE stream_id = 'user-web:poisoned-{n}'"
                ))
                .await;
            while parked_total(&system.query).await.unwrap_or(1) > 0 {
                assert!(
                    Instant::now() < deadline,
                    "the parked events were never applied"
                );
                hold(load, Duration::from_millis(200), false).await;
            }
        }
    }
}

/// Polls `f` until it yields something (a lease is briefly free between holders).
async fn wait_for<F, Fut, T>(f: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "nothing held the lease for 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

testkit::main!();
