//! `salesbot serve` (the default): the all-in-one process. It opens the event store (applying
//! migrations), runs the bot's web chat (`/chat`, `POST /api/messages`) and serves `/health`;
//! the projector and query API join it as their issues land, and it says so at start-up.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use command_service::llm::{Llm, LlmConfig};
use command_service::service::{CommandService, SystemClock};
use command_service::telegram::{Telegram, TelegramConfig};
use event_store::EventStore;
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::web::{Data, Json};
use poem::{EndpointExt as _, IntoResponse, Response, Server, get, handler, http::StatusCode};

use crate::config::Config;

pub async fn run(
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let catalog = Arc::new(super::load_catalog(config)?);
    let store = super::open_store(config).await?;
    let mut service = CommandService::new(store.clone(), catalog.clone(), Arc::new(SystemClock));
    if let (Some(url), Some(model)) = (&config.llm_api_url, &config.llm_model) {
        let llm = Llm::new(LlmConfig {
            url: url.clone(),
            api_key: config.llm_api_key.clone(),
            model: model.clone(),
            timeout: Duration::from_secs(10),
        })
        .context("LLM_API_URL: building the HTTP client")?;
        tracing::info!(%url, %model, "LLM wording enabled for small talk and not-understood messages");
        service = service.with_llm(llm);
    }
    let telegram = start_telegram(config, &service).await?;
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
        products = catalog.products().len(),
        "salesbot is running: chat with the bot at http://{local}/chat"
    );
    tracing::info!(
        "not built yet: the projector and the query API with its dashboard; this process runs \
         the bot and the event store"
    );
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stop_signal = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    let mut tasks = Vec::new();
    let routes = command_service::web::routes()
        .at(
            "/",
            get(poem::endpoint::make_sync(|_| {
                poem::web::Redirect::see_other("/chat")
            })),
        )
        .at("/health", get(health));
    let app = match &telegram {
        Some(tg) => {
            command_service::telegram::outbox::prepare(&store)
                .await
                .context("preparing the Telegram outbox")?;
            let outbox = command_service::telegram::outbox::run(
                store.clone(),
                tg.sender(),
                tg.payment_token(),
                service.appended(),
                stop_signal(),
            );
            tasks.push(tokio::spawn(async move {
                if let Err(error) = outbox.await {
                    tracing::error!(%error, "the Telegram outbox sender stopped");
                }
            }));
            if config.telegram_webhook_url.is_none() {
                tasks.push(tokio::spawn(tg.clone().poll(stop_signal())));
            }
            routes
                .at(
                    "/telegram/webhook",
                    command_service::telegram::webhook_endpoint(),
                )
                .data(store.clone())
                .data(service)
                .data(tg.clone())
                .boxed()
        }
        None => routes.data(store.clone()).data(service).boxed(),
    };
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(app, shutdown, Some(Duration::from_secs(10)))
        .await;
    // Stop taking work, let the sender and poller finish what is in flight, then close.
    let _ = stop.send(true);
    for task in tasks {
        let _ = task.await;
    }
    store.close().await;
    served.context("serving HTTP")
}

/// Telegram, when `TELEGRAM_BOT_TOKEN` is set: webhook mode with `TELEGRAM_WEBHOOK_URL`, long
/// polling otherwise.
async fn start_telegram(
    config: &Config,
    service: &CommandService,
) -> anyhow::Result<Option<Arc<Telegram>>> {
    let Some(token) = &config.telegram_bot_token else {
        tracing::info!("TELEGRAM_BOT_TOKEN is not set: web chat only");
        return Ok(None);
    };
    let telegram = Telegram::connect(
        &TelegramConfig {
            token: token.clone(),
            api_url: config.telegram_api_url.clone(),
            webhook_url: config.telegram_webhook_url.clone(),
            webhook_secret: config.telegram_webhook_secret.clone(),
            payment_provider_token: config.telegram_payment_provider_token.clone(),
        },
        service.clone(),
    )
    .await
    .context("connecting to Telegram (TELEGRAM_BOT_TOKEN, TELEGRAM_API_URL)")?;
    let mode = if config.telegram_webhook_url.is_some() {
        "webhook"
    } else {
        "long polling"
    };
    tracing::info!(bot = %telegram.identity().username, mode, "Telegram connected");
    Ok(Some(telegram))
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
