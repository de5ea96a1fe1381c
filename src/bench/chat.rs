//! `salesbot bench chat`: messages per second from request to committed events through
//! `POST /api/messages`, with U shoppers chatting at once, and the latency of each request. The
//! server runs in this process on a loopback port, over a scratch database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use super::{histogram, progress, quantile_ms};
use crate::cli::{BenchBackend, BenchChatArgs, ChatMix};
use crate::config::Config;

/// A shopper's conversation, repeated as long as the benchmark needs messages (`--mix english`).
const CONVERSATION: &[&str] = &[
    "hi! what phones do you have?",
    "tell me about the nova x1",
    "how much is it?",
    "specs?",
    "compare the nova x1 and the pixelon 8",
    "laptops under $800",
    "the second one",
    "I'll take it",
    "no, cancel",
    "thanks!",
];

/// `--mix world`: a conversation in each language the bot speaks, with attribute questions, a
/// cart and a shop question; shopper `n` speaks the `n % 4`th.
const WORLD: [&[&str]; 4] = [
    &[
        "hi! what phones do you have?",
        "tell me about the nova x1",
        "how much is it and do you ship to germany?",
        "add it to my cart",
        "and the glide mouse too",
        "what's the cheapest camera?",
        "got a lighter laptop than the vertex 15 plus?",
        "make it 2",
        "what's in my cart?",
        "remove the mouse",
        "thanks!",
    ],
    &[
        "hola, ¿qué móviles tenéis?",
        "háblame del nova x1",
        "¿cuánto cuesta y hacéis envíos a Alemania?",
        "añádelo al carrito",
        "y el glide mouse también",
        "¿cuál es la cámara más barata?",
        "algo para correr por menos de 100 dólares",
        "ponme 2",
        "¿qué hay en mi carrito?",
        "quita el ratón",
        "¡gracias!",
    ],
    &[
        "hallo, welche handys habt ihr?",
        "erzähl mir was über das nova x1",
        "was kostet es und liefert ihr nach österreich?",
        "pack es in den warenkorb",
        "und die glide maus auch",
        "welche kamera ist am billigsten?",
        "ein laptop für die uni, max 800 euro",
        "mach 2 draus",
        "was ist in meinem warenkorb?",
        "nimm die maus raus",
        "danke!",
    ],
    &[
        "привет, какие телефоны есть?",
        "расскажи про nova x1",
        "сколько стоит и доставляете в германию?",
        "добавь в корзину",
        "и мышку glide тоже",
        "какая камера самая дешевая?",
        "наушники до 200 долларов",
        "давай 2",
        "что у меня в корзине?",
        "убери мышку",
        "спасибо!",
    ],
];

pub async fn run(config: &Config, args: &BenchChatArgs) -> anyhow::Result<()> {
    let db = super::scratch(args.backend, config).await?;
    let store = db.open().await.context("opening the scratch store")?;
    let catalog = Arc::new(crate::commands::load_catalog(config)?);
    let service = crate::simulate::service(store.clone(), catalog);
    let (acceptor, addr) = super::loopback().await?;
    let app = super::chat_routes(service);
    let server = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    let url = format!("http://{addr}/api/messages");
    let backend = match args.backend {
        BenchBackend::Postgres => "postgres",
        BenchBackend::Sqlite => "sqlite",
    };
    let result = async {
        let (rate, latency, elapsed) = load(&url, args, None).await?;
        println!(
            "{}",
            json!({
                "bench": "chat", "backend": backend, "limits": "raised", "users": args.users, "messages": args.messages,
                "mix": mix_name(args.mix),
                "messages_per_sec": rate.round(), "p50_ms": quantile_ms(&latency, 0.5),
                "p99_ms": quantile_ms(&latency, 0.99), "seconds": elapsed.as_secs_f64(),
            })
        );
        if let Some(target) = args.rate {
            let (rate, latency, elapsed) = load(&url, args, Some(target)).await?;
            println!(
                "{}",
                json!({
                    "bench": "chat_paced", "backend": backend, "limits": "raised", "users": args.users,
                    "mix": mix_name(args.mix),
                    "messages": args.messages, "target_messages_per_sec": target,
                    "messages_per_sec": rate.round(), "p50_ms": quantile_ms(&latency, 0.5),
                    "p99_ms": quantile_ms(&latency, 0.99), "seconds": elapsed.as_secs_f64(),
                })
            );
        }
        anyhow::Ok(())
    }
    .await;
    server.abort();
    store.close().await;
    drop(db);
    result
}

fn mix_name(mix: ChatMix) -> &'static str {
    match mix {
        ChatMix::English => "english",
        ChatMix::World => "world",
    }
}

/// Sends `args.messages` messages from `args.users` shoppers; paced to `rate` per second if
/// given. Returns (messages/s, latency histogram in µs, elapsed).
async fn load(
    url: &str,
    args: &BenchChatArgs,
    rate: Option<f64>,
) -> anyhow::Result<(f64, hdrhistogram::Histogram<u64>, Duration)> {
    let round = if rate.is_some() { "paced" } else { "max" };
    load_on(
        &Door::Web(url.to_owned()),
        args.users,
        args.messages,
        rate,
        round,
        args.mix,
    )
    .await
}

/// Where a benchmark's shoppers write: the web chat (`POST /api/messages` with the chat key),
/// or the Telegram webhook (`POST /telegram/webhook` with its secret), as the Bot API would
/// deliver each message.
#[derive(Debug, Clone)]
pub(crate) enum Door {
    Web(String),
    Webhook {
        url: String,
        secret: String,
        /// The next `update_id`, shared by every shopper (Telegram numbers a bot's updates).
        next_update: Arc<std::sync::atomic::AtomicI64>,
    },
}

/// First Telegram chat id of the benchmark's shoppers (private chats: chat id = user id).
const FIRST_CHAT: i64 = 900_000_000;

impl Door {
    fn request(
        &self,
        client: &reqwest::Client,
        user: u64,
        name: &str,
        i: u64,
        text: &str,
    ) -> reqwest::RequestBuilder {
        match self {
            Door::Web(url) => client
                .post(url)
                .header("X-Chat-Key", super::CHAT_KEY)
                .json(&json!({"user_id": name, "text": text})),
            Door::Webhook {
                url,
                secret,
                next_update,
            } => {
                let id = FIRST_CHAT + i64::try_from(user).unwrap_or(0);
                let update_id = next_update.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let from =
                    json!({"id": id, "is_bot": false, "first_name": name, "language_code": "en"});
                client
                    .post(url)
                    .header("X-Telegram-Bot-Api-Secret-Token", secret)
                    .json(&json!({
                        "update_id": update_id,
                        "message": {
                            "message_id": i + 1,
                            "date": chrono::Utc::now().timestamp(),
                            "chat": {"id": id, "type": "private", "first_name": name},
                            "from": from,
                            "text": text,
                        }
                    }))
            }
        }
    }
}

/// Sends `messages` messages through `door` from `users` shoppers named `bench-<round>-<n>`,
/// paced to `rate` per second if given. Returns (messages/s, latency histogram in µs, elapsed).
pub(crate) async fn load_on(
    door: &Door,
    users: u64,
    messages: u64,
    rate: Option<f64>,
    round: &'static str,
    mix: ChatMix,
) -> anyhow::Result<(f64, hdrhistogram::Histogram<u64>, Duration)> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::try_from(users).unwrap_or(200))
        .build()?;
    let per_user = messages.div_ceil(users);
    let total = per_user * users;
    let bar = progress(total, if rate.is_some() { "paced chat" } else { "chat" });
    let started = Instant::now();
    // One histogram for every shopper (a few hundred KB each would be resident memory the
    // soak measures as the system's).
    let latency = Arc::new(std::sync::Mutex::new(histogram()?));
    let mut tasks = Vec::new();
    for u in 0..users {
        let (client, door, bar) = (client.clone(), door.clone(), bar.clone());
        let latency = latency.clone();
        tasks.push(tokio::spawn(async move {
            let user = format!("bench-{round}-{u}");
            for i in 0..per_user {
                if let Some(rate) = rate {
                    // Each shopper sends every users/rate seconds, offset by u/rate so that
                    // together they make `rate` messages a second, evenly spread.
                    let due = started
                        + Duration::from_secs_f64((i as f64 * users as f64 + u as f64) / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let conversation = match mix {
                    ChatMix::English => CONVERSATION,
                    ChatMix::World => WORLD[usize::try_from(u % 4).unwrap_or(0)],
                };
                let text = conversation[usize::try_from(i).unwrap_or(0) % conversation.len()];
                let t = Instant::now();
                let response = door.request(&client, u, &user, i, text).send().await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "status {}",
                    response.status()
                );
                latency
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .record(t.elapsed().as_micros().max(1) as u64)?;
                bar.inc(1);
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let latency = std::mem::replace(
        &mut *latency.lock().unwrap_or_else(|p| p.into_inner()),
        histogram()?,
    );
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    Ok((
        total as f64 / elapsed.as_secs_f64().max(1e-9),
        latency,
        elapsed,
    ))
}
