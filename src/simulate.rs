//! `salesbot simulate`: realistic shoppers driven through the real command path. Each shopper
//! follows a persona (browser, price-checker, buyer, one who leaves at checkout, returning
//! buyer, bouncer) with messages drawn from the catalog, all from a seeded generator, so the same
//! `--seed` gives the same conversations. In-process, messages are back-dated over `--days`
//! (occurred_at; the log records them now); with `--target URL` they are sent live over HTTP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use command_service::catalog::{Catalog, Product};
use command_service::engine::Inbound;
use command_service::service::{CommandService, EventIds, SystemClock};
use events_schema::{Channel, MessageKind, UserId};
use futures::StreamExt as _;
use rand::seq::IndexedRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// One message of a script, at an offset from the simulation's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: DateTime<Utc>,
    pub text: String,
}

/// One simulated shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    /// The web chat id (`sim-<seed>-<n>`), stored as `web:sim-<seed>-<n>`.
    pub id: String,
    pub persona: Persona,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Browser,
    PriceChecker,
    Buyer,
    CartLeaver,
    ReturningBuyer,
    Bouncer,
}

const PERSONAS: &[(Persona, u32)] = &[
    (Persona::Browser, 30),
    (Persona::PriceChecker, 25),
    (Persona::Buyer, 15),
    (Persona::CartLeaver, 10),
    (Persona::ReturningBuyer, 8),
    (Persona::Bouncer, 12),
];

/// Builds every shopper's script; the same arguments give the same scripts.
pub fn scripts(
    catalog: &Catalog,
    users: u32,
    seed: u64,
    days: u32,
    end: DateTime<Utc>,
) -> Vec<Shopper> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let days = days.max(1);
    let start = end - chrono::Duration::days(i64::from(days));
    (0..users)
        .map(|n| {
            let persona = pick_persona(&mut rng);
            let first_day = rng.random_range(0..days);
            let minute_of_day = rng.random_range(8 * 60..22 * 60);
            let mut at = start
                + chrono::Duration::days(i64::from(first_day))
                + chrono::Duration::minutes(i64::from(minute_of_day));
            let mut lines = Vec::new();
            for (i, session) in sessions(persona, catalog, &mut rng).into_iter().enumerate() {
                if i > 0 {
                    at += chrono::Duration::hours(rng.random_range(20..96));
                }
                for text in session {
                    at += chrono::Duration::seconds(rng.random_range(8..90));
                    lines.push(Line {
                        at: at.min(end),
                        text,
                    });
                }
            }
            Shopper {
                id: format!("sim-{seed}-{n}"),
                persona,
                lines,
            }
        })
        .collect()
}

fn pick_persona(rng: &mut ChaCha8Rng) -> Persona {
    let total: u32 = PERSONAS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    for (p, w) in PERSONAS {
        if roll < *w {
            return *p;
        }
        roll -= w;
    }
    Persona::Browser
}

fn one<'a>(rng: &mut ChaCha8Rng, options: &[&'a str]) -> &'a str {
    options.choose(rng).copied().unwrap_or("hi")
}

/// The sessions (lists of messages) of one shopper.
fn sessions(persona: Persona, catalog: &Catalog, rng: &mut ChaCha8Rng) -> Vec<Vec<String>> {
    let categories: Vec<&str> = catalog.categories().iter().map(|c| c.id.as_str()).collect();
    let category = categories.choose(rng).copied().unwrap_or("phones");
    let in_category: Vec<&Product> = catalog
        .in_category(category)
        .filter(|p| p.stock > 0)
        .collect();
    let products: Vec<&Product> = if in_category.is_empty() {
        catalog.products().iter().collect()
    } else {
        in_category
    };
    let product = products
        .choose(rng)
        .map_or("it", |p| p.name.as_str())
        .to_owned();
    let other = products
        .choose(rng)
        .map_or("it", |p| p.name.as_str())
        .to_owned();
    let greet = one(
        rng,
        &["hi", "hello!", "/start", "hey there", "good morning"],
    )
    .to_owned();
    let browse = match rng.random_range(0..4) {
        0 => format!("what {category} do you have?"),
        1 => format!("show me {category}"),
        2 => format!("{category} under ${}", rng.random_range(3..15) * 100),
        _ => format!("do you have any {category}?"),
    };
    let view = match rng.random_range(0..3) {
        0 => format!("tell me about the {product}"),
        1 => format!("{product}?"),
        _ => "the second one".to_owned(),
    };
    let price = one(
        rng,
        &[
            "how much is it?",
            "what's the price?",
            "how much does it cost?",
        ],
    )
    .to_owned();
    let specs = one(
        rng,
        &[
            "specs?",
            "tell me more about it",
            "what's the battery like?",
        ],
    )
    .to_owned();
    let compare = format!("compare the {product} and the {other}");
    let buy = one(
        rng,
        &[
            "I'll take it",
            "I'll take two",
            "I want to buy it",
            "add it to cart",
        ],
    )
    .to_owned();
    let confirm = one(rng, &["yes", "yes please", "confirm", "sure, go ahead"]).to_owned();
    let cancel = one(rng, &["no, cancel", "never mind", "not now"]).to_owned();
    let bye = one(rng, &["thanks!", "bye", "thank you, that's all"]).to_owned();
    let nonsense = one(rng, &["asdf", "do you deliver to mars?", "lol", "??"]).to_owned();
    match persona {
        Persona::Bouncer => vec![
            vec![greet, nonsense]
                .into_iter()
                .take(rng.random_range(1..=2))
                .collect(),
        ],
        Persona::Browser => vec![vec![greet, browse, view, bye]],
        Persona::PriceChecker => {
            let mut s = vec![greet, browse, view, price, specs];
            if rng.random_bool(0.4) {
                s.push(compare);
            }
            s.push(bye);
            vec![s]
        }
        Persona::Buyer => vec![vec![greet, browse, view, price, buy, confirm, bye]],
        Persona::CartLeaver => {
            let mut s = vec![greet, browse, view, price, buy];
            if rng.random_bool(0.5) {
                s.push(cancel);
            }
            vec![s]
        }
        Persona::ReturningBuyer => vec![
            vec![greet.clone(), browse, view.clone(), price],
            vec![
                greet,
                format!("tell me about the {product} again"),
                buy,
                confirm,
                bye,
            ],
        ],
    }
}

/// What a simulation did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub users: usize,
    pub messages: usize,
    pub failed: usize,
    pub elapsed: Duration,
}

/// Keeps the overall message rate at or below `rate` per second.
#[derive(Debug)]
struct Pace {
    start: Instant,
    rate: Option<f64>,
    sent: std::sync::atomic::AtomicU64,
}

impl Pace {
    async fn wait(&self) {
        let Some(rate) = self.rate else { return };
        let n = self.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let due = self.start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
    }
}

/// Sends every shopper's lines through `send` (true: the message was recorded),
/// `concurrency` shoppers at a time, paced to `rate` messages a second if given.
async fn drive<F, Fut>(
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
    send: F,
) -> Summary
where
    F: Fn(String, Line) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let pace = Pace {
        start: Instant::now(),
        rate,
        sent: 0.into(),
    };
    let started = Instant::now();
    let failed = std::sync::atomic::AtomicUsize::new(0);
    futures::stream::iter(shoppers)
        .for_each_concurrent(concurrency.max(1), |shopper| {
            let (pace, failed, send) = (&pace, &failed, &send);
            async move {
                for line in &shopper.lines {
                    pace.wait().await;
                    if !send(shopper.id.clone(), line.clone()).await {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    progress.inc(1);
                }
            }
        })
        .await;
    Summary {
        users: shoppers.len(),
        messages: shoppers.iter().map(|s| s.lines.len()).sum(),
        failed: failed.into_inner(),
        elapsed: started.elapsed(),
    }
}

/// Drives the shoppers in-process through `service`, `concurrency` shoppers at a time.
pub async fn run_in_process(
    service: &CommandService,
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
) -> Summary {
    drive(
        shoppers,
        concurrency,
        rate,
        progress,
        move |id, line| async move {
            let Ok(user) = UserId::new(Channel::Web, &id) else {
                return false;
            };
            let inbound = Inbound {
                channel: Channel::Web,
                kind: MessageKind::Text,
                text: Some(line.text),
                message_id: None,
                chat_id: None,
                username: Some(id),
                display_name: None,
                language: Some("en".into()),
                at: line.at,
                payments: false,
            };
            match service.handle(&user, &inbound, EventIds::Fresh).await {
                Ok(_) => true,
                Err(error) => {
                    tracing::warn!(%error, user = %user, "simulated message failed");
                    false
                }
            }
        },
    )
    .await
}

/// Sends the shoppers' messages live to `POST <target>/api/messages`, naming each shopper as a
/// shop's backend does (`user_id` with `X-Chat-Key`). A message refused with 429 is sent again
/// after the `Retry-After` the server asked for (a few times at most), as a polite client would.
pub async fn run_http(
    target: &url::Url,
    chat_key: &str,
    shoppers: &[Shopper],
    concurrency: usize,
    rate: Option<f64>,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<Summary> {
    let endpoint = target
        .join("api/messages")
        .context("--target: not a base URL")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let (client, endpoint) = (&client, &endpoint);
    Ok(drive(
        shoppers,
        concurrency,
        rate,
        progress,
        move |id, line| async move {
            let body = serde_json::json!({"user_id": id, "text": line.text, "username": id});
            for _ in 0..RETRIES_AFTER_429 {
                let response = client
                    .post(endpoint.clone())
                    .header("X-Chat-Key", chat_key)
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => {
                        let wait = r
                            .headers()
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.parse::<u64>().ok())
                            .unwrap_or(1);
                        tokio::time::sleep(Duration::from_secs(wait.min(60))).await;
                    }
                    Ok(r) if r.status().is_success() => return true,
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        tracing::warn!(%status, body = %text, "simulated message refused");
                        return false;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "simulated message failed");
                        return false;
                    }
                }
            }
            false
        },
    )
    .await)
}

/// How often `run_http` sends a message again after being told to slow down.
const RETRIES_AFTER_429: usize = 10;

/// A command service over `store` for in-process simulation (and benchmarks).
pub fn service(store: event_store::EventStore, catalog: Arc<Catalog>) -> CommandService {
    CommandService::new(store, catalog, Arc::new(SystemClock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_shoppers_and_another_seed_others() {
        let catalog = Catalog::demo().expect("demo");
        let end = DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .expect("time")
            .to_utc();
        let a = scripts(&catalog, 50, 7, 30, end);
        let b = scripts(&catalog, 50, 7, 30, end);
        let c = scripts(&catalog, 50, 8, 30, end);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let start = end - chrono::Duration::days(30);
        for shopper in &a {
            assert!(!shopper.lines.is_empty());
            assert!(
                shopper.lines.windows(2).all(|w| w[0].at <= w[1].at),
                "time moves forward"
            );
            assert!(shopper.lines.iter().all(|l| l.at >= start && l.at <= end));
        }
        let personas: std::collections::HashSet<_> =
            a.iter().map(|s| format!("{:?}", s.persona)).collect();
        assert!(personas.len() >= 5, "a realistic mix: {personas:?}");
    }
}
