//! `salesbot bench …`: measurements printed as JSON lines. They run in scratch databases, never
//! in the shop's own.

pub mod append;
pub mod chat;
pub mod pipeline;
pub mod query;

use anyhow::Context as _;
use event_store::BackendKind;
use hdrhistogram::Histogram;
use testkit::ScratchDatabase;

use crate::cli::BenchBackend;
use crate::config::Config;

/// The `X-Chat-Key` the benchmarks' shoppers send, as a shop's backend naming its users would.
pub const CHAT_KEY: &str = "salesbot-benchmark-chat-key";
/// The abuse limits during benchmarks: raised far above any benchmark's rate, so each message
/// still pays for its checks but none is refused (the JSON lines say `"limits": "raised"`).
pub const RAISED_LIMIT: command_service::limits::Rate = command_service::limits::Rate {
    per_minute: 1_000_000,
    burst: 1_000_000,
};

/// The web chat's routes over `service`, as `salesbot serve` mounts them, with [`CHAT_KEY`]
/// and the limits raised.
pub fn chat_routes(service: command_service::service::CommandService) -> impl poem::Endpoint {
    use poem::EndpointExt as _;
    command_service::web::routes(web_config()).data(service.with_user_rate(RAISED_LIMIT))
}

/// The web chat's configuration in benchmarks: [`CHAT_KEY`], a fresh session key, and the
/// per-address limit raised (the per-user one is the service's: [`RAISED_LIMIT`]).
pub fn web_config() -> command_service::web::WebConfig {
    use rand::RngCore as _;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    command_service::web::WebConfig {
        chat_api_key: Some(CHAT_KEY.to_owned()),
        sessions: command_service::web::Sessions::new(key, crate::config::DEFAULT_SESSION_TTL),
        address_rate: RAISED_LIMIT,
        trust_forwarded_for: false,
    }
}

/// A fresh database for a benchmark: Postgres on DATABASE_URL's server (or TEST_DATABASE_URL's,
/// or the local default), SQLite in a temporary folder.
pub async fn scratch(backend: BenchBackend, config: &Config) -> anyhow::Result<ScratchDatabase> {
    match backend {
        BenchBackend::Postgres => {
            let admin = if config.database_url.kind() == BackendKind::Postgres {
                config.database_url.expose().to_owned()
            } else {
                std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| {
                    "postgres://postgres:postgres@127.0.0.1:5432/postgres".to_owned()
                })
            };
            ScratchDatabase::postgres(&admin, "salesbot_bench")
                .await
                .context("creating a scratch Postgres database for the benchmark")
        }
        BenchBackend::Sqlite => {
            ScratchDatabase::sqlite().context("creating a scratch SQLite database")
        }
    }
}

/// A listener on a free loopback port, for a benchmark's in-process server, and its address.
pub async fn loopback() -> anyhow::Result<(poem::listener::TcpAcceptor, std::net::SocketAddr)> {
    use poem::listener::{Acceptor as _, Listener as _};
    let acceptor = poem::listener::TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("no local address")?;
    Ok((acceptor, addr))
}

/// Latencies in microseconds.
pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    // 1 µs to 1 hour at 3 significant figures.
    Ok(Histogram::new_with_bounds(1, 3_600_000_000, 3)?)
}

/// A quantile of a latency histogram, in milliseconds, rounded to µs.
pub fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    round3(h.value_at_quantile(q) as f64 / 1_000.0)
}

pub fn round3(x: f64) -> f64 {
    (x * 1_000.0).round() / 1_000.0
}

pub fn progress(len: u64, what: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:24} {bar:40} {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what);
    bar
}
