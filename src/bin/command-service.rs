//! `command-service`: the bot (web chat, Telegram) and, with `NATS_URL`, the outbox relay to
//! JetStream. Run any number; one relays at a time. Configured like `salesbot` (see
//! `.env.example`); serves `/health` and `/metrics` on `BIND_ADDR`.

use std::process::ExitCode;

use clap::Parser as _;

/// The salesbot command side: web chat, Telegram and the outbox relay. Configuration comes
/// from the environment and `.env`.
#[derive(Debug, clap::Parser)]
#[command(name = "command-service", version)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    salesbot::service_main(
        "command-service",
        salesbot::commands::serve::Roles::COMMANDS,
    )
}
