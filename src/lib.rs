//! The `salesbot` command: configuration, logging and the subcommands, wiring the workspace's
//! crates together. `main.rs` only parses the command line and calls [`run`].

pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod shutdown;
pub mod simulate;
pub mod telemetry;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{BenchCommand, Cli, Command};
use crate::config::Config;

/// Runs one subcommand to completion; `Ok` carries the exit code (`check` may be unhealthy).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load().context("configuration")?;
    telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve::run(&config, shutdown::signal()).await?,
        Command::Migrate => commands::migrate::run(&config).await?,
        Command::Check => return commands::check::run(&config).await,
        Command::Stats(args) => commands::stats::run(&config, &args).await?,
        Command::Reset(args) => commands::reset::run(&config, &args).await?,
        Command::Replay(args) => commands::replay::run(&config, &args).await?,
        Command::Simulate(args) => commands::simulate::run(&config, &args).await?,
        Command::Bench(BenchCommand::Append(args)) => bench::append::run(&config, &args).await?,
        Command::Bench(BenchCommand::Chat(args)) => bench::chat::run(&config, &args).await?,
    }
    Ok(ExitCode::SUCCESS)
}
