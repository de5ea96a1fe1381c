//! `query-api`: the admin API (`/admin/...`, OpenAPI spec at `/openapi.json`, docs at `/docs`)
//! over the read tables. Configured like `salesbot` (see `.env.example`); needs
//! `ADMIN_API_KEY` with Postgres; serves `/health` and `/metrics` on `BIND_ADDR`.

use std::process::ExitCode;

use clap::Parser as _;

/// The salesbot admin API. Configuration comes from the environment and `.env`.
#[derive(Debug, clap::Parser)]
#[command(name = "query-api", version)]
struct Args {}

fn main() -> ExitCode {
    let Args {} = Args::parse();
    salesbot::service_main("query-api", salesbot::commands::serve::Roles::QUERY)
}
