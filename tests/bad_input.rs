//! Hostile input against the real `salesbot serve` (embedded: bot, projector, admin API and
//! dashboard in one process), on Postgres and SQLite: path traversal on the static and admin
//! routes, sent byte for byte over a raw connection (an HTTP client would normalise the paths
//! away), and NUL and control characters in what shoppers write, all the way to the read
//! tables and the admin API. Never a 5xx, never a file's content, never a stalled projector.

mod support;

use std::time::Duration;

use event_store::EventStore;
use serde_json::{Value, json};
use support::{CHAT_KEY, Proc, SALESBOT, env_of, wait_caught_up};
use testkit::TestDatabase;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const ADMIN_KEY: &str = "test-admin-key";

/// Sends `request` as it is and returns (status, body); 0 when no status line came back.
async fn raw(port: u16, request: &[u8]) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    socket.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

async fn get_raw(port: u16, path: &[u8]) -> (u16, String) {
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(path);
    request.extend_from_slice(
        format!(
            " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    raw(port, &request).await
}

/// Text that shows a file was served: this repository's manifest, `/etc/passwd`, a source file.
fn leaks_a_file(body: &str) -> bool {
    [
        "[workspace]",
        "root:x:0:0",
        "[package]",
        "fn main()",
        "DATABASE_URL=",
    ]
    .iter()
    .any(|marker| body.contains(marker))
}

async fn serve(db: &TestDatabase, dir: &std::path::Path) -> Proc {
    // The server runs in a folder holding files worth stealing.
    std::fs::write(dir.join("Cargo.toml"), "[workspace]\nmembers = []\n").expect("write");
    std::fs::write(dir.join(".env"), "DATABASE_URL=postgres://secret\n").expect("write");
    let server = Proc::start(SALESBOT, dir, &env_of(db, &[]));
    server.wait_ready().await;
    server
}

testkit::both_backends!(path_traversal_on_the_static_and_admin_routes_serves_no_file_and_no_5xx);
async fn path_traversal_on_the_static_and_admin_routes_serves_no_file_and_no_5xx(db: TestDatabase) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&db, dir.path()).await;
    // The real routes answer, so the checks below can tell a refusal from a dead server.
    for path in [
        "/dashboard",
        "/dashboard/dashboard.js",
        "/dashboard/vendor/chart.umd.min.js",
    ] {
        let (status, body) = get_raw(server.port, path.as_bytes()).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty());
    }
    let (status, _) = get_raw(server.port, b"/static/dashboard.html").await;
    assert_eq!(status, 301);

    let prefixes = [
        "/dashboard/",
        "/dashboard/vendor/",
        "/static/",
        "/chat/",
        "/",
    ];
    let climbs = [
        "../Cargo.toml",
        "../../Cargo.toml",
        "..%2fCargo.toml",
        "..%2f..%2fCargo.toml",
        "%2e%2e/%2e%2e/Cargo.toml",
        "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "../../../../etc/passwd",
        "..%252f..%252fCargo.toml",
        "%252e%252e%252f.env",
        "..\\..\\Cargo.toml",
        "..%5c..%5cCargo.toml",
        "....//....//Cargo.toml",
        "..;/Cargo.toml",
        "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "..%00/Cargo.toml",
        "Cargo.toml%00.js",
        "dashboard.js%00../../Cargo.toml",
        ".env",
        "/etc/passwd",
        "//etc/passwd",
        "file:///etc/passwd",
    ];
    let mut paths: Vec<Vec<u8>> = Vec::new();
    for prefix in prefixes {
        for climb in climbs {
            paths.push(format!("{prefix}{climb}").into_bytes());
        }
    }
    // A raw NUL, a raw backslash and bytes that are not UTF-8 in the request line itself.
    paths.push(b"/dashboard/\0../../Cargo.toml".to_vec());
    paths.push(b"/dashboard\\..\\Cargo.toml".to_vec());
    paths.push(b"/dashboard/\xff\xfe/../../Cargo.toml".to_vec());
    paths.push(b"/dashboard/../../../../../../../../etc/passwd".to_vec());
    paths.push(b"*".to_vec());
    paths.push(b"http://127.0.0.1/../Cargo.toml".to_vec());
    for path in &paths {
        let shown = String::from_utf8_lossy(path);
        let (status, body) = get_raw(server.port, path).await;
        assert!((1..500).contains(&status), "{shown}: {status} {body:.200}");
        assert!(
            status != 200 || !leaks_a_file(&body),
            "{shown}: served a file: {body:.200}"
        );
        assert!(
            !(200..300).contains(&status) || shown.starts_with("/dashboard/dashboard.js"),
            "{shown}: {status} {body:.200}"
        );
    }

    // The admin routes take the id from the path: traversal, NUL and SQL in it find no user.
    let ids = [
        "..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "web%3A..%2f..%2f.env",
        "%00",
        "web%3A%00",
        "web%3Aana%00",
        "telegram%3A1%00",
        "%27%3B%20DROP%20TABLE%20events%3B--",
        "web%3A%27%20OR%20%271%27%3D%271",
        "%25",
        "web%3A%25",
        "%ff%fe",
        "..",
        ".",
    ];
    for id in ids {
        for method in ["GET", "DELETE"] {
            let request = format!(
                "{method} /admin/users/{id} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: {ADMIN_KEY}\r\n\
                 Connection: close\r\n\r\n"
            );
            let (status, body) = raw(server.port, request.as_bytes()).await;
            assert!(
                [400, 404].contains(&status),
                "{method} /admin/users/{id}: {status} {body:.200}"
            );
            let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            assert!(json["message"].is_string(), "{method} {id}: {body:.200}");
        }
    }
    for search in ["%00", "a%00b", "%27%3B--", "%25", "_", "%5C"] {
        for route in ["/admin/users", "/admin/analytics/products"] {
            let (status, body) =
                get_raw(server.port, format!("{route}?search={search}").as_bytes()).await;
            assert!(
                [200, 400].contains(&status),
                "{route}?search={search}: {status} {body:.200}"
            );
        }
    }
    // Still serving.
    let (status, _) = get_raw(server.port, b"/dashboard").await;
    assert_eq!(status, 200);
}

testkit::both_backends!(
    nul_and_control_characters_from_shoppers_reach_the_read_tables_without_stalling_them
);
async fn nul_and_control_characters_from_shoppers_reach_the_read_tables_without_stalling_them(
    db: TestDatabase,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&db, dir.path()).await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let say = |user: &str, text: &str, username: &str| {
        client
            .post(format!("{base}/api/messages"))
            .header("X-Chat-Key", CHAT_KEY)
            .json(&json!({"user_id": user, "text": text, "username": username}))
            .send()
    };
    // NUL, the other C0 controls and DEL, in names and messages.
    let controls: String = (1u8..0x20).chain([0x7f]).map(char::from).collect();
    let cases = [
        ("nul", "what\u{0} laptops do you have?", "A\u{0}na"),
        ("controls", controls.as_str(), controls.as_str()),
        (
            "sql",
            "'; DROP TABLE users; --",
            "Robert'); DROP TABLE users;--",
        ),
    ];
    for (user, text, username) in cases {
        let response = say(user, text, username).await.expect("answer");
        assert_eq!(response.status().as_u16(), 200, "{user}");
    }
    let store = EventStore::open(&db.config).await.expect("open store");
    wait_caught_up(&store, false, Duration::from_secs(60)).await;

    // The read tables cannot all hold NUL (Postgres text): it shows as U+FFFD, on both
    // backends alike; everything else is as the shopper wrote it. The log keeps the original.
    for (user, text, username) in cases {
        let shown = |s: &str| s.replace('\0', "\u{fffd}");
        let profile: Value = client
            .get(format!("{base}/admin/users/web%3A{user}"))
            .header("X-API-Key", ADMIN_KEY)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("JSON");
        assert_eq!(profile["user"]["username"], shown(username), "{profile}");
        assert_eq!(profile["user"]["display_name"], shown(username));
        let incoming: Vec<&Value> = profile["conversation"]["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter(|m| m["direction"] == "in")
            .collect();
        assert_eq!(incoming.len(), 1, "{profile}");
        assert_eq!(incoming[0]["text"], shown(text));
        // Found by a search for the name as shown.
        let listed: Value = client
            .get(format!("{base}/admin/users"))
            .query(&[("search", shown(username).trim())])
            .header("X-API-Key", ADMIN_KEY)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("JSON");
        assert!(
            listed["items"]
                .as_array()
                .is_some_and(|items| items.iter().any(|u| u["user_id"] == format!("web:{user}"))),
            "{user}: {listed}"
        );
    }
    let nul = events_schema::UserId::new(events_schema::Channel::Web, "nul").expect("id");
    let first = store
        .read_stream(&nul.stream_id(), 1)
        .await
        .expect("read")
        .into_iter()
        .find_map(|e| match e.event {
            events_schema::Event::MessageReceived(m) => m.text,
            _ => None,
        });
    assert_eq!(first.as_deref(), Some(cases[0].1), "the log keeps the NUL");
}

testkit::main!();
