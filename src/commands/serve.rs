//! `salesbot serve` (the default): the all-in-one process. So far it opens the event store
//! (applying migrations) and serves `/health`; the bot, projector and query API join it as their
//! issues land, and it says so at start-up.

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use event_store::EventStore;
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::web::{Data, Json};
use poem::{
    EndpointExt as _, IntoResponse, Response, Route, Server, get, handler, http::StatusCode,
};

use crate::config::Config;

pub async fn run(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = super::open_store(config).await?;
    let acceptor = TcpListener::bind(config.bind_addr)
        .into_acceptor()
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(config.bind_addr);
    let mode = if config.database_url.kind() == event_store::BackendKind::Sqlite {
        "embedded"
    } else {
        "distributed"
    };
    tracing::info!(
        %local,
        database = %config.database_url,
        mode,
        "salesbot is running: event store ready, health at http://{local}/health"
    );
    tracing::info!(
        "not built yet: the bot (command-service), the projector and the query API with its \
         dashboard; this process serves the event store's health only"
    );
    let app = Route::new().at("/health", get(health)).data(store.clone());
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
        .await;
    store.close().await;
    served.context("serving HTTP")
}

/// 200 with the head position while the database answers; 503 otherwise.
#[handler]
async fn health(Data(store): Data<&EventStore>) -> Response {
    match store.head_position().await {
        Ok(head) => Json(serde_json::json!({
            "status": "ok",
            "database": "ok",
            "head_position": head,
        }))
        .into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            Json(serde_json::json!({
                "status": "unavailable",
                "database": "unreachable",
            }))
            .with_status(StatusCode::SERVICE_UNAVAILABLE)
            .into_response()
        }
    }
}
