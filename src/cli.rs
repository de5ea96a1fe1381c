//! The command line: subcommands and their flags. `salesbot` alone runs `serve`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sales chatbot backend: an event-sourced log of every conversation, with read models and an
/// admin API on top. Configuration comes from the environment and `.env` (see `.env.example`).
#[derive(Debug, Parser)]
#[command(name = "salesbot", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything in one process (the default): the bot, the outbox relay (with NATS_URL),
    /// the projector and the health and metrics routes.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Check the database, migrations, master key, NATS, the relay and every projection's lag
    /// and heartbeat; exits non-zero when anything is unhealthy.
    Check,
    /// Rebuild read models from the event store beside the live tables, then swap them in.
    Rebuild(RebuildArgs),
    /// Events by type, streams, first and last event time.
    Stats(StatsArgs),
    /// Delete every event, key and snapshot. Irreversible; needs --yes.
    Reset(ResetArgs),
    /// Write the log in global order, one event per line, personal fields decrypted.
    Replay(ReplayArgs),
    /// Erase a user by destroying their key: their messages and names read as null from then
    /// on, the user read tables drop them, aggregate figures stay.
    EraseUser(EraseUserArgs),
    /// Back up the whole log to FILE (NDJSON; gzip when FILE ends in .gz): every event as
    /// stored, personal fields still sealed, and the per-user keys still wrapped by the master
    /// key. Erased users' keys are gone, so their personal data is not in the file. Restoring
    /// needs the same master key.
    ExportLog(BackupArgs),
    /// Restore a backup written by export-log into a new, empty database, then rebuild every
    /// read model. Needs the master key the backup was written under; erasures recorded in the
    /// log are applied again.
    ImportLog(BackupArgs),
    /// Realistic shoppers chatting with the bot through the real command path, deterministic
    /// by --seed: back-dated over --days in-process, or live over HTTP with --target.
    Simulate(SimulateArgs),
    /// Benchmarks; each prints one JSON object per line.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RebuildArgs {
    /// One projection (funnel, products, users, conversations, business, carts, questions);
    /// all when omitted.
    pub projection: Option<String>,
    /// Events folded in memory between writes: fewer use less memory, more rewrite fewer rows.
    #[arg(long, default_value_t = projector::rebuild::FLUSH_EVENTS, value_parser = clap::value_parser!(u32).range(1..))]
    pub flush_events: u32,
}

#[derive(Debug, Args)]
pub struct EraseUserArgs {
    /// The user id: `telegram:<id>` or `web:<id>` (as the admin API lists them).
    pub id: String,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The backup file (`.gz`: gzip-compressed).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Confirm that everything in the log is to be deleted.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplayFormat {
    /// One JSON envelope per line.
    Ndjson,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// First global position to write (inclusive).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub from_position: i64,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReplayFormat::Ndjson)]
    pub format: ReplayFormat,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Number of shoppers.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub users: u32,
    /// Seed of the generator: the same seed gives the same conversations.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Most messages per second overall (default: as fast as the bot answers).
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// Send live traffic to a running salesbot (e.g. http://127.0.0.1:8080) instead of
    /// appending in-process; messages then happen now, not back-dated.
    #[arg(long, value_name = "URL")]
    pub target: Option<url::Url>,
    /// Spread the shoppers' first visits over the last D days (in-process).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Shoppers chatting at the same time.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub concurrency: u64,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Append throughput and latency: batched appends, and concurrent single-event appends
    /// (group commit), each against a plain batched INSERT of the same rows.
    Append(BenchAppendArgs),
    /// Chat throughput and latency through POST /api/messages (in-process server, loopback).
    Chat(BenchChatArgs),
    /// Rebuild throughput (events/s) and peak memory over a generated log of N events.
    Rebuild(BenchRebuildArgs),
    /// Append-to-visible latency through JetStream and the projector under steady chat
    /// (Postgres + a private nats-server, in this process).
    Lag(BenchLagArgs),
    /// Messages/s from POST /api/messages to visible in the read tables (Postgres + NATS).
    Pipeline(BenchPipelineArgs),
    /// Minutes of steady chat through the web chat and the Telegram webhook at once (Postgres +
    /// NATS, replies to a Bot API stand-in): lag, delivery, errors and RSS over time.
    Soak(BenchSoakArgs),
    /// Admin API load on /admin/dashboard and /admin/analytics/funnel over N events, against
    /// the same figures computed on the fly from the raw events (Postgres).
    Query(BenchQueryArgs),
}

#[derive(Debug, Args)]
pub struct BenchQueryArgs {
    /// Events in the generated log.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub events: u64,
    /// Shoppers in the generated log (default: one per ten events).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub users: Option<u64>,
    /// Requests per second on each route.
    #[arg(long, default_value_t = 2_000.0)]
    pub rate: f64,
    /// How long to load each route.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub seconds: u64,
    /// Measure time travel instead (`as_of`): the first request at a position (which replays
    /// the log up to it) and the requests after it (which read the kept model), halfway and at
    /// the head.
    #[arg(long)]
    pub as_of: bool,
}

#[derive(Debug, Args)]
pub struct BenchRebuildArgs {
    /// Which store (a scratch database, as for `bench append`).
    #[arg(long, value_enum, default_value_t = BenchBackend::Postgres)]
    pub backend: BenchBackend,
    /// Events in the generated log.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub events: u64,
    /// Shoppers in the generated log.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub users: u64,
    /// Rebuild only this projection (default: all of them), to see what each costs.
    #[arg(long, value_parser = parse_projection)]
    pub projection: Option<projector::Projection>,
    /// Rebuilds of the same log, a JSON line each (run-to-run spread, without generating the
    /// log again).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
}

#[derive(Debug, Args)]
pub struct BenchLagArgs {
    /// Chat messages per second.
    #[arg(long, default_value_t = 2_000.0)]
    pub rate: f64,
    /// How long to keep the load up.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub seconds: u64,
    /// Shoppers chatting.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub users: u64,
}

#[derive(Debug, Args)]
pub struct BenchSoakArgs {
    /// Messages per second in all, through the web chat and the Telegram webhook together.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Of those, messages per second through the Telegram webhook. Replies to Telegram go out
    /// at Telegram's limit of 30 messages a second per bot, so above that the outbox falls
    /// behind (as it would on Telegram).
    #[arg(long, default_value_t = 25.0)]
    pub webhook_rate: f64,
    /// How long to keep the load up.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub seconds: u64,
    /// Shoppers on the web chat.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub users: u64,
    /// Shoppers on Telegram (each private chat gets at most one reply a second from Telegram).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub telegram_users: u64,
}

#[derive(Debug, Args)]
pub struct BenchPipelineArgs {
    /// Shoppers chatting at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub users: u64,
    /// Messages in all.
    #[arg(long, default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub messages: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchBackend {
    Postgres,
    Sqlite,
}

#[derive(Debug, Args)]
pub struct BenchAppendArgs {
    /// Which store to measure. Runs in a scratch database (Postgres: created beside
    /// DATABASE_URL or TEST_DATABASE_URL and dropped after; SQLite: a temporary file).
    #[arg(long, value_enum, default_value_t = BenchBackend::Postgres)]
    pub backend: BenchBackend,
    /// Events per measurement.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub events: u64,
    /// Concurrent writers in the single-event measurement.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub writers: u64,
    /// Events per append in the batched measurement.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch_size: u64,
}

/// The conversations `bench chat` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChatMix {
    English,
    World,
}

#[derive(Debug, Args)]
pub struct BenchChatArgs {
    /// Which store to measure (in a scratch database, as for `bench append`).
    #[arg(long, value_enum, default_value_t = BenchBackend::Postgres)]
    pub backend: BenchBackend,
    /// Shoppers chatting at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub users: u64,
    /// Messages in all.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub messages: u64,
    /// Also measure latency at this steady rate (messages per second), e.g. 1000.
    #[arg(long, value_name = "R")]
    pub rate: Option<f64>,
    /// What the shoppers say: `english`, one English conversation (the mix of earlier
    /// figures), or `world`, conversations in English, Spanish, German and Russian with carts,
    /// shop questions and attribute questions (a quarter of the shoppers each).
    #[arg(long, value_enum, default_value_t = ChatMix::English)]
    pub mix: ChatMix,
}

fn parse_projection(name: &str) -> Result<projector::Projection, String> {
    projector::Projection::parse(name).ok_or_else(|| {
        format!(
            "unknown projection `{name}`; the projections are: {}",
            projector::Projection::ALL
                .map(projector::Projection::name)
                .join(", ")
        )
    })
}
