//! A running command-service for tests: the real HTTP routes on a free port over a real store.

#![allow(dead_code)]

pub use command_service::testing::fake_telegram;

use std::sync::Arc;

use command_service::catalog::Catalog;
use command_service::limits::Rate;
use command_service::service::{Clock, CommandService, SystemClock};
use command_service::telegram::{Telegram, TelegramConfig};
use command_service::web::{Sessions, WebConfig};
use event_store::EventStore;
use testkit::TestDatabase;

pub struct TestApp {
    pub url: String,
    pub store: EventStore,
    pub service: CommandService,
    pub telegram: Option<Arc<Telegram>>,
    /// How the outbox sender is doing (what `/health` reports).
    pub sender_health: command_service::telegram::outbox::SenderHealth,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    outbox: Option<(
        tokio_util::sync::CancellationToken,
        tokio::task::JoinHandle<()>,
    )>,
}

pub const WEBHOOK_SECRET: &str = "test-secret_123";
/// The `X-Chat-Key` of every test app: `say` names users as a shop's backend would.
pub const CHAT_KEY: &str = "test-chat-key-0123456789";
/// Every test app derives sessions from the same secret, as instances sharing a master key do.
pub const SESSION_KEY: [u8; 32] = [42; 32];

/// How a test app is set up beyond its database.
#[derive(Debug, Clone)]
pub struct Options {
    pub user_rate: Rate,
    pub address_rate: Rate,
    pub session_ttl: std::time::Duration,
    pub clock: Arc<dyn Clock>,
}

impl Default for Options {
    /// No limits (tests that flood on purpose), sessions of 30 days, the system clock.
    fn default() -> Options {
        Options {
            user_rate: Rate::UNLIMITED,
            address_rate: Rate::UNLIMITED,
            session_ttl: std::time::Duration::from_secs(30 * 86_400),
            clock: Arc::new(SystemClock),
        }
    }
}
pub const PROVIDER_TOKEN: &str = "284685063:TEST:provider";

impl TestApp {
    /// Opens the store of `db` and serves the web chat routes on 127.0.0.1:<free port>.
    pub async fn spawn(db: &TestDatabase) -> TestApp {
        Self::spawn_with(db, None, None, Options::default()).await
    }

    /// The web chat with other limits, session lifetime or clock.
    pub async fn spawn_configured(db: &TestDatabase, options: Options) -> TestApp {
        Self::spawn_with(db, None, None, options).await
    }

    /// Telegram (as [`Self::spawn_with_telegram`]) with the given options.
    pub async fn spawn_telegram_configured(
        db: &TestDatabase,
        api_url: &str,
        options: Options,
    ) -> TestApp {
        let mut app = Self::spawn_with(db, Some(api_url), None, options).await;
        app.start_outbox().await;
        app
    }

    /// The web chat plus Telegram against the fake Bot API at `api_url` (webhook routes mounted,
    /// outbox sender running).
    pub async fn spawn_with_telegram(db: &TestDatabase, api_url: &str) -> TestApp {
        let mut app = Self::spawn_with(db, Some(api_url), None, Options::default()).await;
        app.start_outbox().await;
        app
    }

    /// As [`Self::spawn_with_telegram`], with Telegram Payments (a provider token) on.
    pub async fn spawn_with_payments(db: &TestDatabase, api_url: &str) -> TestApp {
        let mut app =
            Self::spawn_with(db, Some(api_url), Some(PROVIDER_TOKEN), Options::default()).await;
        app.start_outbox().await;
        app
    }

    async fn spawn_with(
        db: &TestDatabase,
        telegram_api: Option<&str>,
        provider_token: Option<&str>,
        options: Options,
    ) -> TestApp {
        let store = db.open_for_test().await;
        let catalog = Arc::new(Catalog::demo().expect("demo catalog"));
        let service = CommandService::new(store.clone(), catalog, options.clock.clone())
            .with_user_rate(options.user_rate);
        let telegram = match telegram_api {
            None => None,
            Some(url) => {
                let config = TelegramConfig {
                    token: fake_telegram::TOKEN.to_owned().into(),
                    api_url: Some(url.parse().expect("url")),
                    webhook_url: None,
                    webhook_secret: Some(WEBHOOK_SECRET.to_owned().into()),
                    payment_provider_token: provider_token.map(|t| t.to_owned().into()),
                };
                Some(
                    Telegram::connect(&config, service.clone())
                        .await
                        .expect("connect"),
                )
            }
        };
        let app = command_service::routes(
            service.clone(),
            telegram.clone(),
            WebConfig {
                chat_api_key: Some(CHAT_KEY.to_owned()),
                sessions: Sessions::new(SESSION_KEY, options.session_ttl),
                address_rate: options.address_rate,
                trust_forwarded_for: false,
            },
        );
        let (url, server) = command_service::testing::serve_on_loopback(app).await;
        TestApp {
            url,
            store,
            service,
            telegram,
            sender_health: Default::default(),
            client: reqwest::Client::new(),
            server,
            outbox: None,
        }
    }

    /// Starts the Telegram outbox sender.
    /// (Its checkpoint exists when this returns.)
    pub async fn start_outbox(&mut self) {
        let Some(telegram) = &self.telegram else {
            return;
        };
        command_service::telegram::outbox::prepare(&self.store)
            .await
            .expect("outbox checkpoint");
        let stop = tokio_util::sync::CancellationToken::new();
        let shutdown = stop.clone();
        let store = self.store.clone();
        let bot = telegram.sender();
        let token = telegram.payment_token();
        let wake = self.service.appended();
        let health = self.sender_health.clone();
        let task = tokio::spawn(command_service::telegram::outbox::run(
            store, bot, token, wake, health, shutdown,
        ));
        self.outbox = Some((stop, task));
    }

    /// Stops the outbox sender (as a crash would: whatever it has not sent stays unsent).
    pub async fn stop_outbox(&mut self) {
        if let Some((stop, task)) = self.outbox.take() {
            stop.cancel();
            let _ = task.await;
        }
    }

    /// Stops serving and closes the store, as a process exit would.
    pub async fn stop(mut self) {
        self.stop_outbox().await;
        self.server.abort();
        let _ = self.server.await;
        self.store.close().await;
    }

    /// `POST /telegram/webhook` with the given secret header: (status, JSON body).
    pub async fn webhook(&self, secret: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        let mut request = self
            .client
            .post(format!("{}/telegram/webhook", self.url))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// `POST /api/messages` with a raw body and no credentials: (status, JSON body).
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        let response = self.post(&[], body).await;
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// `POST /api/messages` with a raw body as the shop's backend (`X-Chat-Key`).
    pub async fn post_keyed(&self, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        let response = self.post(&[("X-Chat-Key", CHAT_KEY)], body).await;
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// `POST /api/messages` with the given headers and body, as JSON.
    pub async fn post(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/api/messages", self.url))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// Sends a message as web user `user`, named by the shop's backend; returns the reply text
    /// (panics unless 200).
    pub async fn say(&self, user: &str, text: &str) -> String {
        let (status, body) = self
            .post_keyed(serde_json::json!({"user_id": user, "text": text}).to_string())
            .await;
        assert_eq!(status, 200, "{text}: {body}");
        body["reply"].as_str().expect("reply text").to_owned()
    }

    /// Sends a message in an anonymous session (`Authorization: Bearer`), or starts one when
    /// `session` is `None`: (status, JSON body).
    pub async fn say_in_session(
        &self,
        session: Option<&str>,
        text: &str,
    ) -> (u16, serde_json::Value) {
        let auth = session.map(|s| format!("Bearer {s}"));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        let response = self
            .post(&headers, serde_json::json!({"text": text}).to_string())
            .await;
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    }
}
