//! `salesbot bench append`: (a) batched appends and (b) W concurrent single-event appends to
//! distinct streams (group commit), each measured against a plain batched INSERT of the same
//! rows into a table with the same columns and no index or constraint, in the same run.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use event_store::{AppendRequest, EventStore, ExpectedVersion};
use events_schema::{
    Channel, Currency, Intent, MessageKind, MessageReceived, Money, NewEvent, PriceInquired,
    ProductViewed, Sentiment, StreamId, UserId, ViewSource,
};
use hdrhistogram::Histogram;
use serde_json::json;

use super::{histogram, progress, quantile_ms, round3};
use crate::cli::{BenchAppendArgs, BenchBackend};
use crate::config::Config;

pub async fn run(config: &Config, args: &BenchAppendArgs) -> anyhow::Result<()> {
    let db = super::scratch(args.backend, config).await?;
    let store = db.open().await.context("opening the scratch store")?;
    testkit::baseline::create(&store).await?;
    let backend = match args.backend {
        BenchBackend::Postgres => "postgres",
        BenchBackend::Sqlite => "sqlite",
    };
    let result = async {
        let batched = batched(&store, args).await?;
        println!(
            "{}",
            batched.to_json(
                backend,
                "append_batched",
                json!({"batch_size": args.batch_size})
            )
        );
        let concurrent = concurrent(&store, args).await?;
        println!(
            "{}",
            concurrent.to_json(
                backend,
                "append_concurrent",
                json!({"writers": args.writers})
            )
        );
        anyhow::Ok(())
    }
    .await;
    testkit::baseline::drop(&store).await?;
    store.close().await;
    drop(db);
    result
}

struct Measured {
    events: u64,
    store: Run,
    baseline: Run,
}

struct Run {
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl Measured {
    fn to_json(&self, backend: &str, bench: &str, extra: serde_json::Value) -> serde_json::Value {
        let rate = |r: &Run| self.events as f64 / r.elapsed.as_secs_f64().max(1e-9);
        let (store, baseline) = (rate(&self.store), rate(&self.baseline));
        let mut out = json!({
            "bench": bench,
            "backend": backend,
            "events": self.events,
            "events_per_sec": store.round(),
            "p50_ms": quantile_ms(&self.store.latency, 0.5),
            "p99_ms": quantile_ms(&self.store.latency, 0.99),
            "baseline_events_per_sec": baseline.round(),
            "baseline_p50_ms": quantile_ms(&self.baseline.latency, 0.5),
            "baseline_p99_ms": quantile_ms(&self.baseline.latency, 0.99),
            "ratio": round3(store / baseline.max(1e-9)),
        });
        if let (Some(out), Some(extra)) = (out.as_object_mut(), extra.as_object()) {
            out.extend(extra.clone());
        }
        out
    }
}

/// A realistic mix: a message (with personal text to seal), a product view, a price question.
fn event(user: u64, i: u64) -> anyhow::Result<NewEvent> {
    let usd = Currency::new("USD").map_err(anyhow::Error::msg)?;
    let product = format!("product-{}", (user + i) % 40);
    Ok(match i % 3 {
        0 => NewEvent::new(
            MessageReceived {
                kind: MessageKind::Text,
                message_id: Some(i.to_string()),
                text: Some(format!(
                    "hi, how much is {product}? I need it for work #{i}"
                )),
                intent: Intent::PriceInquiry,
                sentiment: Sentiment::Neutral,
                product_id: Some(product),
                language: Some("en".into()),
                understood_by: events_schema::UnderstoodBy::Rules,
            },
            Utc::now(),
        ),
        1 => NewEvent::new(
            ProductViewed {
                product_id: product,
                source: ViewSource::Mention,
            },
            Utc::now(),
        ),
        _ => NewEvent::new(
            PriceInquired {
                product_id: product,
                price: Money::new(79_900, usd),
            },
            Utc::now(),
        ),
    })
}

fn stream(prefix: &str, n: u64) -> anyhow::Result<StreamId> {
    Ok(UserId::new(Channel::Web, &format!("{prefix}{n}"))?.stream_id())
}

fn raw_request(stream_id: StreamId, events: Vec<NewEvent>) -> anyhow::Result<AppendRequest> {
    Ok(AppendRequest {
        stream_id,
        expected: ExpectedVersion::Any,
        events: events
            .into_iter()
            .map(NewEvent::into_raw)
            .collect::<Result<_, _>>()?,
    })
}

async fn batched(store: &EventStore, args: &BenchAppendArgs) -> anyhow::Result<Measured> {
    let batches = args.events.div_ceil(args.batch_size);
    let make = |b: u64| -> anyhow::Result<Vec<NewEvent>> {
        let first = b * args.batch_size;
        let last = (first + args.batch_size).min(args.events);
        (first..last).map(|i| event(b, i)).collect()
    };

    let bar = progress(args.events, "batched appends");
    let mut latency = histogram()?;
    let started = Instant::now();
    for b in 0..batches {
        let events = make(b)?;
        let n = events.len() as u64;
        let t = Instant::now();
        store
            .append(&stream("batch", b)?, ExpectedVersion::NoStream, events)
            .await?;
        latency.record(t.elapsed().as_micros().max(1) as u64)?;
        bar.inc(n);
    }
    let store_run = Run {
        elapsed: started.elapsed(),
        latency,
    };
    bar.finish_and_clear();

    let bar = progress(args.events, "baseline batched INSERT");
    let mut latency = histogram()?;
    let started = Instant::now();
    for b in 0..batches {
        let events = make(b)?;
        let n = events.len() as u64;
        let t = Instant::now();
        testkit::baseline::insert(store, &[raw_request(stream("batch", b)?, events)?]).await?;
        latency.record(t.elapsed().as_micros().max(1) as u64)?;
        bar.inc(n);
    }
    let baseline = Run {
        elapsed: started.elapsed(),
        latency,
    };
    bar.finish_and_clear();
    Ok(Measured {
        events: args.events,
        store: store_run,
        baseline,
    })
}

async fn concurrent(store: &EventStore, args: &BenchAppendArgs) -> anyhow::Result<Measured> {
    let per_writer = args.events.div_ceil(args.writers);
    let shared = store.clone();
    let store_run = writers(
        args.writers,
        per_writer,
        "concurrent appends",
        move |w, i| {
            let store = shared.clone();
            async move {
                let stream = stream("writer", w)?;
                let expected = ExpectedVersion::Exact(i64::try_from(i)?);
                store.append(&stream, expected, vec![event(w, i)?]).await?;
                Ok(())
            }
        },
    )
    .await?;
    let shared = store.clone();
    let baseline = writers(
        args.writers,
        per_writer,
        "baseline single INSERTs",
        move |w, i| {
            let store = shared.clone();
            async move {
                let request = raw_request(stream("writer", w)?, vec![event(w, i)?])?;
                testkit::baseline::insert(&store, &[request]).await?;
                Ok(())
            }
        },
    )
    .await?;
    Ok(Measured {
        events: per_writer * args.writers,
        store: store_run,
        baseline,
    })
}

/// `count` concurrent writers, each running `op(writer, i)` for i in 0..per_writer, timed one
/// by one.
async fn writers<F, Fut>(
    count: u64,
    per_writer: u64,
    what: &'static str,
    op: F,
) -> anyhow::Result<Run>
where
    F: Fn(u64, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let bar = progress(count * per_writer, what);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..count {
        let (op, bar) = (op.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            let mut latency = histogram()?;
            for i in 0..per_writer {
                let t = Instant::now();
                op(w, i).await?;
                latency.record(t.elapsed().as_micros().max(1) as u64)?;
                bar.inc(1);
            }
            anyhow::Ok(latency)
        }));
    }
    let run = collect(tasks, started).await;
    bar.finish_and_clear();
    run
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Histogram<u64>>>>,
    started: Instant,
) -> anyhow::Result<Run> {
    let mut latency = histogram()?;
    for t in tasks {
        latency.add(t.await??)?;
    }
    Ok(Run {
        elapsed: started.elapsed(),
        latency,
    })
}
