//! `salesbot bench query`: the admin API under load. A scratch Postgres gets a generated log
//! of N events (as `bench rebuild` makes it) and its read tables; the query routes run in this
//! process on loopback. Each route gets paced requests for a while (latency measured from when
//! each request was due, so a slow server cannot hide its queue), then the same figures are
//! computed on the fly from the raw `events` table, as the old design did, for the ratio.
//! `--as-of` measures time travel instead: the replay a first request at a position costs, and
//! the requests that read the model it kept.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use event_store::Pool;
use serde_json::json;

use super::{histogram, quantile_ms, round3};
use crate::cli::{BenchBackend, BenchQueryArgs};
use crate::config::Config;

const KEY: &str = "bench-admin-key";
/// Connections sending the paced requests.
const CONNECTIONS: usize = 64;
/// Cold requests (distinct periods, so the cache cannot answer) and on-the-fly runs measured.
const COLD_RUNS: i64 = 10;
const ON_THE_FLY_RUNS: usize = 5;

pub async fn run(config: &Config, args: &BenchQueryArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.rate > 0.0 && args.rate.is_finite(),
        "--rate must be a positive number of requests per second"
    );
    let users = args.users.unwrap_or((args.events / 10).max(1));
    let db = super::scratch(BenchBackend::Postgres, config).await?;
    let store = db.open().await.context("opening the scratch store")?;
    let result = async {
        let generated = super::pipeline::fill(&store, args.events, users).await?;
        if args.as_of {
            return as_of(&store, generated).await;
        }
        let bar = super::progress(0, "building read tables");
        projector::rebuild::rebuild(
            &store,
            chrono_tz::UTC,
            8,
            &[],
            projector::rebuild::FLUSH_EVENTS as usize,
            |p, h| {
                bar.set_length(u64::try_from(h).unwrap_or(0));
                bar.set_position(u64::try_from(p).unwrap_or(0));
            },
        )
        .await?;
        bar.finish_and_clear();
        let state = query_api::State::new(store.clone(), chrono_tz::UTC, Default::default(), None);
        let app = query_api::mount(
            poem::Route::new(),
            state,
            query_api::KeyDigest::new(KEY),
            (),
            |_| {},
        );
        let (acceptor, addr) = super::loopback().await?;
        let stop = tokio_util::sync::CancellationToken::new();
        let stopped = stop.clone().cancelled_owned();
        // The server stops when this is dropped: at the end, or on an error on the way.
        let stop = stop.drop_guard();
        let server = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor)
                .run_with_graceful_shutdown(app, stopped, None)
                .await;
        });
        let base = format!("http://{addr}");
        let today = Utc::now().date_naive();
        for (route, path) in [
            ("/admin/dashboard", "/admin/dashboard?days=30"),
            ("/admin/analytics/funnel", "/admin/analytics/funnel?days=30"),
        ] {
            // One request first, as a dashboard open in a browser would have made: the load
            // then measures serving the figures, and the cold figure is measured apart.
            let warm = reqwest::Client::new()
                .get(format!("{base}{path}"))
                .header("X-API-Key", KEY)
                .send()
                .await?;
            anyhow::ensure!(warm.status().is_success(), "{path}: {}", warm.status());
            let (rate, latency, errors) = load(&base, path, args.rate, args.seconds).await?;
            let cold = cold(&base, route, today).await?;
            let fly = on_the_fly(store.pool(), route, today).await?;
            let p50 = quantile_ms(&latency, 0.5);
            println!(
                "{}",
                json!({
                    "bench": "query", "route": route, "events": generated, "users": users,
                    "target_requests_per_sec": args.rate, "requests_per_sec": rate.round(),
                    "seconds": args.seconds, "requests": latency.len(), "errors": errors,
                    "p50_ms": p50, "p99_ms": quantile_ms(&latency, 0.99),
                    "max_ms": quantile_ms(&latency, 1.0),
                    "uncached_p50_ms": round3(cold),
                    "on_the_fly_p50_ms": round3(fly),
                    "speedup_vs_on_the_fly": (fly / p50.max(0.001)).round(),
                    "speedup_uncached_vs_on_the_fly": round3(fly / cold.max(0.001)),
                })
            );
        }
        drop(stop);
        let _ = server.await;
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    drop(db);
    result
}

/// Time travel on the dashboard and the funnel: at each of two positions (halfway, the head),
/// the first request, which replays the log into a past model, then the median of requests that
/// read the kept model, and one by instant (resolved to the same position).
async fn as_of(store: &event_store::EventStore, generated: u64) -> anyhow::Result<()> {
    let state = query_api::State::new(store.clone(), chrono_tz::UTC, Default::default(), None)
        .with_replay(std::sync::Arc::new(crate::as_of::ProjectorReplay {
            store: store.clone(),
            tz: chrono_tz::UTC,
        }));
    let app = query_api::mount(
        poem::Route::new(),
        state,
        query_api::KeyDigest::new(KEY),
        (),
        |_| {},
    );
    let (acceptor, addr) = super::loopback().await?;
    let stop = tokio_util::sync::CancellationToken::new();
    let stopped = stop.clone().cancelled_owned();
    let stop = stop.drop_guard();
    let server = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(app, stopped, None)
            .await;
    });
    let client = reqwest::Client::new();
    let timed = |path: String| {
        let (client, url) = (client.clone(), format!("http://{addr}{path}"));
        async move {
            let t = Instant::now();
            let r = client.get(&url).header("X-API-Key", KEY).send().await?;
            anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
            let _ = r.bytes().await?;
            anyhow::Ok(t.elapsed().as_secs_f64() * 1_000.0)
        }
    };
    let head = store.head_position().await?;
    for position in [head / 2, head] {
        let first = timed(format!("/admin/dashboard?days=30&as_of={position}")).await?;
        let mut kept = Vec::new();
        for _ in 0..COLD_RUNS {
            kept.push(timed(format!("/admin/analytics/funnel?days=30&as_of={position}")).await?);
            kept.push(timed(format!("/admin/dashboard?days=30&as_of={position}")).await?);
        }
        let at = store
            .recorded_at(position)
            .await?
            .context("an event at the position")?;
        let by_instant = timed(format!(
            "/admin/dashboard?days=30&as_of={}",
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        ))
        .await?;
        println!(
            "{}",
            json!({
                "bench": "query-as-of", "events": generated, "position": position,
                "replay_first_request_ms": round3(first),
                "replayed_events_per_sec": (position as f64 / (first / 1_000.0)).round(),
                "kept_model_p50_ms": round3(median(kept)),
                "by_instant_ms": round3(by_instant),
            })
        );
    }
    drop(stop);
    let _ = server.await;
    Ok(())
}

/// `rate` requests a second on `path` for `seconds`, spread over [`CONNECTIONS`]; latency from
/// each request's due time. Returns the achieved rate, the latencies and the non-200 count.
async fn load(
    base: &str,
    path: &str,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<(f64, hdrhistogram::Histogram<u64>, u64)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()?;
    let total = (rate * seconds as f64).round() as u64;
    let bar = super::progress(total, "requests");
    let started = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS as u64 {
        let (client, url, bar) = (client.clone(), format!("{base}{path}"), bar.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = histogram()?;
            let mut errors = 0u64;
            let mut i = c;
            while i < total {
                let due = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                let response = client.get(&url).header("X-API-Key", KEY).send().await;
                match response {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                let _ = latency.record((due.elapsed().as_micros() as u64).max(1));
                bar.inc(1);
                i += CONNECTIONS as u64;
            }
            anyhow::Ok((latency, errors))
        }));
    }
    let mut latency = histogram()?;
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await??;
        latency.add(h)?;
        errors += e;
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed().as_secs_f64();
    Ok((latency.len() as f64 / elapsed, latency, errors))
}

/// The median time of a request the cache cannot answer: 30-day periods ending on distinct
/// days, one at a time (ms).
async fn cold(base: &str, route: &str, today: NaiveDate) -> anyhow::Result<f64> {
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    for i in 1..=COLD_RUNS {
        let to = today - chrono::Duration::days(i);
        let from = to - chrono::Duration::days(29);
        let t = Instant::now();
        let r = client
            .get(format!("{base}{route}?from={from}&to={to}"))
            .header("X-API-Key", KEY)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "{route}: {}", r.status());
        let _ = r.bytes().await?;
        times.push(t.elapsed().as_secs_f64() * 1_000.0);
    }
    Ok(median(times))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// The same figures as `route` over the last 30 days, computed from the raw events with SQL
/// the way the old system computed analytics: the median of a few runs (ms).
async fn on_the_fly(pool: &Pool, route: &str, today: NaiveDate) -> anyhow::Result<f64> {
    let Pool::Postgres(p) = pool else {
        anyhow::bail!("bench query runs on Postgres");
    };
    let from = (today - chrono::Duration::days(29))
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc();
    let to = (today + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .context("midnight")?
        .and_utc();
    let funnel = "SELECT stage, COUNT(*) FROM ( \
          SELECT stream_id, MAX(CASE event_type WHEN 'ProductViewed' THEN 1 \
            WHEN 'PriceInquired' THEN 2 WHEN 'SpecsRequested' THEN 2 \
            WHEN 'PurchaseIntended' THEN 3 WHEN 'OrderPlaced' THEN 4 ELSE 0 END) AS stage, \
            BOOL_OR(event_type = 'MessageReceived') AS active \
          FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY stream_id) u \
        WHERE active GROUP BY stage";
    let value = "SELECT event_type, payload->'total'->>'currency', COUNT(*), \
          SUM((payload->'total'->>'amount_minor')::bigint) FROM events \
        WHERE event_type = 'OrderPlaced' AND occurred_at >= $1 AND occurred_at < $2 \
        GROUP BY 1, 2";
    let dashboard = [
        funnel,
        value,
        "SELECT COUNT(DISTINCT stream_id) FROM events \
          WHERE event_type = 'MessageReceived' AND occurred_at >= $1 AND occurred_at < $2",
        "SELECT COUNT(*) FROM (SELECT stream_id FROM events GROUP BY stream_id \
          HAVING MIN(occurred_at) >= $1 AND MIN(occurred_at) < $2) x",
        "SELECT date_trunc('day', occurred_at), \
            COUNT(DISTINCT stream_id) FILTER (WHERE event_type = 'MessageReceived'), \
            COUNT(*) FILTER (WHERE event_type = 'MessageReceived'), \
            COUNT(*) FILTER (WHERE event_type = 'OrderPlaced'), \
            SUM((payload->'total'->>'amount_minor')::bigint) FILTER (WHERE event_type = 'OrderPlaced') \
          FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1",
        "SELECT payload->>'product_id', COUNT(*) FROM events \
          WHERE event_type = 'ProductViewed' AND occurred_at >= $1 AND occurred_at < $2 \
          GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
    ];
    let queries: &[&str] = if route == "/admin/dashboard" {
        &dashboard
    } else {
        &[funnel, value]
    };
    let mut times = Vec::new();
    for _ in 0..ON_THE_FLY_RUNS {
        let t = Instant::now();
        for sql in queries {
            sqlx::query(sql).bind(from).bind(to).fetch_all(p).await?;
        }
        times.push(t.elapsed().as_secs_f64() * 1_000.0);
    }
    Ok(median(times))
}
