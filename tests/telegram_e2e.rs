//! The whole binary on Telegram: `salesbot serve` in webhook mode against a fake Bot API, a
//! sales conversation through `POST /telegram/webhook` that ends in an order, a restart, and
//! memory that survives it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use command_service::telegram::outbox::CHECKPOINT;
use command_service::testing::fake_telegram::{FakeTelegram, TOKEN};
use event_store::{DatabaseUrl, EventStore, MasterKey, Migrations, StoreConfig};
use serde_json::json;

const SECRET: &str = "e2e-secret";
const ANA: i64 = 424242001;

/// The store of the server running in `dir` (embedded mode: the default database and the
/// master key it generated there), to read the outbox's checkpoint.
async fn embedded_store(dir: &std::path::Path) -> EventStore {
    let key = MasterKey::load_or_generate(&dir.join("data/master.key")).expect("master key");
    let url = format!("sqlite://{}", dir.join("data/salesbot.db").display());
    let config = StoreConfig::new(DatabaseUrl::parse(&url).expect("url"), key);
    EventStore::open_with(&config, Migrations::Require)
        .await
        .expect("open the server's store")
}

struct Server {
    child: Child,
    url: String,
    port: u16,
}

impl Server {
    /// Starts `salesbot serve` on `port`: 0 the first time (the port it binds is read back from
    /// its start-up line), then the same port again, where Telegram's webhook points.
    async fn start(dir: &std::path::Path, port: u16, api_url: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_salesbot"))
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", api_url)
            .env(
                "TELEGRAM_WEBHOOK_URL",
                "https://shop.example/telegram/webhook",
            )
            .env("TELEGRAM_WEBHOOK_SECRET", SECRET)
            .env("RUST_LOG", format!("warn,{}=info", support::RUNNING_TARGET))
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn salesbot");
        let stderr = child.stderr.take().expect("piped stderr");
        let bound = support::port_from_lines(stderr, support::bound_port, |line| {
            !support::is_running_info(line)
        });
        let port = match port {
            0 => match bound.recv_timeout(Duration::from_secs(20)) {
                Ok(p) => p,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("salesbot never said where it listens");
                }
            },
            known => known,
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !reqwest::get(format!("{url}/health"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "salesbot never became healthy");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, url, port }
    }

    async fn update(&self, update_id: i64, text: &str) -> u16 {
        let update = json!({
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": {"id": ANA, "is_bot": false, "first_name": "Ana", "username": "ana_shop"},
                "chat": {"id": ANA, "first_name": "Ana", "type": "private"},
                "date": 1764028800 + update_id,
                "text": text
            }
        });
        reqwest::Client::new()
            .post(format!("{}/telegram/webhook", self.url))
            .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
            .json(&update)
            .send()
            .await
            .expect("webhook")
            .status()
            .as_u16()
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "salesbot exits cleanly: {status:?}");
    }
}

impl Drop for Server {
    /// A failing test must not leave the server running (it would hold the test's output open).
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn text(call: &serde_json::Value) -> String {
    call["text"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_telegram_sales_conversation_ends_in_an_order_and_is_remembered_after_restart() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path(), 0, &fake.url).await;
    let port = server.port;
    let hooks = fake.calls("setWebhook");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["url"], "https://shop.example/telegram/webhook");
    assert_eq!(hooks[0]["secret_token"], SECRET);

    for (id, message) in [
        (1, "/start"),
        (2, "what phones do you have?"),
        (3, "tell me about the nova x1"),
        (4, "I'll take two"),
        (5, "yes"),
    ] {
        assert_eq!(server.update(id, message).await, 200, "{message}");
    }
    let sent = fake.wait_for("sendMessage", 5).await;
    assert!(
        text(&sent[1]).contains("Nova X1 — $799.00"),
        "{}",
        text(&sent[1])
    );
    assert!(text(&sent[3]).contains("$1,598.00"), "{}", text(&sent[3]));
    assert!(
        text(&sent[4]).starts_with("Order ord-"),
        "{}",
        text(&sent[4])
    );
    assert!(sent.iter().all(|c| c["chat_id"] == ANA));
    server.stop();

    let server = Server::start(dir.path(), port, &fake.url).await;
    // Telegram redelivers an update it thinks was lost: nothing is appended or sent again.
    assert_eq!(server.update(5, "yes").await, 200);
    assert_eq!(server.update(6, "how much is it?").await, 200);
    let sent = fake.wait_for("sendMessage", 6).await;
    assert!(
        text(&sent[5]).contains("The Nova X1 costs $799.00"),
        "{}",
        text(&sent[5])
    );
    // Nothing sent twice: once the outbox's checkpoint has passed every event, no more is sent.
    let store = embedded_store(dir.path()).await;
    testkit::wait::checkpoint_passes_head(&store, CHECKPOINT, Duration::from_secs(20)).await;
    assert_eq!(fake.calls("sendMessage").len(), 6, "nothing sent twice");
    store.close().await;
    server.stop();
}
