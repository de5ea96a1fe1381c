//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromedriver`), against a
//! system filled by `salesbot simulate`: the key is typed into the page, the KPI and funnel
//! figures on the page equal the API's, a click on a user opens their profile with the API's
//! engagement score and their conversation, both tables (products and users, one shared table
//! module) sort, page and search as the API does, the browser's console shows no error (a
//! module that failed to load, a CSP refusal), and screenshots are saved.

mod support;
#[path = "dashboard/tables.rs"]
mod tables;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::Value;
use support::Served;
use tables::{TableCase, Tables, browser_errors};
use testkit::TestDatabase;
use testkit::{CHROMEDRIVER, CHROMIUM};

pub(crate) const KEY: &str = "test-admin-key";

/// chromedriver on a port of its own, stopped on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// chromedriver on port 0, its port read back from `… started successfully on port N.` (the
/// harness has checked that it and Chromium are there).
fn start_driver() -> Driver {
    let mut child = Command::new(CHROMEDRIVER)
        .arg("--port=0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let stdout = child.stdout.take().expect("piped stdout");
    let port = support::port_from_lines(stdout, driver_port, |_| false);
    let mut driver = Driver { child, port: 0 };
    driver.port = port
        .recv_timeout(Duration::from_secs(20))
        .expect("chromedriver never said where it listens");
    driver
}

fn driver_port(line: &str) -> Option<u16> {
    let rest = line.split_once("started successfully on port ")?.1;
    rest.trim_end_matches('.').trim().parse().ok()
}

async fn browser(driver: &Driver) -> Client {
    // Two TLS back-ends are in the tree; the WebDriver client (plain HTTP here) needs one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1400,2200",
            ],
        }),
    );
    // What the page logs to the console, read back at the end (`browser_errors`).
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        match ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not accept a session on {url}");
}

pub(crate) async fn attr(browser: &Client, css: &str, name: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .attr(name)
        .await
        .expect("attribute")
        .unwrap_or_else(|| panic!("{css} has no {name}"))
}

pub(crate) async fn wait_for(browser: &Client, css: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("waiting for {css}: {e}"));
}

#[testkit::test(needs = chromium, flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_the_apis_figures_and_a_users_profile() {
    let driver = start_driver();
    let db = TestDatabase::sqlite_for_test();
    let Served {
        dir: _dir,
        env: _env,
        server,
        store,
    } = Served::simulated(
        &db,
        &[],
        &["--users", "200", "--days", "30", "--seed", "23"],
    )
    .await;
    // Carts and shop questions the figures are sure to show: appended as the engine writes them.
    add_carts_and_questions(&store).await;
    support::wait_caught_up(&store, false, Duration::from_secs(30)).await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = reqwest::Client::new();
    let api = |path: String| {
        let req = http.get(format!("{base}{path}")).header("X-API-Key", KEY);
        async move {
            let resp = req.send().await.expect("request");
            assert_eq!(resp.status(), 200);
            resp.json::<Value>().await.expect("json")
        }
    };
    let dash = api("/admin/dashboard?days=30".into()).await;

    let browser = browser(&driver).await;
    let result = async {
        // The old address leads to the page, which asks for the key once.
        browser
            .goto(&format!("{base}/static/dashboard.html"))
            .await
            .expect("open");
        assert!(browser.current_url().await.expect("url").path() == "/dashboard");
        wait_for(&browser, "[data-testid=key-input]").await;
        let input = browser
            .find(Locator::Css("[data-testid=key-input]"))
            .await
            .expect("key input");
        input.send_keys(KEY).await.expect("type the key");
        browser
            .find(Locator::Css("[data-testid=key-submit]"))
            .await
            .expect("submit")
            .click()
            .await
            .expect("click");
        wait_for(&browser, "body[data-state=ready]").await;

        let kpis = &dash["kpis"];
        for (id, want) in [
            ("kpi-users", &kpis["users"]["value"]),
            ("kpi-active-users", &kpis["active_users"]["value"]),
            ("kpi-revenue", &kpis["revenue"][0]["value_minor"]),
            ("kpi-aov", &kpis["average_order_value"][0]["value_minor"]),
        ] {
            let got = attr(&browser, &format!("[data-testid={id}]"), "data-value").await;
            assert_eq!(got, want.to_string(), "{id}");
        }
        let rate: f64 = attr(&browser, "[data-testid=kpi-conversion-rate]", "data-value")
            .await
            .parse()
            .expect("a number");
        let want = kpis["conversion_rate"]["value"].as_f64().expect("rate");
        assert!((rate - want).abs() < 1e-9, "conversion {rate} vs {want}");
        for stage in dash["funnel"].as_array().expect("funnel") {
            let name = stage["stage"].as_str().expect("stage");
            let got = attr(
                &browser,
                &format!("[data-testid=funnel-{name}]"),
                "data-value",
            )
            .await;
            assert_eq!(got, stage["users"].to_string(), "funnel {name}");
        }
        // Carts and shop questions.
        let carts = &dash["carts"];
        assert!(carts["abandoned"].as_i64() >= Some(2), "{carts}");
        for (id, want) in [
            ("carts-sessions", &carts["sessions_with_cart"]),
            ("carts-ordered", &carts["ordered"]),
            ("carts-abandoned", &carts["abandoned"]),
            (
                "carts-abandoned-value",
                &carts["abandoned_value"][0]["amount_minor"],
            ),
            ("carts-open", &carts["open"]),
        ] {
            let got = attr(&browser, &format!("[data-testid={id}]"), "data-value").await;
            assert_eq!(got, want.to_string(), "{id}");
        }
        let questions = &dash["shop_questions"];
        let share: f64 = attr(
            &browser,
            "[data-testid=questions-before-ordering]",
            "data-value",
        )
        .await
        .parse()
        .expect("a number");
        let want = questions["asked_before_ordering_share"]
            .as_f64()
            .expect("share");
        assert!(
            want > 0.0 && (share - want).abs() < 1e-9,
            "{share} vs {want}"
        );
        for topic in questions["topics"].as_array().expect("topics") {
            let name = topic["topic"].as_str().expect("topic");
            let got = attr(
                &browser,
                &format!("[data-testid=question-row][data-topic={name}] td.num"),
                "data-value",
            )
            .await;
            assert_eq!(got, topic["questions"].to_string(), "topic {name}");
        }
        browser
            .execute(
                "document.querySelector('[data-testid=carts-card]').scrollIntoView()",
                vec![],
            )
            .await
            .expect("scroll to the carts");
        let png = browser.screenshot().await.expect("screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-carts.png");
        std::fs::write(&path, png).expect("save the screenshot");

        let rows = browser
            .find_all(Locator::Css("[data-testid=product-row]"))
            .await
            .expect("product rows");
        assert!(!rows.is_empty());

        // Drill into the first user of the table.
        wait_for(&browser, "[data-testid=user-row]").await;
        let row = browser
            .find(Locator::Css("[data-testid=user-row]"))
            .await
            .expect("a user row");
        let user = row
            .attr("data-user-id")
            .await
            .expect("attribute")
            .expect("data-user-id");
        row.click().await.expect("open the profile");
        wait_for(&browser, "[data-testid=user-profile][data-state=ready]").await;
        let profile = api(format!("/admin/users/{}", user.replace(':', "%3A"))).await;
        let score = attr(&browser, "[data-testid=profile-engagement]", "data-value").await;
        let want = profile["engagement"]["score"].as_i64().expect("score");
        let score: i64 = score.parse().expect("a number");
        // The score's recency part moves with the clock: allow the one point it may have
        // moved between the page's request and the test's.
        assert!((score - want).abs() <= 1, "engagement {score} vs {want}");
        let messages = browser
            .find_all(Locator::Css("[data-testid=timeline-message]"))
            .await
            .expect("timeline");
        let expected = profile["conversation"]["messages"]
            .as_array()
            .expect("messages")
            .len();
        assert_eq!(messages.len(), expected);
        assert!(expected > 0);

        let png = browser.screenshot().await.expect("screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
        std::fs::write(&path, png).expect("save the screenshot");
        eprintln!("dashboard screenshot: {}", path.display());

        browser
            .find(Locator::Css("[data-testid=profile-close]"))
            .await
            .expect("close button")
            .click()
            .await
            .expect("close the profile");
        wait_for(&browser, "[data-testid=user-profile][data-state=closed]").await;
        let tables = Tables {
            browser: &browser,
            http: &http,
            base: &base,
        };
        tables
            .sort_page_and_search(&TableCase {
                prefix: "products",
                query: "/admin/analytics/products?days=30&",
                id_field: "product_id",
                id_attr: "data-product-id",
                first_sort: ("views", "desc"),
                column: ("product_id", "asc"),
                page_size: 50,
            })
            .await;
        tables
            .sort_page_and_search(&TableCase {
                prefix: "users",
                query: "/admin/users?",
                id_field: "user_id",
                id_attr: "data-user-id",
                first_sort: ("last_seen", "desc"),
                column: ("messages", "desc"),
                page_size: 25,
            })
            .await;
        browser
            .execute(
                "document.querySelector('[data-testid=products-table]').scrollIntoView()",
                vec![],
            )
            .await
            .expect("scroll to the tables");
        let png = browser.screenshot().await.expect("screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-tables.png");
        std::fs::write(&path, png).expect("save the screenshot");

        // The "as of" picker: historical figures, marked as such, then back to the present.
        let head = store.head_position().await.expect("head");
        let past = api(format!("/admin/dashboard?days=30&as_of={}", head / 2)).await;
        browser
            .execute("window.scrollTo(0, 0)", vec![])
            .await
            .expect("scroll to the top");
        let input = browser
            .find(Locator::Css("[data-testid=as-of-input]"))
            .await
            .expect("as of input");
        input
            .send_keys(&(head / 2).to_string())
            .await
            .expect("type a position");
        browser
            .find(Locator::Css("[data-testid=as-of-apply]"))
            .await
            .expect("as of button")
            .click()
            .await
            .expect("click");
        wait_for(&browser, &format!("body[data-as-of='{}']", head / 2)).await;
        let banner = browser
            .find(Locator::Css("[data-testid=as-of-banner]"))
            .await
            .expect("banner");
        assert!(banner.is_displayed().await.expect("displayed"));
        let text = banner.text().await.expect("banner text");
        assert!(text.starts_with("Historical figures"), "{text}");
        assert!(
            browser
                .current_url()
                .await
                .expect("url")
                .fragment()
                .is_some_and(|f| f.contains(&format!("as_of={}", head / 2))),
            "the hash keeps as_of"
        );
        let kpis = &past["kpis"];
        assert_ne!(
            kpis["users"], dash["kpis"]["users"],
            "half the log has fewer users"
        );
        for (id, want) in [
            ("kpi-users", &kpis["users"]["value"]),
            ("kpi-active-users", &kpis["active_users"]["value"]),
        ] {
            let got = attr(&browser, &format!("[data-testid={id}]"), "data-value").await;
            assert_eq!(got, want.to_string(), "as of: {id}");
        }
        for stage in past["funnel"].as_array().expect("funnel") {
            let name = stage["stage"].as_str().expect("stage");
            let got = attr(
                &browser,
                &format!("[data-testid=funnel-{name}]"),
                "data-value",
            )
            .await;
            assert_eq!(got, stage["users"].to_string(), "as of: funnel {name}");
        }
        let png = browser.screenshot().await.expect("screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-as-of.png");
        std::fs::write(&path, png).expect("save the screenshot");
        browser
            .find(Locator::Css("[data-testid=as-of-now]"))
            .await
            .expect("now button")
            .click()
            .await
            .expect("click");
        browser
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("body[data-state=ready]:not([data-as-of])"))
            .await
            .expect("back to the present");
        assert!(!banner.is_displayed().await.expect("displayed"));
        let got = attr(&browser, "[data-testid=kpi-users]", "data-value").await;
        assert_eq!(got, dash["kpis"]["users"]["value"].to_string(), "now again");

        let errors = browser_errors(&browser).await;
        assert!(errors.is_empty(), "the browser's console: {errors:#?}");
    }
    .await;
    browser.close().await.expect("close the browser");
    store.close().await;
    result
}

/// Three shoppers two days ago: two leave items in the cart, one asks about returns and
/// shipping, then orders.
async fn add_carts_and_questions(store: &event_store::EventStore) {
    use events_schema::*;
    let usd = |m: i64| Money::new(m, Currency::new("USD").expect("code"));
    let start = chrono::Utc::now() - chrono::TimeDelta::days(2);
    let at = |minutes: i64| start + chrono::TimeDelta::minutes(minutes);
    let started = || ConversationStarted {
        channel: Channel::Web,
        username: None,
        display_name: None,
        language: None,
        returning: false,
    };
    for (user, quantity) in [("web:cart-a", 1), ("web:cart-b", 3)] {
        let user: UserId = user.parse().expect("user");
        let events = vec![
            NewEvent::new(started(), at(0)),
            NewEvent::new(
                CartItemAdded {
                    product_id: "nova-x1".into(),
                    quantity,
                    unit_price: usd(69_900),
                },
                at(1),
            ),
        ];
        store
            .append(&user.stream_id(), event_store::ExpectedVersion::Any, events)
            .await
            .expect("append");
    }
    let user: UserId = "web:asker".parse().expect("user");
    let events = vec![
        NewEvent::new(started(), at(0)),
        NewEvent::new(
            ShopQuestionAsked {
                topic: "returns".into(),
            },
            at(1),
        ),
        NewEvent::new(
            ShopQuestionAsked {
                topic: "shipping".into(),
            },
            at(2),
        ),
        NewEvent::new(
            ShopQuestionAsked {
                topic: "returns".into(),
            },
            at(3),
        ),
        NewEvent::new(
            OrderPlaced {
                order_id: "o-asker".into(),
                lines: vec![OrderLine {
                    product_id: "nova-x1".into(),
                    quantity: 1,
                    unit_price: usd(69_900),
                }],
                total: usd(69_900),
                payment: PaymentMethod::ChatConfirmation,
                contact: None,
            },
            at(4),
        ),
    ];
    store
        .append(&user.stream_id(), event_store::ExpectedVersion::Any, events)
        .await
        .expect("append");
}

testkit::main!();
