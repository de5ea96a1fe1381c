//! `salesbot simulate`: realistic shoppers driven through the real command path. Each shopper
//! speaks one of the bot's languages (English for about half, Spanish, German or Russian for the
//! rest) and follows a persona (browser, price-checker, buyer, cart buyer, one who leaves at
//! checkout, returning buyer, bouncer) with messages drawn from the catalog, asking the shop's
//! questions on the way, all from a seeded generator, so the same `--seed` gives the same
//! conversations. In-process, messages are back-dated over `--days`
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
    /// The shopper's language, as a channel would report it.
    pub language: &'static str,
}

/// One simulated shopper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shopper {
    /// The web chat id (`sim-<seed>-<n>`), stored as `web:sim-<seed>-<n>`.
    pub id: String,
    pub persona: Persona,
    /// The language the shopper writes in (ISO 639-1).
    pub language: &'static str,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    Browser,
    PriceChecker,
    Buyer,
    CartBuyer,
    CartLeaver,
    ReturningBuyer,
    Bouncer,
}

const PERSONAS: &[(Persona, u32)] = &[
    (Persona::Browser, 30),
    (Persona::PriceChecker, 25),
    (Persona::Buyer, 10),
    (Persona::CartBuyer, 8),
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
            let talk = pick_talk(&mut rng);
            let first_day = rng.random_range(0..days);
            let minute_of_day = rng.random_range(8 * 60..22 * 60);
            let mut at = start
                + chrono::Duration::days(i64::from(first_day))
                + chrono::Duration::minutes(i64::from(minute_of_day));
            let mut lines = Vec::new();
            for (i, session) in sessions(persona, talk, catalog, &mut rng)
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    at += chrono::Duration::hours(rng.random_range(20..96));
                }
                for text in session {
                    at += chrono::Duration::seconds(rng.random_range(8..90));
                    lines.push(Line {
                        at: at.min(end),
                        text,
                        language: talk.language,
                    });
                }
            }
            Shopper {
                id: format!("sim-{seed}-{n}"),
                persona,
                language: talk.language,
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

/// How shoppers of one language say each step. `{c}` is a category as that language names it,
/// `{p}` and `{o}` products, `{n}` an amount.
#[derive(Debug)]
struct Talk {
    language: &'static str,
    /// Shoppers of this language in a hundred.
    weight: u32,
    greet: &'static [&'static str],
    browse: &'static [&'static str],
    browse_budget: &'static [&'static str],
    view: &'static [&'static str],
    price: &'static [&'static str],
    specs: &'static [&'static str],
    compare: &'static [&'static str],
    buy: &'static [&'static str],
    cart: &'static [&'static str],
    cart_more: &'static [&'static str],
    checkout: &'static [&'static str],
    confirm: &'static [&'static str],
    cancel: &'static [&'static str],
    shop: &'static [&'static str],
    bye: &'static [&'static str],
    nonsense: &'static [&'static str],
}

const TALKS: [Talk; 4] = [
    Talk {
        language: "en",
        weight: 55,
        greet: &["hi", "hello!", "/start", "hey there", "good morning"],
        browse: &[
            "what {c} do you have?",
            "show me {c}",
            "do you have any {c}?",
        ],
        browse_budget: &["{c} under ${n}", "something under {n} dollars"],
        view: &["tell me about the {p}", "{p}?", "the second one"],
        price: &[
            "how much is it?",
            "what's the price?",
            "how much does it cost?",
        ],
        specs: &["specs?", "tell me more about it", "how heavy is it?"],
        compare: &["compare the {p} and the {o}"],
        buy: &["I'll take it", "I'll take two", "I want to buy it"],
        cart: &["add it to my cart", "put it in my cart"],
        cart_more: &["and the {o} too", "add the {o} to my cart"],
        checkout: &["checkout", "ok I'm ready to checkout"],
        confirm: &["yes", "yes please", "confirm", "sure, go ahead"],
        cancel: &["no, cancel", "never mind", "not now"],
        shop: &[
            "do you ship to canada?",
            "what's your return policy?",
            "is there a warranty?",
            "can I pay with paypal?",
        ],
        bye: &["thanks!", "bye", "thank you, that's all"],
        nonsense: &["asdf", "lol", "??", "tell me a joke"],
    },
    Talk {
        language: "es",
        weight: 15,
        greet: &["hola", "buenas", "hola, buenas tardes"],
        browse: &["¿qué {c} tenéis?", "enséñame {c}", "¿tienes {c}?"],
        browse_budget: &[
            "{c} por menos de {n} dólares",
            "algo de menos de {n} dólares",
        ],
        view: &["háblame del {p}", "¿y el {p}?", "el segundo"],
        price: &["¿cuánto cuesta?", "¿qué precio tiene?", "¿cuánto sale?"],
        specs: &["¿características?", "¿cuánto pesa?"],
        compare: &["compara el {p} y el {o}"],
        buy: &["me lo llevo", "quiero comprarlo", "me llevo dos"],
        cart: &["añádelo al carrito", "mételo en el carrito"],
        cart_more: &["y el {o} también", "añade el {o} al carrito"],
        checkout: &["finalizar compra", "quiero pagar el carrito"],
        confirm: &["sí", "vale", "sí, confirma"],
        cancel: &["no, cancela", "mejor no"],
        shop: &[
            "¿hacéis envíos a España?",
            "¿cuál es la política de devoluciones?",
            "¿qué garantía tiene?",
        ],
        bye: &["¡gracias!", "adiós", "gracias, eso es todo"],
        nonsense: &["jajaja", "???", "qué tiempo hace"],
    },
    Talk {
        language: "de",
        weight: 15,
        greet: &["hallo", "hi", "guten tag"],
        browse: &["welche {c} habt ihr?", "zeig mir {c}", "habt ihr {c}?"],
        browse_budget: &["{c} unter {n} euro", "was unter {n} euro"],
        view: &["erzähl mir was über das {p}", "und das {p}?", "das zweite"],
        price: &["was kostet das?", "wie teuer ist es?", "was kostet es?"],
        specs: &["technische daten?", "wie schwer ist es?"],
        compare: &["vergleich das {p} und das {o}"],
        buy: &["ich nehme es", "ich will es kaufen", "ich nehme zwei"],
        cart: &["pack es in den warenkorb", "in den warenkorb bitte"],
        cart_more: &["und das {o} auch", "leg das {o} in den warenkorb"],
        checkout: &["zur kasse", "ich möchte bestellen, zur kasse bitte"],
        confirm: &["ja", "ja bitte", "passt, bestätigen"],
        cancel: &["nein, abbrechen", "doch nicht"],
        shop: &[
            "liefert ihr nach österreich?",
            "wie ist das mit rückgabe?",
            "wie lange ist die garantie?",
        ],
        bye: &["danke!", "tschüss", "danke, das wars"],
        nonsense: &["haha", "???", "wie wird das wetter"],
    },
    Talk {
        language: "ru",
        weight: 15,
        greet: &["привет", "здравствуйте", "добрый день"],
        browse: &["какие {c} есть?", "покажи {c}", "а {c} у вас есть?"],
        browse_budget: &["{c} до {n} долларов", "что-нибудь до {n} долларов"],
        view: &["расскажи про {p}", "а {p}?", "второй"],
        price: &["сколько стоит?", "какая цена?", "почем?"],
        specs: &["характеристики?", "сколько весит?"],
        compare: &["сравни {p} и {o}"],
        buy: &["беру", "хочу купить", "возьму два"],
        cart: &["добавь в корзину", "закинь в корзину"],
        cart_more: &["и {o} тоже", "добавь {o} в корзину"],
        checkout: &["оформить заказ", "оформляем корзину"],
        confirm: &["да", "да, подтверждаю", "давай"],
        cancel: &["нет, отмена", "не надо"],
        shop: &[
            "доставляете в германию?",
            "а вернуть можно?",
            "какая гарантия?",
        ],
        bye: &["спасибо!", "пока", "спасибо, всё"],
        nonsense: &["ахаха", "???", "какая погода"],
    },
];

fn pick_talk(rng: &mut ChaCha8Rng) -> &'static Talk {
    let total: u32 = TALKS.iter().map(|t| t.weight).sum();
    let mut roll = rng.random_range(0..total);
    for talk in &TALKS {
        if roll < talk.weight {
            return talk;
        }
        roll -= talk.weight;
    }
    &TALKS[0]
}

/// The sessions (lists of messages) of one shopper.
fn sessions(
    persona: Persona,
    talk: &Talk,
    catalog: &Catalog,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<String>> {
    let language = command_service::language::Language::from_tag(talk.language).unwrap_or_default();
    let categories: Vec<&command_service::catalog::Category> =
        catalog.categories().iter().collect();
    let Some(category) = categories.choose(rng).copied() else {
        return Vec::new();
    };
    let category_name = category
        .names
        .exactly(language)
        .unwrap_or(&category.name)
        .to_lowercase();
    let in_category: Vec<&Product> = catalog
        .in_category(&category.id)
        .filter(|p| p.stock > 0)
        .collect();
    let products: Vec<&Product> = if in_category.is_empty() {
        catalog.products().iter().collect()
    } else {
        in_category
    };
    let product = products
        .choose(rng)
        .map_or("", |p| p.name.as_str())
        .to_owned();
    let other = products
        .choose(rng)
        .map_or("", |p| p.name.as_str())
        .to_owned();
    let fill = |template: &str, rng: &mut ChaCha8Rng| {
        template
            .replace("{c}", &category_name)
            .replace("{p}", &product)
            .replace("{o}", &other)
            .replace("{n}", &(rng.random_range(3..15) * 100).to_string())
    };
    let say = |options: &[&str], rng: &mut ChaCha8Rng| {
        let template = one(rng, options);
        fill(template, rng)
    };
    let greet = say(talk.greet, rng);
    let browse = if rng.random_bool(0.3) {
        say(talk.browse_budget, rng)
    } else {
        say(talk.browse, rng)
    };
    let view = say(talk.view, rng);
    let price = say(talk.price, rng);
    let specs = say(talk.specs, rng);
    let compare = say(talk.compare, rng);
    let buy = say(talk.buy, rng);
    let cart = say(talk.cart, rng);
    let cart_more = say(talk.cart_more, rng);
    let checkout = say(talk.checkout, rng);
    let confirm = say(talk.confirm, rng);
    let cancel = say(talk.cancel, rng);
    let shop = say(talk.shop, rng);
    let bye = say(talk.bye, rng);
    let nonsense = say(talk.nonsense, rng);
    let asks_shop = rng.random_bool(0.3);
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
            if asks_shop {
                s.push(shop);
            }
            s.push(bye);
            vec![s]
        }
        Persona::Buyer => {
            let mut s = vec![greet, browse, view, price];
            if asks_shop {
                s.push(shop);
            }
            s.extend([buy, confirm, bye]);
            vec![s]
        }
        Persona::CartBuyer => {
            let mut s = vec![greet, browse, view, cart, cart_more];
            if asks_shop {
                s.push(shop);
            }
            s.extend([checkout, confirm, bye]);
            vec![s]
        }
        Persona::CartLeaver => {
            let mut s = vec![greet, browse, view, price];
            if rng.random_bool(0.5) {
                s.push(cart);
            } else {
                s.push(buy);
                if rng.random_bool(0.5) {
                    s.push(cancel);
                }
            }
            vec![s]
        }
        Persona::ReturningBuyer => vec![
            vec![greet.clone(), browse, view.clone(), price],
            vec![greet, view, buy, confirm, bye],
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
                language: Some(line.language.into()),
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
