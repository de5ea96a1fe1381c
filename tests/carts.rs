//! Carts and shop questions end to end. Shoppers' cart sessions are appended straight into the
//! real event store, as the engine writes them (issue 13: `PurchaseIntended` after every add or
//! raise, `CartCheckedOut` with `OrderPlaced`), so that every case occurs on purpose: sessions
//! still open, events after 30 silent minutes, price changes, lowered and raised quantities,
//! orders outside the cart. (`salesbot simulate` drives the real engine; tests/pipeline.rs
//! reconciles what it writes with the same oracle.)
//! The real projector folds them while it is SIGKILLed and restarted; then every row of the
//! carts and questions tables must equal the oracle's recomputation from the raw log
//! (tests/support/oracle.rs), and the admin API's figures the oracle's figures. Embedded
//! (SQLite) and distributed (Postgres + JetStream, two projector processes).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use event_store::{EventStore, ExpectedVersion};
use events_schema::{
    CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged, Channel,
    ConversationStarted, Currency, Event, Intent, MessageKind, MessageReceived, Money, NewEvent,
    OrderLine, OrderPlaced, PaymentMethod, PurchaseIntended, Sentiment, ShopQuestionAsked,
    UnderstoodBy, UserId,
};
use rand::{Rng as _, SeedableRng as _};
use serde_json::Value;
use support::{Proc, SALESBOT, command, env_of, oracle, wait_caught_up};
use testkit::{NatsServer, TestDatabase};

const KEY: &str = "test-admin-key";

const PRODUCTS: &[(&str, i64)] = &[
    ("phone-x1", 79_900),
    ("phone-lite", 29_900),
    ("buds-2", 12_900),
    ("watch-s", 24_900),
    ("charger-65w", 3_900),
];
const TOPICS: &[&str] = &[
    "shipping",
    "returns",
    "warranty",
    "payment",
    "hours",
    "faq-gift-wrap",
];

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::new("USD").expect("code"))
}

fn message(intent: Intent) -> Event {
    MessageReceived {
        kind: MessageKind::Text,
        message_id: None,
        text: Some("…".into()),
        intent,
        sentiment: Sentiment::Neutral,
        product_id: None,
        language: Some("en".into()),
        understood_by: UnderstoodBy::Rules,
    }
    .into()
}

/// One shopper's visits: what the engine would append, visit by visit, with back-dated times.
/// The cart is followed here to write valid removals, changes and checkouts.
fn shopper(
    rng: &mut rand_chacha::ChaCha8Rng,
    now: DateTime<Utc>,
    live: bool,
) -> Vec<Vec<NewEvent>> {
    let mut at = now - TimeDelta::days(rng.random_range(12..25)) - TimeDelta::hours(3);
    let mut cart: BTreeMap<&str, (u32, i64)> = BTreeMap::new();
    let mut visits = Vec::new();
    let n = rng.random_range(1..5);
    for visit in 0..n {
        let last = visit + 1 == n;
        if last && live {
            // A session under way: its last event minutes ago.
            at = now - TimeDelta::minutes(12);
        }
        let mut events = vec![NewEvent::new(
            ConversationStarted {
                channel: Channel::Web,
                username: None,
                display_name: None,
                language: None,
                returning: visit > 0,
            },
            at,
        )];
        let steps = rng.random_range(1..9);
        for _ in 0..steps {
            at += TimeDelta::minutes(if live && last {
                1
            } else {
                rng.random_range(1..8)
            });
            let mut push = |e: Event| events.push(NewEvent::new(e, at));
            match rng.random_range(0..100) {
                0..35 => {
                    let (id, price) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
                    let quantity = rng.random_range(1..4);
                    push(message(Intent::CartAdd));
                    push(
                        CartItemAdded {
                            product_id: id.into(),
                            quantity,
                            unit_price: usd(price),
                        }
                        .into(),
                    );
                    push(
                        PurchaseIntended {
                            product_id: id.into(),
                            quantity,
                            unit_price: usd(price),
                        }
                        .into(),
                    );
                    cart.entry(id).or_insert((0, price)).0 += quantity;
                }
                35..47 if !cart.is_empty() => {
                    let i = rng.random_range(0..cart.len());
                    let (&id, &(from, _)) = cart.iter().nth(i).expect("a line");
                    let to = rng.random_range(0..6);
                    // Prices move now and then; the change carries the new one.
                    let price = PRODUCTS.iter().find(|p| p.0 == id).expect("product").1
                        - rng.random_range(0..2) * 1_000;
                    push(message(Intent::CartUpdate));
                    push(
                        CartQuantityChanged {
                            product_id: id.into(),
                            from,
                            to,
                            unit_price: usd(price),
                        }
                        .into(),
                    );
                    if to > from {
                        push(
                            PurchaseIntended {
                                product_id: id.into(),
                                quantity: to - from,
                                unit_price: usd(price),
                            }
                            .into(),
                        );
                    }
                    if to == 0 {
                        cart.remove(id);
                    } else {
                        cart.insert(id, (to, price));
                    }
                }
                47..55 if !cart.is_empty() => {
                    let i = rng.random_range(0..cart.len());
                    let (&id, &(quantity, _)) = cart.iter().nth(i).expect("a line");
                    push(message(Intent::CartRemove));
                    push(
                        CartItemRemoved {
                            product_id: id.into(),
                            quantity,
                        }
                        .into(),
                    );
                    cart.remove(id);
                }
                55..75 => {
                    push(message(Intent::ShopQuestion));
                    push(
                        ShopQuestionAsked {
                            topic: TOPICS[rng.random_range(0..TOPICS.len())].into(),
                        }
                        .into(),
                    );
                }
                75..85 if !cart.is_empty() => {
                    let lines: Vec<OrderLine> = cart
                        .iter()
                        .map(|(id, (q, p))| OrderLine {
                            product_id: (*id).into(),
                            quantity: *q,
                            unit_price: usd(*p),
                        })
                        .collect();
                    let total = cart.values().map(|(q, p)| i64::from(*q) * p).sum();
                    let order_id = format!("o-{}", rng.random::<u32>());
                    push(message(Intent::Checkout));
                    push(
                        OrderPlaced {
                            order_id: order_id.clone(),
                            lines: lines.clone(),
                            total: usd(total),
                            payment: PaymentMethod::ChatConfirmation,
                            contact: None,
                        }
                        .into(),
                    );
                    push(
                        CartCheckedOut {
                            order_id,
                            lines,
                            total: usd(total),
                        }
                        .into(),
                    );
                    cart.clear();
                }
                85..90 => {
                    // An order outside the cart (the "buy" flow).
                    let (id, price) = PRODUCTS[rng.random_range(0..PRODUCTS.len())];
                    push(
                        OrderPlaced {
                            order_id: format!("o-{}", rng.random::<u32>()),
                            lines: vec![OrderLine {
                                product_id: id.into(),
                                quantity: 1,
                                unit_price: usd(price),
                            }],
                            total: usd(price),
                            payment: PaymentMethod::ChatConfirmation,
                            contact: None,
                        }
                        .into(),
                    );
                }
                _ => push(message(Intent::CartView)),
            }
        }
        if !last && rng.random_range(0..6) == 0 {
            // Past the 30 silent minutes without a new session (a late payment, a delayed
            // delivery): an add that belongs to no session.
            at += TimeDelta::minutes(rng.random_range(30..50));
            let (id, price) = PRODUCTS[0];
            events.push(NewEvent::new(
                CartItemAdded {
                    product_id: id.into(),
                    quantity: 1,
                    unit_price: usd(price),
                },
                at,
            ));
            cart.entry(id).or_insert((0, price)).0 += 1;
        }
        visits.push(events);
        at += TimeDelta::hours(rng.random_range(1..60));
    }
    visits
}

/// Appends `users` shoppers' visits, interleaved, calling `chaos` after every 20 appends.
async fn append_shoppers(
    store: &EventStore,
    users: usize,
    seed: u64,
    mut chaos: impl FnMut(usize),
) -> usize {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let now = Utc::now();
    let mut pending: Vec<(UserId, std::collections::VecDeque<Vec<NewEvent>>)> = (0..users)
        .map(|i| {
            let user: UserId = format!("web:cart-{seed}-{i}").parse().expect("user");
            let live = i % 9 == 0;
            (user, shopper(&mut rng, now, live).into())
        })
        .collect();
    let mut appended = 0;
    let mut appends = 0;
    while pending.iter().any(|(_, v)| !v.is_empty()) {
        for (user, visits) in &mut pending {
            if let Some(events) = visits.pop_front() {
                appended += events.len();
                store
                    .append(&user.stream_id(), ExpectedVersion::Any, events)
                    .await
                    .expect("append");
                appends += 1;
                if appends % 20 == 0 {
                    chaos(appends / 20);
                    tokio::time::sleep(Duration::from_millis(60)).await;
                }
            }
        }
    }
    appended
}

async fn get(port: u16, path: &str) -> Value {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body = resp.text().await.expect("body");
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).expect("json")
}

fn money(v: &Value) -> BTreeMap<String, i64> {
    v.as_array()
        .expect("money list")
        .iter()
        .map(|m| {
            (
                m["currency"].as_str().expect("currency").to_owned(),
                m["amount_minor"].as_i64().expect("amount"),
            )
        })
        .collect()
}

/// The API's cart and shop question figures for `query` equal the oracle's for `from..=to`.
async fn check_figures(port: u16, log: &[events_schema::RecordedEvent], tz: Tz, query: &str) {
    let report = get(port, &format!("/admin/analytics/carts?{query}")).await;
    let now = Utc::now().timestamp_micros();
    let day = |v: &Value| v.as_str().expect("day").parse::<NaiveDate>().expect("date");
    let (from, to) = (day(&report["period"]["from"]), day(&report["period"]["to"]));
    let want = oracle::cart_figures(log, tz, from, to, now);
    let c = &report["carts"];
    let got = oracle::CartFigures {
        sessions_with_cart: c["sessions_with_cart"].as_i64().expect("n"),
        ordered: c["ordered"].as_i64().expect("n"),
        abandoned: c["abandoned"].as_i64().expect("n"),
        emptied: c["emptied"].as_i64().expect("n"),
        open: c["open"].as_i64().expect("n"),
        abandoned_units: c["abandoned_units"].as_i64().expect("n"),
        abandoned_value: money(&c["abandoned_value"]),
        products: report["abandoned_products"]
            .as_array()
            .expect("products")
            .iter()
            .map(|p| {
                (
                    p["product_id"].as_str().expect("id").to_owned(),
                    (
                        p["carts"].as_i64().expect("n"),
                        p["units"].as_i64().expect("n"),
                        money(&p["value"]).get("USD").copied().unwrap_or(0),
                    ),
                )
            })
            .collect(),
    };
    assert_eq!(got, want, "carts for {query}");
    let ended = want.sessions_with_cart - want.open;
    let rate = c["abandonment_rate"].as_f64().expect("rate");
    assert!(
        (rate - want.abandoned as f64 / ended.max(1) as f64).abs() < 1e-4,
        "{rate}"
    );

    let q = get(port, &format!("/admin/analytics/shop-questions?{query}")).await;
    let want = oracle::question_figures(log, tz, from, to);
    let s = &q["shop_questions"];
    let topics: BTreeMap<String, i64> = s["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| {
            (
                t["topic"].as_str().expect("topic").to_owned(),
                t["questions"].as_i64().expect("n"),
            )
        })
        .collect();
    assert_eq!(topics, want.per_topic, "topics for {query}");
    assert_eq!(
        s["questions"].as_i64(),
        Some(want.per_topic.values().sum::<i64>())
    );
    assert_eq!(s["ordering_users"].as_i64(), Some(want.ordering_users));
    assert_eq!(s["asked_before_ordering"].as_i64(), Some(want.asked_first));

    // The dashboard shows the same.
    let dash = get(port, &format!("/admin/dashboard?{query}")).await;
    assert_eq!(dash["carts"]["abandoned"], report["carts"]["abandoned"]);
    assert_eq!(
        dash["carts"]["abandoned_value"],
        report["carts"]["abandoned_value"]
    );
    assert_eq!(dash["shop_questions"], q["shop_questions"]);
}

/// Every row of every read table equals the oracle's; the figures of a month and of a week.
async fn reconcile(store: &EventStore, tz: Tz, port: u16) -> oracle::CartFigures {
    let expected = oracle::expected(store, tz).await;
    let actual = oracle::actual(store).await;
    oracle::assert_same(&expected, &actual);
    let log = oracle::log(store).await;
    check_figures(port, &log, tz, "days=30").await;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let week = format!(
        "from={}&to={}",
        today - TimeDelta::days(9),
        today - TimeDelta::days(3)
    );
    check_figures(port, &log, tz, &week).await;
    let month = today - TimeDelta::days(29);
    oracle::cart_figures(&log, tz, month, today, Utc::now().timestamp_micros())
}

/// The figures must not be trivial: every outcome occurs.
fn assert_rich(f: &oracle::CartFigures) {
    assert!(
        f.ordered > 5 && f.abandoned > 5 && f.emptied > 0 && f.open > 0,
        "{f:?}"
    );
    assert!(
        f.abandoned_value.get("USD").copied().unwrap_or(0) > 0,
        "{f:?}"
    );
}

#[testkit::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_carts_reconcile_through_sigkills_and_a_rebuild() {
    let db = TestDatabase::sqlite_for_test();
    let tz: Tz = "America/New_York".parse().expect("tz");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[("REPORT_TIMEZONE", tz.name())]);
    let mut server = Proc::start(SALESBOT, dir.path(), &env);
    server.wait_ready().await;
    let store = EventStore::open(&db.config).await.expect("open store");
    let mut restarts = 0;
    let appended = append_shoppers(&store, 150, 31, |step| {
        if step % 3 == 1 {
            server.restart();
            restarts += 1;
        }
    })
    .await;
    assert!(appended > 1_000 && restarts >= 5, "{appended} {restarts}");
    server.wait_ready().await;
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    let figures = reconcile(&store, tz, server.port).await;
    assert_rich(&figures);

    // A rebuild of the two projections gives the same tables.
    for projection in ["carts", "questions"] {
        let out = command(SALESBOT, dir.path(), &env)
            .args(["rebuild", projection, "--flush-events", "300"])
            .output()
            .expect("rebuild");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    reconcile(&store, tz, server.port).await;
    store.close().await;
}

#[testkit::test(needs = [postgres, nats], flavor = "multi_thread", worker_threads = 4)]
async fn distributed_carts_reconcile_through_killed_workers() {
    let db = TestDatabase::for_test().await;
    let nats = NatsServer::start().await;
    let tz: Tz = "Asia/Tokyo".parse().expect("tz");
    let dir = tempfile::tempdir().expect("tempdir");
    let url = nats.url();
    let env = env_of(
        &db,
        &[
            ("NATS_URL", url.as_str()),
            ("REPORT_TIMEZONE", tz.name()),
            ("PARTITIONS", "4"),
        ],
    );
    // command-service relays the log to JetStream; the test appends as the engine would.
    let (_commands, mut workers) = support::start_command_and_workers(dir.path(), &env).await;
    let query = Proc::start(env!("CARGO_BIN_EXE_query-api"), dir.path(), &env);
    query.wait_ready().await;
    let store = EventStore::open(&db.config).await.expect("open store");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(8);
    let mut kills = 0;
    append_shoppers(&store, 150, 32, |_| {
        if rng.random_range(0..2) == 0 {
            let w = rng.random_range(0..workers.len());
            workers[w].restart();
            kills += 1;
        }
    })
    .await;
    assert!(kills >= 4, "{kills}");
    wait_caught_up(&store, true, Duration::from_secs(90)).await;
    let figures = reconcile(&store, tz, query.port).await;
    assert_rich(&figures);
    store.close().await;
}

testkit::main!();
