//! The `salesbot` command: configuration, logging and the subcommands, wiring the workspace's
//! crates together. `main.rs` only parses the command line and calls [`run`].

pub mod as_of;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod config;
pub mod metrics;
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
        Command::Serve => commands::serve::run(&config, shutdown::on_signal()).await?,
        Command::Migrate => commands::migrate::run(&config).await?,
        Command::Check => return commands::check::run(&config).await,
        Command::Rebuild(args) => commands::rebuild::run(&config, &args).await?,
        Command::Stats(args) => commands::stats::run(&config, &args).await?,
        Command::Reset(args) => commands::reset::run(&config, &args).await?,
        Command::EraseUser(args) => commands::erase::run(&config, &args).await?,
        Command::ExportLog(args) => commands::backup::export(&config, &args).await?,
        Command::ImportLog(args) => commands::backup::import(&config, &args).await?,
        Command::Replay(args) => commands::replay::run(&config, &args).await?,
        Command::Simulate(args) => commands::simulate::run(&config, &args).await?,
        Command::Bench(BenchCommand::Append(args)) => bench::append::run(&config, &args).await?,
        Command::Bench(BenchCommand::Chat(args)) => bench::chat::run(&config, &args).await?,
        Command::Bench(BenchCommand::Rebuild(args)) => {
            bench::pipeline::rebuild(&config, &args).await?
        }
        Command::Bench(BenchCommand::Lag(args)) => bench::pipeline::lag(&config, &args).await?,
        Command::Bench(BenchCommand::Query(args)) => bench::query::run(&config, &args).await?,
        Command::Bench(BenchCommand::Pipeline(args)) => {
            bench::pipeline::pipeline(&config, &args).await?
        }
        Command::Bench(BenchCommand::Soak(args)) => bench::pipeline::soak(&config, &args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `main` of the `command-service` and `projector` binaries: one role of `salesbot serve`,
/// configured the same way (environment and `.env`).
pub fn service_main(name: &str, roles: commands::serve::Roles) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let config = Config::load().context("configuration")?;
        telemetry::init(config.log_format);
        commands::serve::run_roles(&config, roles, name, shutdown::on_signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
