//! A running command-service for tests: the real HTTP routes on a free port over a real store.

#![allow(dead_code)]

use std::sync::Arc;

use command_service::catalog::Catalog;
use command_service::service::{CommandService, SystemClock};
use event_store::EventStore;
use event_store::testing::TestDatabase;
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::{EndpointExt as _, Server};

pub struct TestApp {
    pub url: String,
    pub store: EventStore,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    /// Opens the store of `db` and serves the web chat routes on 127.0.0.1:<free port>.
    pub async fn spawn(db: &TestDatabase) -> TestApp {
        let store = db.open_for_test().await;
        let catalog = Arc::new(Catalog::demo().expect("demo catalog"));
        let service = CommandService::new(store.clone(), catalog, Arc::new(SystemClock));
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .expect("bind");
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .expect("local addr");
        let app = command_service::web::routes().data(service);
        let server = tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        TestApp {
            url: format!("http://{addr}"),
            store,
            client: reqwest::Client::new(),
            server,
        }
    }

    /// Stops serving and closes the store, as a process exit would.
    pub async fn stop(self) {
        self.server.abort();
        let _ = self.server.await;
        self.store.close().await;
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
