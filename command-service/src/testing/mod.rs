//! Test doubles of the outside world for this workspace's tests (feature `test-util`): a fake
//! Telegram Bot API server on loopback that records what the bot sent, and a fake
//! OpenAI-compatible chat endpoint.

pub mod fake_llm;
pub mod fake_telegram;

use poem::listener::{Acceptor as _, Listener as _, TcpListener};

/// Serves `app` on 127.0.0.1 at a free port: `(http://127.0.0.1:<port>, server task)`.
pub async fn serve_on_loopback(
    app: impl poem::Endpoint + 'static,
) -> (String, tokio::task::JoinHandle<()>) {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap_or_else(|e| panic!("bind a loopback port: {e}"));
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or_else(|| panic!("the loopback listener has no address"));
    let server = tokio::spawn(async move {
        let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
    });
    (format!("http://{addr}"), server)
}

/// A clock tests move by hand (sessions expiring, limits refilling) instead of sleeping.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl ManualClock {
    pub fn new(at: chrono::DateTime<chrono::Utc>) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }

    pub fn advance(&self, by: std::time::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
    }
}

impl crate::service::Clock for ManualClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
