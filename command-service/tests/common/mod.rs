//! A running command-service for tests: the real HTTP routes on a free port over a real store.

#![allow(dead_code)]

pub use command_service::testing::fake_telegram;

use std::sync::Arc;

use command_service::catalog::Catalog;
use command_service::service::{CommandService, SystemClock};
use command_service::telegram::{Telegram, TelegramConfig};
use event_store::EventStore;
use event_store::testing::TestDatabase;
use poem::EndpointExt as _;

pub struct TestApp {
    pub url: String,
    pub store: EventStore,
    pub service: CommandService,
    pub telegram: Option<Arc<Telegram>>,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
    outbox: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

pub const WEBHOOK_SECRET: &str = "test-secret_123";
pub const PROVIDER_TOKEN: &str = "284685063:TEST:provider";

impl TestApp {
    /// Opens the store of `db` and serves the web chat routes on 127.0.0.1:<free port>.
    pub async fn spawn(db: &TestDatabase) -> TestApp {
        Self::spawn_with(db, None, None).await
    }

    /// The web chat plus Telegram against the fake Bot API at `api_url` (webhook routes mounted,
    /// outbox sender running).
    pub async fn spawn_with_telegram(db: &TestDatabase, api_url: &str) -> TestApp {
        let mut app = Self::spawn_with(db, Some(api_url), None).await;
        app.start_outbox().await;
        app
    }

    /// As [`Self::spawn_with_telegram`], with Telegram Payments (a provider token) on.
    pub async fn spawn_with_payments(db: &TestDatabase, api_url: &str) -> TestApp {
        let mut app = Self::spawn_with(db, Some(api_url), Some(PROVIDER_TOKEN)).await;
        app.start_outbox().await;
        app
    }

    async fn spawn_with(
        db: &TestDatabase,
        telegram_api: Option<&str>,
        provider_token: Option<&str>,
    ) -> TestApp {
        let store = db.open_for_test().await;
        let catalog = Arc::new(Catalog::demo().expect("demo catalog"));
        let service = CommandService::new(store.clone(), catalog, Arc::new(SystemClock));
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
        let app = match &telegram {
            Some(t) => command_service::web::routes()
                .at(
                    "/telegram/webhook",
                    command_service::telegram::webhook_endpoint(),
                )
                .data(service.clone())
                .data(t.clone())
                .boxed(),
            None => command_service::web::routes().data(service.clone()).boxed(),
        };
        let (url, server) = command_service::testing::serve_on_loopback(app).await;
        TestApp {
            url,
            store,
            service,
            telegram,
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
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let store = self.store.clone();
        let bot = telegram.sender();
        let token = telegram.payment_token();
        let wake = self.service.appended();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            command_service::telegram::outbox::run(store, bot, token, wake, shutdown)
                .await
                .expect("outbox");
        });
        self.outbox = Some((stop, task));
    }

    /// Stops the outbox sender (as a crash would: whatever it has not sent stays unsent).
    pub async fn stop_outbox(&mut self) {
        if let Some((stop, task)) = self.outbox.take() {
            let _ = stop.send(());
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

    /// `POST /api/messages` with a raw body: (status, JSON body).
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}/api/messages", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let json = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    /// Sends a message as web user `user`; returns the reply text (panics unless 200).
    pub async fn say(&self, user: &str, text: &str) -> String {
        let (status, body) = self
            .post_raw(serde_json::json!({"user_id": user, "text": text}).to_string())
            .await;
        assert_eq!(status, 200, "{text}: {body}");
        body["reply"].as_str().expect("reply text").to_owned()
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
