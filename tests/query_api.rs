//! The admin API as an integrator uses it: the real server filled by `salesbot simulate`, every
//! route called over HTTP with the key, and its figures compared with a recomputation from the
//! raw event log written here from ARCHITECTURE.md's metric definitions (not with the query
//! code). Also: bad input never gets a 5xx, the committed spec matches the code, and health
//! turns 503 when the projector stops.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use event_store::EventStore;
use events_schema::{Event, RecordedEvent};
use serde_json::Value;
use support::{Proc, SALESBOT, Served, env_of, simulate_and_catch_up, wait_caught_up};
use testkit::TestDatabase;

const QUERY_API: &str = env!("CARGO_BIN_EXE_query-api");
const KEY: &str = "test-admin-key";

struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(port: u16) -> Api {
        Api {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        }
    }

    async fn raw(&self, path: &str, key: Option<&str>) -> reqwest::Response {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        req.send().await.expect("request")
    }

    /// A 200 JSON answer.
    async fn get(&self, path: &str) -> Value {
        let resp = self.raw(path, Some(KEY)).await;
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

/// Everything in the log, in order.
async fn whole_log(store: &EventStore) -> Vec<RecordedEvent> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.read_all(after, 5_000).await.expect("read");
        let Some(last) = page.last().map(|e| e.global_position) else {
            return all;
        };
        after = last;
        all.extend(page);
    }
}

/// The figures of a period, from raw events.
#[derive(Debug, Default)]
struct Expected {
    active: BTreeSet<String>,
    /// User → furthest stage reached in the period.
    reached: BTreeMap<String, usize>,
    orders: i64,
    revenue: BTreeMap<String, i64>,
    views: BTreeMap<String, i64>,
    product_orders: BTreeMap<String, i64>,
    users_by_end: i64,
    new_users: i64,
}

fn expected(log: &[RecordedEvent], tz: Tz, from: NaiveDate, to: NaiveDate) -> Expected {
    let day = |at: DateTime<Utc>| at.with_timezone(&tz).date_naive();
    let mut e = Expected::default();
    let mut first_seen: BTreeMap<String, NaiveDate> = BTreeMap::new();
    let mut stages: BTreeMap<String, usize> = BTreeMap::new();
    for r in log {
        let Some(user) = r.stream_id.user_id().map(|u| u.to_string()) else {
            continue;
        };
        let d = day(r.occurred_at);
        first_seen
            .entry(user.clone())
            .and_modify(|f| *f = (*f).min(d))
            .or_insert(d);
        if d < from || d > to {
            continue;
        }
        let stage = match &r.event {
            Event::MessageReceived(_) => {
                e.active.insert(user.clone());
                0
            }
            Event::ProductViewed(p) => {
                *e.views.entry(p.product_id.clone()).or_default() += 1;
                1
            }
            Event::PriceInquired(_) | Event::SpecsRequested(_) => 2,
            Event::PurchaseIntended(_) => 3,
            Event::OrderPlaced(o) => {
                e.orders += 1;
                *e.revenue
                    .entry(o.total.currency.as_str().to_owned())
                    .or_default() += o.total.amount_minor;
                let products: BTreeSet<&str> =
                    o.lines.iter().map(|l| l.product_id.as_str()).collect();
                for p in products {
                    *e.product_orders.entry(p.to_owned()).or_default() += 1;
                }
                4
            }
            _ => continue,
        };
        let s = stages.entry(user).or_default();
        *s = (*s).max(stage);
    }
    e.reached = stages
        .into_iter()
        .filter(|(u, _)| e.active.contains(u))
        .collect();
    e.users_by_end = first_seen.values().filter(|d| **d <= to).count() as i64;
    e.new_users = first_seen
        .values()
        .filter(|d| **d >= from && **d <= to)
        .count() as i64;
    e
}

fn at_stage(e: &Expected, stage: usize) -> i64 {
    e.reached.values().filter(|s| **s >= stage).count() as i64
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

fn day(v: &Value) -> NaiveDate {
    v.as_str().expect("date").parse().expect("ISO date")
}

/// Checks one period's figures on every analytics route against the raw log.
async fn check_period(api: &Api, log: &[RecordedEvent], tz: Tz, query: &str) {
    let dash = api.get(&format!("/admin/dashboard?{query}")).await;
    let (from, to) = (day(&dash["period"]["from"]), day(&dash["period"]["to"]));
    let e = expected(log, tz, from, to);
    let kpis = &dash["kpis"];
    assert_eq!(
        kpis["active_users"]["value"],
        e.active.len() as i64,
        "{query}"
    );
    assert_eq!(kpis["users"]["value"], e.users_by_end, "{query}");
    assert_eq!(kpis["new_users"]["value"], e.new_users, "{query}");
    assert_eq!(kpis["orders"]["value"], e.orders, "{query}");
    let revenue: BTreeMap<String, i64> = kpis["revenue"]
        .as_array()
        .expect("revenue")
        .iter()
        .filter(|k| k["value_minor"].as_i64() != Some(0))
        .map(|k| {
            (
                k["currency"].as_str().expect("c").to_owned(),
                k["value_minor"].as_i64().expect("v"),
            )
        })
        .collect();
    assert_eq!(revenue, e.revenue, "{query}");
    let rate = at_stage(&e, 4) as f64 / (e.active.len().max(1)) as f64;
    let got = kpis["conversion_rate"]["value"].as_f64().expect("rate");
    assert!(
        (got - rate).abs() < 1e-4,
        "{query}: conversion {got} vs {rate}"
    );

    let funnel = api.get(&format!("/admin/analytics/funnel?{query}")).await;
    let stages = funnel["stages"].as_array().expect("stages");
    assert_eq!(stages.len(), 5);
    for (i, stage) in stages.iter().enumerate() {
        assert_eq!(stage["users"], at_stage(&e, i), "{query}: stage {i}");
    }
    assert_eq!(&dash["funnel"], &funnel["stages"], "{query}");
    // The funnel never widens.
    for pair in stages.windows(2) {
        assert!(pair[1]["users"].as_i64() <= pair[0]["users"].as_i64());
    }

    let conversion = api
        .get(&format!("/admin/analytics/conversion?{query}"))
        .await;
    assert_eq!(conversion["current"]["active_users"], e.active.len() as i64);
    assert_eq!(conversion["current"]["ordered_users"], at_stage(&e, 4));
    assert_eq!(money(&conversion["current"]["revenue"]), e.revenue);

    let products = api
        .get(&format!("/admin/analytics/products?{query}&page_size=500"))
        .await;
    let views: BTreeMap<String, i64> = products["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["views"].as_i64() != Some(0))
        .map(|p| {
            (
                p["product_id"].as_str().expect("id").to_owned(),
                p["views"].as_i64().expect("views"),
            )
        })
        .collect();
    assert_eq!(views, e.views, "{query}");
    let orders: BTreeMap<String, i64> = products["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["orders"].as_i64() != Some(0))
        .map(|p| {
            (
                p["product_id"].as_str().expect("id").to_owned(),
                p["orders"].as_i64().expect("orders"),
            )
        })
        .collect();
    assert_eq!(orders, e.product_orders, "{query}");
}

testkit::both_backends!(admin_routes_answer_with_the_figures_of_the_raw_log);
async fn admin_routes_answer_with_the_figures_of_the_raw_log(db: TestDatabase) {
    let tz: Tz = "Europe/Berlin".parse().expect("tz");
    let Served {
        dir: _dir,
        env: _env,
        server,
        store,
    } = Served::simulated(
        &db,
        &[("REPORT_TIMEZONE", tz.name())],
        &["--users", "300", "--days", "30", "--seed", "5"],
    )
    .await;
    let log = whole_log(&store).await;
    let api = Api::new(server.port);

    for query in ["days=30", "days=7", "days=90", "from=2026-01-01"] {
        check_period(&api, &log, tz, query).await;
    }
    let today = Utc::now().with_timezone(&tz).date_naive();
    let custom = format!(
        "from={}&to={}",
        today - chrono::Duration::days(20),
        today - chrono::Duration::days(10)
    );
    check_period(&api, &log, tz, &custom).await;

    // Users: total, stable paging, sorting, search.
    let users: BTreeSet<String> = log
        .iter()
        .filter_map(|r| r.stream_id.user_id().map(|u| u.to_string()))
        .collect();
    let all = api
        .get("/admin/users?page_size=500&sort=user_id&order=asc")
        .await;
    assert_eq!(all["total"], users.len() as i64);
    let listed: Vec<String> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["user_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed, users.iter().cloned().collect::<Vec<_>>());
    let page = |n: i64| format!("/admin/users?sort=messages&page_size=7&page={n}");
    let (p1, p2, both) = (
        api.get(&page(1)).await,
        api.get(&page(2)).await,
        api.get("/admin/users?sort=messages&page_size=14").await,
    );
    let ids = |v: &Value| -> Vec<Value> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|u| u["user_id"].clone())
            .collect()
    };
    let mut joined = ids(&p1);
    joined.extend(ids(&p2));
    assert_eq!(joined, ids(&both), "pages are stable and adjacent");
    let counts: Vec<i64> = both["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["messages"].as_i64().expect("messages"))
        .collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let someone = listed[listed.len() / 2].clone();
    let needle = someone.rsplit('-').next().expect("suffix");
    let found = api
        .get(&format!("/admin/users?search=-{needle}&page_size=500"))
        .await;
    assert!(
        ids(&found).contains(&Value::String(someone.clone())),
        "search -{needle}"
    );

    // One user: counters and timeline from the log.
    let theirs: Vec<&RecordedEvent> = log
        .iter()
        .filter(|r| r.stream_id.user_id().map(|u| u.to_string()).as_ref() == Some(&someone))
        .collect();
    let said = theirs
        .iter()
        .filter(|r| matches!(r.event, Event::MessageReceived(_) | Event::BotReplied(_)))
        .count() as i64;
    let profile = api
        .get(&format!("/admin/users/{}", someone.replace(':', "%3A")))
        .await;
    assert_eq!(profile["user"]["user_id"], someone.as_str());
    assert_eq!(profile["conversation"]["total"], said);
    let received = theirs
        .iter()
        .filter(|r| matches!(r.event, Event::MessageReceived(_)))
        .count() as i64;
    assert_eq!(profile["user"]["messages"], received);
    let positions: Vec<i64> = profile["conversation"]["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["position"].as_i64().expect("position"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] > w[1]), "newest first");
    let score = profile["engagement"]["score"].as_i64().expect("score");
    assert!((0..=100).contains(&score));
    assert_eq!(profile["user"]["engagement_score"], score);

    // The log, paged and exported.
    let head = store.head_position().await.expect("head");
    let first = api.get("/admin/analytics/events?limit=50").await;
    let got: Vec<i64> = first["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["global_position"].as_i64().expect("position"))
        .collect();
    assert_eq!(got, (1..=50).collect::<Vec<_>>());
    assert_eq!(first["next_after"], 50);
    assert_eq!(first["head"], head);
    let next = api.get("/admin/analytics/events?after=50&limit=1").await;
    assert_eq!(next["events"][0]["global_position"], 51);
    let export = api.raw("/admin/events/export", Some(KEY)).await;
    assert_eq!(export.status(), 200);
    assert!(
        export
            .headers()
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap_or("").starts_with("application/x-ndjson"))
    );
    let text = export.text().await.expect("export");
    let lines: Vec<i64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("a JSON event per line")["global_position"]
                .as_i64()
                .expect("position")
        })
        .collect();
    assert_eq!(lines, (1..=head).collect::<Vec<_>>());

    // Health is open and green; the rest needs the key.
    let health = api.raw("/admin/health", None).await;
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.expect("health");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"]["ok"], true);
    assert!(!health["projections"].as_array().expect("list").is_empty());
    assert_eq!(api.raw("/admin/dashboard", None).await.status(), 401);
    store.close().await;
}

/// Each bad input: a 4xx with a JSON message, never a 5xx.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_4xx_with_a_json_message() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    let long = "a".repeat(20_000);
    let cases: Vec<(String, Option<&str>, u16, &str)> = vec![
        ("/admin/dashboard?days=5".into(), Some(KEY), 400, "days"),
        ("/admin/dashboard?days=seven".into(), Some(KEY), 400, "days"),
        (
            "/admin/dashboard?days=7&from=2026-01-01".into(),
            Some(KEY),
            400,
            "not both",
        ),
        (
            "/admin/analytics/funnel?from=2026-02-01&to=2026-01-01".into(),
            Some(KEY),
            400,
            "after",
        ),
        (
            "/admin/analytics/funnel?from=last-tuesday".into(),
            Some(KEY),
            400,
            "ISO 8601",
        ),
        (
            "/admin/analytics/funnel?window_days=0".into(),
            Some(KEY),
            400,
            "window_days",
        ),
        (
            "/admin/users?page_size=0".into(),
            Some(KEY),
            400,
            "page_size",
        ),
        (
            "/admin/users?page_size=100000".into(),
            Some(KEY),
            400,
            "page_size",
        ),
        ("/admin/users?page=0".into(), Some(KEY), 400, "page"),
        ("/admin/users?sort=password".into(), Some(KEY), 400, "sort"),
        (
            "/admin/users?order=sideways".into(),
            Some(KEY),
            400,
            "order",
        ),
        (
            "/admin/analytics/products?sort=nope".into(),
            Some(KEY),
            400,
            "sort",
        ),
        (
            "/admin/analytics/events?limit=0".into(),
            Some(KEY),
            400,
            "limit",
        ),
        (
            "/admin/analytics/events?after=-1".into(),
            Some(KEY),
            400,
            "after",
        ),
        (
            "/admin/dashboard?days=%FF%FE".into(),
            Some(KEY),
            400,
            "UTF-8",
        ),
        ("/admin/users?search=%C3%28".into(), Some(KEY), 400, "UTF-8"),
        ("/admin/users/web%3A%FFx".into(), Some(KEY), 400, ""),
        (
            format!("/admin/users?search={long}"),
            Some(KEY),
            414,
            "query string",
        ),
        (
            format!("/admin/users?search={}", "b".repeat(300)),
            Some(KEY),
            400,
            "search",
        ),
        (
            "/admin/users/web%3Anobody".into(),
            Some(KEY),
            404,
            "no user",
        ),
        ("/admin/users/nobody".into(), Some(KEY), 404, "no user"),
        (
            "/admin/dashboard".into(),
            Some("wrong-key"),
            401,
            "X-API-Key",
        ),
        ("/admin/dashboard".into(), None, 401, "X-API-Key"),
        (
            "/admin/events/export".into(),
            Some("test-admin-kez"),
            401,
            "X-API-Key",
        ),
        ("/admin/no-such-route".into(), Some(KEY), 404, "route"),
    ];
    for (path, key, status, says) in cases {
        let resp = api.raw(&path, key).await;
        let got = resp.status().as_u16();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = resp.text().await.expect("body");
        let shown = &path[..path.len().min(80)];
        assert_eq!(got, status, "{shown}: {body}");
        assert!(ctype.starts_with("application/json"), "{shown}: {ctype}");
        let json: Value = serde_json::from_str(&body).expect("JSON body");
        let message = json["message"].as_str().expect("a message");
        assert!(
            !message.is_empty() && message.contains(says),
            "{shown}: {message}"
        );
    }
}

/// `query-api/openapi.json` is what the code serves; `UPDATE_SPEC=1` rewrites it.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_committed_spec_is_what_the_server_serves() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let served: Value = server
        .get("/openapi.json")
        .await
        .json()
        .await
        .expect("spec");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("query-api/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).expect("json") + "\n";
    if std::env::var_os("UPDATE_SPEC").is_some() {
        std::fs::write(&path, &pretty).expect("write the spec");
    }
    let committed = std::fs::read_to_string(&path).expect("query-api/openapi.json");
    assert!(
        committed == pretty,
        "query-api/openapi.json differs from the served spec; \
         run `UPDATE_SPEC=1 cargo test --test query_api the_committed_spec` and commit it"
    );
    // Every operation has a stable id and a tag, and says it needs the key (but health, and
    // the chat route, which has its own ways in).
    let mut ids = Vec::new();
    for (route, item) in served["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            let id = op["operationId"].as_str().expect("operationId");
            ids.push(id.to_owned());
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{route}"
            );
            let security = op.get("security").map(Value::to_string).unwrap_or_default();
            if route == "/api/messages" {
                for way in ["ChatKey", "\"Session\"", "SessionCookie", "{}"] {
                    assert!(security.contains(way), "{method} {route}: {security}");
                }
                continue;
            }
            let secured = security.contains("AdminKey");
            assert_eq!(secured, route != "/admin/health", "{method} {route}");
            // What a route can answer is documented: the key's 401 on every keyed route (the
            // live feed's too), and every query parameter may be given empty.
            if secured {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{method} {route}: 401"
                );
            }
            for param in op["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "query" {
                    assert_eq!(param["allowEmptyValue"], true, "{method} {route}: {param}");
                }
            }
        }
    }
    ids.sort();
    let mut expected: Vec<String> = query_api::api::OPERATION_IDS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["postMessage".to_owned()])
        .collect();
    expected.sort();
    assert_eq!(ids, expected);
    let scheme = &served["components"]["securitySchemes"]["AdminKey"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["name"], "X-API-Key");
    assert_eq!(scheme["in"], "header");
    let docs = server.get("/docs").await;
    assert_eq!(docs.status(), 200);
    let docs = docs.text().await.expect("docs page");
    assert!(
        docs.contains("allowEmptyValue"),
        "the docs page shows the spec served"
    );
}

/// The query API as its own process beside the others: it answers from the shared database,
/// and its health turns 503, naming the stalled partitions, once the projector is gone.
#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn query_api_process_reports_a_stopped_projector() {
    let db = TestDatabase::for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[]);
    let mut all_in_one = Proc::start(SALESBOT, dir.path(), &env);
    all_in_one.wait_ready().await;
    let query = Proc::start(QUERY_API, dir.path(), &env);
    query.wait_ready().await;
    let store = simulate_and_catch_up(
        dir.path(),
        &env,
        &db,
        &["--users", "30", "--days", "3", "--seed", "8"],
    )
    .await;
    let api = Api::new(query.port);
    let dash = api.get("/admin/dashboard?days=7").await;
    assert_eq!(dash["kpis"]["users"]["value"], 30);
    assert_eq!(api.raw("/admin/health", None).await.status(), 200);
    // The chat page is not the query API's.
    assert_eq!(query.get("/chat").await.status(), 404);
    all_in_one.kill();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let resp = api.raw("/admin/health", None).await;
        if resp.status() == 503 {
            let health: Value = resp.json().await.expect("json");
            assert_eq!(health["status"], "degraded");
            assert!(
                health["projections"]
                    .as_array()
                    .expect("list")
                    .iter()
                    .all(|p| p["stalled"] == true)
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health stayed 200 with no projector"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    store.close().await;
}

// Erasure from the API and the CLI: the user leaves the user tables and their texts read as
// null with the `erased` flag, while the aggregates keep counting them.
testkit::both_backends!(erasing_a_user_shreds_them_and_keeps_the_aggregates);
async fn erasing_a_user_shreds_them_and_keeps_the_aggregates(db: TestDatabase) {
    let Served {
        dir,
        env,
        server,
        store,
    } = Served::simulated(&db, &[], &["--users", "40", "--days", "5", "--seed", "13"]).await;
    let api = Api::new(server.port);
    let before = api.get("/admin/dashboard?days=7").await;
    let users = api.get("/admin/users?sort=messages&page_size=2").await;
    let a = users["items"][0]["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let b = users["items"][1]["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = |u: &str| format!("{}/admin/users/{}", api.base, u.replace(':', "%3A"));
    let delete = |u: String, key: Option<&'static str>| {
        let mut req = api.http.delete(path(&u));
        if let Some(key) = key {
            req = req.header("X-API-Key", key);
        }
        async move { req.send().await.expect("delete") }
    };

    assert_eq!(delete(a.clone(), None).await.status(), 401);
    assert_eq!(delete("web:nobody".into(), Some(KEY)).await.status(), 404);
    assert_eq!(delete("nobody".into(), Some(KEY)).await.status(), 400);
    let first = delete(a.clone(), Some(KEY)).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["user_id"], a.as_str());
    assert_eq!(first["key_destroyed"], true);
    let again: Value = delete(a.clone(), Some(KEY))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["key_destroyed"], false, "erasing twice is harmless");

    let cli = support::command(SALESBOT, dir.path(), &env)
        .args(["erase-user", &b])
        .output()
        .expect("erase-user");
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let unknown = support::command(SALESBOT, dir.path(), &env)
        .args(["erase-user", "web:nobody"])
        .output()
        .expect("erase-user");
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&unknown.stderr).lines().count(), 1);

    wait_caught_up(&store, false, Duration::from_secs(60)).await;
    for user in [&a, &b] {
        let resp = api
            .raw(
                &format!("/admin/users/{}", user.replace(':', "%3A")),
                Some(KEY),
            )
            .await;
        assert_eq!(resp.status(), 404, "{user} is gone from the user tables");
    }
    let after = api.get("/admin/dashboard?days=7").await;
    assert_eq!(
        after["kpis"]["users"]["value"].as_i64(),
        before["kpis"]["users"]["value"].as_i64().map(|n| n - 2)
    );
    for kpi in ["active_users", "orders", "revenue", "conversion_rate"] {
        assert_eq!(after["kpis"][kpi], before["kpis"][kpi], "{kpi} stays");
    }
    assert_eq!(after["funnel"], before["funnel"]);
    // Their texts in the log now read as null, flagged erased.
    let log = whole_log(&store).await;
    let theirs: Vec<&RecordedEvent> = log
        .iter()
        .filter(|r| r.stream_id.user_id().map(|u| u.to_string()) == Some(a.clone()))
        .collect();
    let messages: Vec<&&RecordedEvent> = theirs
        .iter()
        .filter(|r| matches!(r.event, Event::MessageReceived(_)))
        .collect();
    assert!(!messages.is_empty());
    for r in messages {
        assert!(r.erased, "position {}", r.global_position);
        assert!(matches!(&r.event, Event::MessageReceived(m) if m.text.is_none()));
    }
    store.close().await;
}

/// `GET /admin/live` pushes progress at once, then the new events and the read models catching
/// up after a message.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_follow_new_messages() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    assert_eq!(api.raw("/admin/live", None).await.status(), 401);
    let mut live = api.raw("/admin/live", Some(KEY)).await;
    assert_eq!(live.status(), 200);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    // SSE frames as (event, data).
    let mut buffer = String::new();
    let mut frames: Vec<(String, Value)> = Vec::new();
    async fn more(
        live: &mut reqwest::Response,
        buffer: &mut String,
        frames: &mut Vec<(String, Value)>,
    ) {
        let chunk = tokio::time::timeout(Duration::from_secs(10), live.chunk())
            .await
            .expect("an update within 10 s")
            .expect("stream")
            .expect("not closed");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let mut event = String::from("message");
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !data.is_empty() {
                frames.push((event, serde_json::from_str(&data).expect("JSON data")));
            }
        }
    }
    while frames.is_empty() {
        more(&mut live, &mut buffer, &mut frames).await;
    }
    assert_eq!(frames[0].0, "progress");
    assert_eq!(frames[0].1["head"], 0);
    let reply = api
        .http
        .post(format!("{}/api/messages", api.base))
        .header("X-Chat-Key", support::CHAT_KEY)
        .json(&serde_json::json!({"user_id": "live-ana", "text": "hi, show me laptops"}))
        .send()
        .await
        .expect("message");
    assert_eq!(reply.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let (mut saw_event, mut caught_up) = (false, false);
    while !(saw_event && caught_up) {
        assert!(tokio::time::Instant::now() < deadline, "{frames:?}");
        more(&mut live, &mut buffer, &mut frames).await;
        for (event, data) in &frames {
            match event.as_str() {
                "events" => {
                    saw_event |= data.as_array().expect("list").iter().any(|e| {
                        e["user_id"] == "web:live-ana" && e["event_type"] == "MessageReceived"
                    });
                }
                "progress" => {
                    caught_up |= data["head"].as_i64() > Some(0) && data["applied"] == data["head"];
                }
                other => panic!("unexpected SSE event {other}"),
            }
        }
    }
}

/// Every `null` in a JSON document, by path.
fn nulls(value: &Value, path: &str, found: &mut Vec<String>) {
    match value {
        Value::Null => found.push(path.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                nulls(item, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(fields) => {
            for (name, field) in fields {
                nulls(field, &format!("{path}.{name}"), found);
            }
        }
        _ => {}
    }
}

/// The spec declares no field nullable: a figure that has no value (a change against a period
/// without sales, the drop-off of the first stage, NATS in embedded mode, a user without a
/// display name) is left out, never sent as `null`.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_leave_out_what_has_no_value_instead_of_sending_null() {
    let db = TestDatabase::sqlite_for_test();
    let Served {
        dir: _dir,
        env: _env,
        server,
        store,
    } = Served::simulated(&db, &[], &["--users", "40", "--days", "10", "--seed", "21"]).await;
    let api = Api::new(server.port);
    let users = api.get("/admin/users?sort=messages&page_size=3").await;
    let someone = users["items"][0]["user_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let health = api.raw("/admin/health", None).await;
    assert_eq!(health.status(), 200);
    let mut answers: Vec<(String, Value)> =
        vec![("/admin/health".into(), health.json().await.expect("json"))];
    for path in [
        "/admin/dashboard?days=7".to_owned(),
        "/admin/analytics/funnel".to_owned(),
        "/admin/analytics/funnel?days=90&window_days=2".to_owned(),
        "/admin/analytics/conversion?days=7".to_owned(),
        "/admin/analytics/products?page_size=500".to_owned(),
        "/admin/users?page_size=500".to_owned(),
        format!("/admin/users/{}", someone.replace(':', "%3A")),
    ] {
        let answer = api.get(&path).await;
        answers.push((path, answer));
    }
    // The cases that used to be null are there to be left out.
    let funnel = &answers[2].1;
    assert!(funnel.get("window_days").is_none(), "{funnel}");
    assert!(
        funnel["stages"][0].get("drop_off_pct").is_none(),
        "{funnel}"
    );
    assert!(funnel["stages"][0].get("open").is_none(), "{funnel}");
    assert!(
        answers[0].1.get("nats").is_none(),
        "embedded mode has no NATS"
    );
    assert_eq!(answers[3].1["window_days"], 2);
    for (path, answer) in &answers {
        let mut found = Vec::new();
        nulls(answer, "", &mut found);
        assert!(found.is_empty(), "GET {path}: null at {found:?}");
    }
    store.close().await;
}

/// `days=` and the other parameters given empty are the same as left out (the spec says so
/// with `allowEmptyValue`), so a form that sends every field still gets figures.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_query_values_are_the_same_as_absent_ones() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    for route in [
        "/admin/dashboard",
        "/admin/analytics/conversion",
        "/admin/analytics/funnel",
        "/admin/analytics/products",
    ] {
        let answer = api.get(&format!("{route}?days=&from=&to=")).await;
        assert_eq!(answer["period"]["days"], 30, "{route}");
    }
    let funnel = api.get("/admin/analytics/funnel?days=&window_days=").await;
    assert!(funnel.get("window_days").is_none(), "{funnel}");
    let users = api
        .get("/admin/users?search=&sort=&order=&page=&page_size=")
        .await;
    assert_eq!(
        (
            &users["sort"],
            &users["order"],
            &users["page"],
            &users["page_size"]
        ),
        (
            &Value::from("last_seen"),
            &Value::from("desc"),
            &Value::from(1),
            &Value::from(50)
        )
    );
    let products = api
        .get("/admin/analytics/products?sort=&order=&search=&page=&page_size=")
        .await;
    assert_eq!(products["sort"], "views");
    let events = api.get("/admin/analytics/events?after=&limit=").await;
    assert_eq!(
        (&events["after"], &events["limit"]),
        (&Value::from(0), &Value::from(100))
    );
    assert_eq!(
        api.raw("/admin/events/export?after=", Some(KEY))
            .await
            .status(),
        200
    );
    // Empty is absent, not a value: `days=` beside `from` is no conflict.
    let from = api
        .get("/admin/dashboard?days=&from=2026-01-01&to=2026-01-07")
        .await;
    assert_eq!(from["period"]["days"], 7);
}

/// A method a route does not declare (TRACE, PUT, ...) gets 405 with the JSON error body and
/// an `Allow` header listing the ones it does, before the key is looked at.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_methods_get_405_with_the_allowed_ones() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    let routes = [
        ("/admin/health", "GET"),
        ("/admin/dashboard?days=7", "GET"),
        ("/admin/analytics/conversion", "GET"),
        ("/admin/analytics/funnel", "GET"),
        ("/admin/analytics/products", "GET"),
        ("/admin/users", "GET"),
        ("/admin/users/web%3Aana", "DELETE, GET"),
        ("/admin/analytics/events", "GET"),
        ("/admin/events/export", "GET"),
        ("/admin/live", "GET"),
    ];
    for (path, allowed) in routes {
        let undeclared = ["TRACE", "PUT", "PATCH", "POST", "OPTIONS", "DELETE"]
            .into_iter()
            .filter(|m| !allowed.contains(m));
        for method in undeclared {
            for key in [Some(KEY), None] {
                let mut req = api.http.request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    format!("{}{path}", api.base),
                );
                if let Some(key) = key {
                    req = req.header("X-API-Key", key);
                }
                let resp = req.send().await.expect("request");
                let shown = format!("{method} {path} (key: {})", key.is_some());
                assert_eq!(resp.status(), 405, "{shown}");
                let allow = resp
                    .headers()
                    .get("allow")
                    .and_then(|a| a.to_str().ok())
                    .map(str::to_owned);
                assert_eq!(allow.as_deref(), Some(allowed), "{shown}");
                let body: Value = resp.json().await.expect("a JSON body");
                assert!(
                    body["message"].as_str().is_some_and(|m| m.contains(method)),
                    "{shown}: {body}"
                );
            }
        }
    }
}

/// What went wrong inside (a database error naming a table) goes to the log, never into a
/// public body: not into open health, not into an admin error. A table gone is a bug, not a
/// fault to wait out: the admin API answers 500 with a generic body, not 503 "retry".
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_bodies_carry_no_internal_detail() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    assert_eq!(api.raw("/admin/health", None).await.status(), 200);
    db.execute("ALTER TABLE projection_checkpoints RENAME TO projection_checkpoints_gone")
        .await;
    let leaks = |body: &str| {
        [
            "projection_checkpoints",
            "no such table",
            "error returned",
            "sqlite",
            "database:",
        ]
        .into_iter()
        .filter(|word| body.to_lowercase().contains(word))
        .collect::<Vec<_>>()
    };
    let health = api.raw("/admin/health", None).await;
    assert_eq!(health.status(), 503);
    let body = health.text().await.expect("body");
    assert_eq!(leaks(&body), Vec::<&str>::new(), "{body}");
    let health: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(health["database"]["ok"], false);
    assert_eq!(health["database"]["message"], "unreachable");
    let process_health = server.get("/health").await;
    assert_eq!(process_health.status(), 503);
    let body = process_health.text().await.expect("body");
    assert_eq!(leaks(&body), Vec::<&str>::new(), "/health: {body}");
    for path in ["/admin/dashboard?days=7", "/admin/analytics/funnel"] {
        let resp = api.raw(path, Some(KEY)).await;
        assert_eq!(resp.status(), 500, "{path}");
        let body = resp.text().await.expect("body");
        assert_eq!(leaks(&body), Vec::<&str>::new(), "{path}: {body}");
        let json: Value = serde_json::from_str(&body).expect("json");
        assert_eq!(
            json["message"], "internal error; the server log has the details",
            "{body}"
        );
    }
}

/// A database that cannot answer for now (it refuses connections, its sessions were
/// terminated) is the one fault the admin API answers 503 "retry later"; once it is back, the
/// same request answers.
#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_answer_now_is_a_503_to_retry() {
    let db = TestDatabase::for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    let path = "/admin/analytics/funnel";
    assert_eq!(api.raw(path, Some(KEY)).await.status(), 200);
    let url = db.config.database_url.expose().to_owned();
    let name = url.rsplit('/').next().expect("a database name").to_owned();
    let admin = url.replace(&format!("/{name}"), "/postgres");
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                .await
                .expect("admin connection");
            sqlx::raw_sql(&sql).execute(&mut c).await.expect(&sql);
        }
    };
    run(format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{name}' AND pid <> pg_backend_pid();"
    ))
    .await;
    let resp = api.raw(path, Some(KEY)).await;
    assert_eq!(resp.status(), 503);
    let json: Value = resp.json().await.expect("json");
    assert_eq!(
        json["message"],
        "the database cannot answer now; retry later"
    );
    run(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true;")).await;
    let mut status = 0;
    for _ in 0..100 {
        status = api.raw(path, Some(KEY)).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "answers again once the database is back");
}

/// Dates at the ends of what chrono takes, periods running past year 9999 or, with the one
/// before them, before year 1: a 400 with a message or figures, never a dropped connection.
#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_dates_get_an_answer_never_a_dropped_connection() {
    let db = TestDatabase::sqlite_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Proc::start(SALESBOT, dir.path(), &env_of(&db, &[]));
    server.wait_ready().await;
    let api = Api::new(server.port);
    let refused = [
        "from=-262144-01-01&to=-262144-01-01",
        "from=-262143-01-01&to=-262143-01-01",
        "from=%2B262143-12-31&to=%2B262143-12-31",
        "from=-0001-12-31&to=0001-01-01",
        "from=10000-01-01",
        "from=0000-01-01&to=0000-01-31",
        "from=0001-01-01&to=0001-01-31",
        "from=9999-12-31T23:59:59-14:00&to=9999-12-31T23:59:59-14:00",
        "from=2026-02-30",
        "from=9999-12-31&to=0001-01-01",
        "from=0001-01-01&to=9999-12-31",
        "from=2026-01-01T00:00:00",
        "from=%202026-01-01",
    ];
    let answered = [
        ("from=0001-02-01&to=0001-02-28", 28, "0001-01-04"),
        ("from=9999-12-01&to=9999-12-31", 31, "9999-10-31"),
        (
            "from=9999-12-31T00:00:00%2B14:00&to=9999-12-31",
            2,
            "9999-12-28",
        ),
    ];
    for route in [
        "/admin/dashboard",
        "/admin/analytics/conversion",
        "/admin/analytics/funnel",
        "/admin/analytics/products",
    ] {
        for query in refused {
            let resp = api.raw(&format!("{route}?{query}"), Some(KEY)).await;
            let status = resp.status();
            let body: Value = resp.json().await.expect("JSON body");
            assert_eq!(status, 400, "{route}?{query}: {body}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        for (query, days, previous_from) in answered {
            let answer = api.get(&format!("{route}?{query}")).await;
            assert_eq!(answer["period"]["days"], days, "{route}?{query}");
            if let Some(previous) = answer.get("previous_period") {
                assert_eq!(previous["from"], previous_from, "{route}?{query}");
            }
        }
    }
}

/// `DELETE /admin/users/{id}` answers once the key is destroyed; the user's profile is gone
/// from that moment, not only once a projector has dropped their rows (here there is none).
#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_user_is_gone_at_once_even_before_the_projector_moves() {
    let db = TestDatabase::for_test().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = env_of(&db, &[]);
    let mut all_in_one = Proc::start(SALESBOT, dir.path(), &env);
    all_in_one.wait_ready().await;
    let store = simulate_and_catch_up(
        dir.path(),
        &env,
        &db,
        &["--users", "5", "--days", "2", "--seed", "3"],
    )
    .await;
    all_in_one.kill();
    let query = Proc::start(QUERY_API, dir.path(), &env);
    query.wait_ready().await;
    let api = Api::new(query.port);
    let users = api.get("/admin/users?page_size=1").await;
    let user = users["items"][0]["user_id"]
        .as_str()
        .expect("id")
        .replace(':', "%3A");
    let erased = api
        .http
        .delete(format!("{}/admin/users/{user}", api.base))
        .header("X-API-Key", KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(erased.status(), 200);
    let resp = api.raw(&format!("/admin/users/{user}"), Some(KEY)).await;
    assert_eq!(
        resp.status(),
        404,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    store.close().await;
}

testkit::main!();

/// The log's events up to `position`.
fn through(log: &[RecordedEvent], position: i64) -> Vec<RecordedEvent> {
    log.iter()
        .filter(|e| e.global_position <= position)
        .cloned()
        .collect()
}

/// A 400 whose JSON message says `says`.
async fn refused(api: &Api, path: &str, says: &str) {
    let resp = api.raw(path, Some(KEY)).await;
    assert_eq!(resp.status(), 400, "GET {path}");
    let body: Value = resp.json().await.expect("a JSON error");
    let message = body["message"].as_str().expect("a message");
    assert!(message.contains(says), "GET {path}: {message}");
}

testkit::both_backends!(as_of_answers_as_the_log_stood_at_that_point);
async fn as_of_answers_as_the_log_stood_at_that_point(db: TestDatabase) {
    let tz: Tz = "Europe/Berlin".parse().expect("tz");
    let Served {
        dir: _dir,
        env: _env,
        server,
        store,
    } = Served::simulated(
        &db,
        &[("REPORT_TIMEZONE", tz.name())],
        &["--users", "120", "--days", "30", "--seed", "7"],
    )
    .await;
    let log = whole_log(&store).await;
    let head = log.last().expect("a simulated log").global_position;
    let api = Api::new(server.port);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let recorded = |position: i64| {
        log.iter()
            .find(|e| e.global_position == position)
            .expect("an event there")
            .recorded_at
    };

    // Several positions: the figures of the log up to each, the period ending on its day.
    for position in [head / 5, head / 2, head - 1, head] {
        let query = format!("days=30&as_of={position}");
        check_period(&api, &through(&log, position), tz, &query).await;
        let dash = api.get(&format!("/admin/dashboard?{query}")).await;
        assert_eq!(dash["as_of"]["position"], position, "{query}");
        assert_eq!(dash["as_of"]["head"], head, "{query}");
        assert_eq!(
            day(&dash["period"]["to"]),
            recorded(position).with_timezone(&tz).date_naive()
        );
    }
    let custom = format!(
        "from={}&to={}&as_of={}",
        today - chrono::Duration::days(20),
        today - chrono::Duration::days(3),
        head / 3
    );
    check_period(&api, &through(&log, head / 3), tz, &custom).await;

    // Several instants: the last position recorded at or before each.
    let n = log.len();
    for at in [
        log[n / 4].recorded_at,
        log[n / 2].recorded_at + chrono::Duration::microseconds(1),
        log[3 * n / 4].recorded_at,
        Utc::now() + chrono::Duration::days(1),
    ] {
        let position = log
            .iter()
            .filter(|e| e.recorded_at <= at)
            .map(|e| e.global_position)
            .max()
            .expect("recorded before");
        // Every digit of the stamp (SQLite keeps nanoseconds), so the instant sent is `at`.
        let query = format!(
            "days=30&as_of={}",
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
        check_period(&api, &through(&log, position), tz, &query).await;
        let funnel = api.get(&format!("/admin/analytics/funnel?{query}")).await;
        assert_eq!(funnel["as_of"]["position"], position, "{query}");
    }

    // Before the first event: nothing yet, and `days` counts back from the as_of day.
    let early = log[0].recorded_at - chrono::Duration::days(40);
    let early_day = early.with_timezone(&tz).date_naive();
    let query = format!(
        "days=7&as_of={}",
        early.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let dash = api.get(&format!("/admin/dashboard?{query}")).await;
    assert_eq!(dash["as_of"]["position"], 0);
    assert_eq!(day(&dash["period"]["to"]), early_day);
    assert_eq!(
        day(&dash["period"]["from"]),
        early_day - chrono::Duration::days(6)
    );
    assert_eq!(dash["kpis"]["users"]["value"], 0);
    assert_eq!(dash["kpis"]["orders"]["value"], 0);
    let zero = api.get("/admin/analytics/conversion?as_of=0").await;
    assert_eq!(zero["current"]["active_users"], 0);
    assert_eq!(zero["as_of"]["position"], 0);
    // Without as_of: the live tables, and no as_of in the answer.
    let live = api.get("/admin/analytics/products?days=30").await;
    assert!(live.get("as_of").is_none(), "{live}");

    // Beyond the head, and values that are neither a position nor an instant.
    refused(
        &api,
        &format!("/admin/dashboard?as_of={}", head + 1),
        "beyond the head of the log",
    )
    .await;
    for wrong in [
        "-1",
        "1.5",
        "yesterday",
        "2026-11-01",
        "2026-13-01T00:00:00Z",
    ] {
        for route in [
            "/admin/dashboard",
            "/admin/analytics/funnel",
            "/admin/analytics/products",
            "/admin/analytics/conversion",
        ] {
            refused(&api, &format!("{route}?as_of={wrong}"), "`as_of` must be").await;
        }
    }

    // The past model itself, table by table, against the oracle stopped at the same point
    // (without the timeline and the names: a past model holds no personal text).
    for position in [head / 3, head] {
        let model = projector::as_of::replay(&store, tz, position)
            .await
            .expect("replay");
        let mut expected = support::oracle::expected_through(&store, tz, position).await;
        let mut actual = support::oracle::actual(model.store()).await;
        for tables in [&mut expected, &mut actual] {
            tables.remove("conversation_messages");
            for row in tables.get_mut("users").expect("users").values_mut() {
                row[1] = None;
                row[2] = None;
            }
        }
        support::oracle::assert_same(&expected, &actual);
        assert_eq!(model.events as usize, through(&log, position).len());
    }
    store.close().await;
}
