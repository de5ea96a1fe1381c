//! `salesbot`: the command line and the all-in-one server. Reads config, sets up logging, runs
//! the subcommand; every error is one line on stderr and a non-zero exit.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = salesbot::cli::Cli::parse();
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
    match runtime.block_on(salesbot::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
