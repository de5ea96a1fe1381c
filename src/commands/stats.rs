//! `salesbot stats`: events by type, streams, first and last event time.

use crate::cli::StatsArgs;
use crate::config::Config;

pub async fn run(config: &Config, args: &StatsArgs) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let stats = store.stats().await;
    store.close().await;
    let stats = stats?;
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339());
    if args.json {
        let by_type: serde_json::Map<String, serde_json::Value> = stats
            .by_type
            .iter()
            .map(|(t, n)| (t.clone(), (*n).into()))
            .collect();
        let json = serde_json::json!({
            "events": stats.events,
            "streams": stats.streams,
            "head_position": stats.head_position,
            "first_occurred_at": time(stats.first_occurred_at),
            "last_occurred_at": time(stats.last_occurred_at),
            "events_by_type": by_type,
        });
        println!("{json}");
        return Ok(());
    }
    let none = || "-".to_owned();
    println!("events          {}", stats.events);
    println!("streams         {}", stats.streams);
    println!("head position   {}", stats.head_position);
    println!(
        "first event     {}",
        time(stats.first_occurred_at).unwrap_or_else(none)
    );
    println!(
        "last event      {}",
        time(stats.last_occurred_at).unwrap_or_else(none)
    );
    if !stats.by_type.is_empty() {
        println!("events by type");
        let width = stats
            .by_type
            .iter()
            .map(|(t, _)| t.len())
            .max()
            .unwrap_or(0);
        for (event_type, count) in &stats.by_type {
            println!("  {event_type:<width$}  {count}");
        }
    }
    Ok(())
}
