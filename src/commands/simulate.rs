//! `salesbot simulate`: fills the log with realistic shoppers (see [`crate::simulate`]).

use std::sync::Arc;

use crate::cli::SimulateArgs;
use crate::config::Config;
use crate::simulate;

pub async fn run(config: &Config, args: &SimulateArgs) -> anyhow::Result<()> {
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        anyhow::bail!("--rate must be a positive number of messages per second");
    }
    let catalog = Arc::new(super::load_catalog(config)?);
    let shoppers = simulate::scripts(
        &catalog,
        args.users,
        args.seed,
        args.days,
        chrono::Utc::now(),
    );
    let total: usize = shoppers.iter().map(|s| s.lines.len()).sum();
    let progress = crate::bench::progress(total as u64, "simulated messages");
    let concurrency = usize::try_from(args.concurrency).unwrap_or(32);
    let summary = match &args.target {
        Some(target) => {
            use secrecy::ExposeSecret as _;
            let Some(key) = &config.chat_api_key else {
                anyhow::bail!(
                    "--target sends shoppers as a shop's backend does, with X-Chat-Key: set \
                     CHAT_API_KEY to the target's key"
                );
            };
            simulate::run_http(
                target,
                key.expose_secret(),
                &shoppers,
                concurrency,
                args.rate,
                &progress,
            )
            .await?
        }
        None => {
            let store = super::open_store(config).await?;
            let service = simulate::service(store.clone(), catalog)
                .with_state_cache(config.state_cache_bytes());
            let summary =
                simulate::run_in_process(&service, &shoppers, concurrency, args.rate, &progress)
                    .await;
            store.close().await;
            summary
        }
    };
    progress.finish_and_clear();
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "simulate: {} shoppers, {} messages ({} failed) in {:.1} s ({:.0} messages/s){}",
        summary.users,
        summary.messages,
        summary.failed,
        secs,
        summary.messages as f64 / secs,
        match &args.target {
            Some(t) => format!(" to {t}"),
            None => format!(", back-dated over {} days", args.days),
        }
    );
    if summary.failed > 0 {
        anyhow::bail!("{} simulated messages failed (see the log)", summary.failed);
    }
    Ok(())
}
