//! `projector`: a worker folding the log into the read tables. With `NATS_URL` it shares the
//! partitions with the other live workers, reading JetStream; without, it follows the log
//! itself. Configured like `salesbot` (see `.env.example`); serves `/health` and `/metrics` on
//! `BIND_ADDR`.

use std::process::ExitCode;

use clap::Parser as _;

/// A salesbot projector worker. Configuration comes from the environment and `.env`.
#[derive(Debug, clap::Parser)]
#[command(name = "projector", version)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    salesbot::service_main("projector", salesbot::commands::serve::Roles::PROJECTOR)
}
