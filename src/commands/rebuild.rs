//! `salesbot rebuild [PROJECTION]`: rebuild read models from the event store beside the live
//! tables, then swap them in (see `projector::rebuild`). Safe to interrupt and rerun.

use anyhow::bail;
use projector::Projection;

use crate::cli::RebuildArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: &RebuildArgs) -> anyhow::Result<()> {
    let projections = match &args.projection {
        None => Vec::new(),
        Some(name) => match Projection::parse(name) {
            Some(p) => vec![p],
            None => bail!(
                "unknown projection `{name}`; the projections are: {}",
                Projection::ALL.map(Projection::name).join(", ")
            ),
        },
    };
    let store = super::open_store(config).await?;
    let bar = crate::bench::progress(0, "rebuilding read models");
    let started = std::time::Instant::now();
    let result = projector::rebuild::rebuild(
        &store,
        config.report_timezone,
        u32::from(config.partitions),
        &projections,
        args.flush_events as usize,
        |position, head| {
            bar.set_length(u64::try_from(head).unwrap_or(0));
            bar.set_position(u64::try_from(position).unwrap_or(0));
        },
    )
    .await;
    bar.finish_and_clear();
    store.close().await;
    let rebuilt = result?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rebuilt {} from {} events (through position {}) in {seconds:.1} s",
        rebuilt
            .projections
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(", "),
        rebuilt.events,
        rebuilt.position
    );
    Ok(())
}
