//! `/metrics` as the ecosystem's tools read it: `promtool check metrics` (Debian's `prometheus`
//! package) passes on a scrape of a running server, and every query of the Grafana dashboard in
//! `deploy/grafana/salesbot.json` evaluates in a real Prometheus that scraped that server while
//! shoppers chatted and an admin read figures.

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{CHAT_KEY, Proc, SALESBOT, env_of};
use testkit::{PROMETHEUS, PROMTOOL, TestDatabase};

const DASHBOARD: &str = include_str!("../deploy/grafana/salesbot.json");

/// Panels that show something only once Telegram or an LLM is configured and used; every other
/// panel must have data after this test's traffic.
const NEEDS_TELEGRAM_OR_LLM: &[&str] = &["salesbot_telegram_", "salesbot_llm_"];

/// Some shoppers chat and an admin reads figures: every route family, the bot and the projector
/// get to work.
async fn traffic(server: &Proc, round: usize) {
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}", server.port);
    for (i, text) in [
        "hi",
        "show me laptops",
        "how much is the nova tab 11?",
        "add it to my cart",
    ]
    .iter()
    .enumerate()
    {
        let answer = http
            .post(format!("{base}/api/messages"))
            .header("X-Chat-Key", CHAT_KEY)
            .json(&serde_json::json!({"user_id": format!("metrics-{round}-{i}"), "text": text}))
            .send()
            .await
            .expect("chat");
        assert!(answer.status().is_success(), "{}", answer.status());
    }
    for path in ["/admin/dashboard?days=7", "/admin/users/web:metrics-0-0"] {
        let answer = http
            .get(format!("{base}{path}"))
            .header("X-API-Key", "test-admin-key")
            .send()
            .await
            .expect("admin");
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
    }
    let missing = http
        .get(format!("{base}/no/such/page"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
}

#[testkit::test(needs = prometheus, flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_scrape_and_every_dashboard_query_evaluates() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    traffic(&server, 0).await;

    // promtool reads the exposition as Prometheus does, and lints it.
    let scrape = server.get("/metrics").await.text().await.expect("scrape");
    let mut check = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    check
        .stdin
        .take()
        .expect("stdin")
        .write_all(scrape.as_bytes())
        .expect("write");
    let checked = check.wait_with_output().expect("promtool output");
    assert!(
        checked.status.success() && checked.stdout.is_empty() && checked.stderr.is_empty(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    for name in ["user_id", "web:metrics", "/admin/users/web:"] {
        assert!(!scrape.contains(name), "a label holds `{name}`:\n{scrape}");
    }

    // A real Prometheus scrapes the server every second while the traffic goes on.
    let prom_dir = tempfile::tempdir().expect("tempdir");
    let config = prom_dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: salesbot\n    \
             static_configs:\n      - targets: ['127.0.0.1:{}']\n",
            server.port
        ),
    )
    .expect("config");
    // Prometheus cannot listen on port 0 and say which port it got: take a free one.
    let prom_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut prom = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            prom_dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus");
    let api = format!("http://127.0.0.1:{prom_port}/api/v1/query");
    let query = |expr: String| {
        let api = api.clone();
        async move {
            let answer = reqwest::Client::new()
                .get(&api)
                .query(&[("query", expr.as_str())])
                .send()
                .await
                .ok()?;
            answer.json::<Value>().await.ok()
        }
    };
    // Rates need two samples of a series; wait for five successful scrapes (`up` is 1; a scrape
    // slower than its timeout on a busy machine counts 0), traffic between.
    let mut scrapes = 0.0;
    for round in 1..=240 {
        if let Some(v) = query("sum_over_time(up{job=\"salesbot\"}[5m])".into()).await {
            scrapes = v["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            if scrapes >= 5.0 {
                break;
            }
        }
        if round % 4 == 0 {
            traffic(&server, round).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(scrapes >= 5.0, "Prometheus scraped {scrapes} times");

    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    let mut empty = Vec::new();
    for panel in panels {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("expr").to_owned();
            let answer = query(expr.clone()).await.expect("Prometheus answers");
            assert_eq!(answer["status"], "success", "{expr}: {answer}");
            let optional = NEEDS_TELEGRAM_OR_LLM.iter().any(|m| expr.contains(m));
            let has_data = answer["data"]["result"]
                .as_array()
                .is_some_and(|r| !r.is_empty());
            if !has_data && !optional && !expr.contains("salesbot_relay_") {
                empty.push(format!("{}: {expr}", panel["title"]));
            }
        }
    }
    let _ = prom.kill();
    let _ = prom.wait();
    assert!(
        empty.is_empty(),
        "queries with no data:\n{}",
        empty.join("\n")
    );
}

testkit::main!();
