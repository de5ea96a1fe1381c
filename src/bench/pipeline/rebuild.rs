//! `salesbot bench rebuild`: a synthetic log rebuilt into every projection (or one), with
//! events/s, where the time went, the CPU used and the peak RSS.

use std::time::Instant;

use anyhow::Context as _;
use serde_json::json;

use super::usage::{cpu_seconds, reset_peak_rss, rss_kb};
use super::{PARTITIONS, fill};
use crate::bench::round3;
use crate::cli::{BenchBackend, BenchRebuildArgs};
use crate::config::Config;

pub async fn rebuild(config: &Config, args: &BenchRebuildArgs) -> anyhow::Result<()> {
    let db = crate::bench::scratch(args.backend, config).await?;
    let store = db.open().await.context("opening the scratch store")?;
    let result = async {
        let filled = fill(&store, args.events, args.users).await?;
        for run in 1..=args.runs {
            reset_peak_rss();
            let rss_before = rss_kb("VmRSS");
            let bar = crate::bench::progress(0, "rebuilding");
            let cpu_before = cpu_seconds();
            let started = Instant::now();
            let only: Vec<_> = args.projection.into_iter().collect();
            let rebuilt = projector::rebuild::rebuild(
                &store,
                chrono_tz::UTC,
                PARTITIONS,
                &only,
                projector::rebuild::FLUSH_EVENTS as usize,
                |p, h| {
                    bar.set_length(u64::try_from(h).unwrap_or(0));
                    bar.set_position(u64::try_from(p).unwrap_or(0));
                },
            )
            .await?;
            let elapsed = started.elapsed().as_secs_f64();
            let cpu_after = cpu_seconds();
            bar.finish_and_clear();
            let t = &rebuilt.timings;
            println!(
                "{}",
                json!({
                    "bench": "rebuild", "backend": backend_name(args.backend), "run": run,
                    "projections": rebuilt.projections.iter().map(|p| p.name()).collect::<Vec<_>>(),
                    "events": rebuilt.events, "users": args.users, "generated_events": filled,
                    "seconds": round3(elapsed),
                    "events_per_sec": (rebuilt.events as f64 / elapsed.max(1e-9)).round(),
                    "rss_before_mb": rss_before.map(|kb| kb / 1024),
                    "peak_rss_mb": rss_kb("VmHWM").map(|kb| kb / 1024),
                    "read_wait_s": round3(t.read_wait.as_secs_f64()),
                    "fold_s": round3(t.fold.as_secs_f64()),
                    "write_wait_s": round3(t.write_wait.as_secs_f64()),
                    "indexes_s": round3(t.indexes.as_secs_f64()),
                    "swap_s": round3(t.swap.as_secs_f64()),
                    "cpu_self_s": round3(cpu_after.0 - cpu_before.0),
                    "cpu_others_s": round3(
                        ((cpu_after.1 - cpu_before.1) - (cpu_after.0 - cpu_before.0)).max(0.0),
                    ),
                })
            );
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    drop(db);
    result
}

fn backend_name(backend: BenchBackend) -> &'static str {
    match backend {
        BenchBackend::Postgres => "postgres",
        BenchBackend::Sqlite => "sqlite",
    }
}
