//! `salesbot serve` (the default) and the `command-service` and `projector` binaries: one
//! server whose roles are chosen by the binary.
//!
//! - **commands**: the bot's web chat (`/chat`, `POST /api/messages`), Telegram, and in
//!   distributed mode (`NATS_URL` set) the outbox relay to JetStream;
//! - **projector**: folds the log into the read tables, following the log in process, or
//!   reading JetStream in distributed mode;
//! - **query**: the admin API (`/admin/...`), its spec (`/openapi.json`) and docs (`/docs`).
//!
//! `salesbot serve` runs all three. Every process serves `/health` and `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use command_service::llm::{Llm, LlmConfig};
use command_service::service::{CommandService, SystemClock};
use command_service::telegram::outbox::SenderHealth;
use command_service::telegram::{Telegram, TelegramConfig};
use poem::listener::{Acceptor as _, Listener as _, TcpListener};
use poem::{EndpointExt as _, Route, Server, get};
use secrecy::ExposeSecret as _;
use tokio_util::sync::CancellationToken;

use crate::config::{AdminKey, AdminKeySource, Config};

/// Which parts a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub commands: bool,
    pub projector: bool,
    pub query: bool,
}

impl Roles {
    pub const ALL: Roles = Roles {
        commands: true,
        projector: true,
        query: true,
    };
    pub const COMMANDS: Roles = Roles {
        commands: true,
        projector: false,
        query: false,
    };
    pub const PROJECTOR: Roles = Roles {
        commands: false,
        projector: true,
        query: false,
    };
    pub const QUERY: Roles = Roles {
        commands: false,
        projector: false,
        query: true,
    };
}

pub async fn run(config: &Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_roles(config, Roles::ALL, "salesbot", shutdown).await
}

/// Runs `roles` until `shutdown` is cancelled: the HTTP server drains first (requests in flight
/// are answered), then the background parts (projector, relay, Telegram) are stopped, each
/// finishing its batch in flight, and the store is closed.
pub async fn run_roles(
    config: &Config,
    roles: Roles,
    name: &str,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // A bad catalog or a missing admin key stops start-up before anything is opened or written.
    let catalog = match roles.commands || roles.query {
        true => Some(Arc::new(super::load_catalog(config)?)),
        false => None,
    };
    let admin_key = match roles.query {
        true => Some(config.admin_key().context("configuration")?),
        false => None,
    };
    let store = super::open_store(config).await?;
    let nats = super::connect_nats(config, name, false).await?;
    let acceptor = TcpListener::bind(config.bind_addr)
        .into_acceptor()
        .await
        .with_context(|| format!("BIND_ADDR: cannot listen on {}", config.bind_addr))?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(config.bind_addr);
    // The background parts' token: cancelled once the HTTP server has drained, not with
    // `shutdown` itself, so that what the last requests appended is still projected, relayed
    // and sent. Each part gets a child of it.
    let stop = CancellationToken::new();
    // Should start-up fail half-way, what it started stops too.
    let _stop_on_error = stop.clone().drop_guard();
    let mut tasks = Vec::new();
    if roles.projector {
        let applier = super::applier(config, &store);
        projector::worker::prepare(&applier, config.report_timezone)
            .await
            .context("preparing the read models")?;
        let task = match &nats {
            None => tokio::spawn(projector::worker::run_embedded(
                store.clone(),
                applier,
                stop.child_token(),
            )),
            Some(nats) => tokio::spawn(projector::worker::run_workers(
                store.clone(),
                nats.clone(),
                applier,
                projector::worker::worker_id(),
                stop.child_token(),
            )),
        };
        tasks.push(tokio::spawn(async move {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "the projector stopped"),
                Err(error) => tracing::error!(%error, "the projector panicked"),
            }
        }));
    }
    // This process's Telegram outbox sender, when it runs one, for `/health`.
    let mut sender_health: Option<SenderHealth> = None;
    let mut routes = Route::new()
        .at("/health", get(crate::metrics::health))
        .at("/metrics", get(crate::metrics::endpoint));
    if let (Some(admin), Some(catalog)) = (&admin_key, &catalog) {
        let state = query_api::State::new(
            store.clone(),
            config.report_timezone,
            catalog
                .products()
                .iter()
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect(),
            nats.clone(),
        )
        .with_replay(std::sync::Arc::new(crate::as_of::ProjectorReplay {
            store: store.clone(),
            tz: config.report_timezone,
        }));
        routes = query_api::mount(
            routes,
            state,
            query_api::KeyDigest::new(admin.key.expose_secret()),
            command_service::web::ChatApi,
            command_service::web::describe,
        );
        announce_admin(local, admin);
    }
    if let Some(catalog) = catalog.filter(|_| roles.commands) {
        let mut svc = CommandService::new(store.clone(), catalog.clone(), Arc::new(SystemClock))
            .with_user_rate(config.chat_user_rate)
            .with_state_cache(config.state_cache_bytes());
        if let (Some(url), Some(model)) = (&config.llm_api_url, &config.llm_model) {
            let llm = Llm::new(LlmConfig {
                url: url.clone(),
                api_key: config.llm_api_key.clone(),
                model: model.clone(),
                timeout: Duration::from_secs(10),
            })
            .context("LLM_API_URL: building the HTTP client")?;
            tracing::info!(%url, %model, "LLM wording enabled for small talk and not-understood messages");
            svc = svc.with_llm(llm);
        }
        let tg = start_telegram(config, &svc).await?;
        if let Some(nats) = &nats {
            tasks.push(tokio::spawn(event_store::transport::run_relay(
                store.clone(),
                nats.clone(),
                stop.child_token(),
            )));
        }
        if let Some(tg) = &tg {
            command_service::telegram::outbox::prepare(&store)
                .await
                .context("preparing the Telegram outbox")?;
            // Supervised: it retries store errors with backoff and ends only at shutdown;
            // `/health` reads how it is doing.
            let health = SenderHealth::new();
            sender_health = Some(health.clone());
            tasks.push(tokio::spawn(command_service::telegram::outbox::run(
                store.clone(),
                tg.sender(),
                tg.payment_token(),
                svc.appended(),
                health,
                stop.child_token(),
            )));
            if config.telegram_webhook_url.is_none() {
                tasks.push(tokio::spawn(tg.clone().poll(stop.child_token())));
            }
        }
        let bot = command_service::routes(svc, tg, web_config(config)?);
        routes = routes.nest("/", bot);
        tracing::info!(
            products = catalog.products().len(),
            "the bot is ready: chat with it at http://{local}/chat"
        );
    }
    let mode = if nats.is_some() {
        "distributed (JetStream)"
    } else {
        "embedded (in-process transport)"
    };
    tracing::info!(
        %local,
        database = %config.database_url,
        mode,
        commands = roles.commands,
        projector = roles.projector,
        query = roles.query,
        "{name} is running"
    );
    crate::metrics::install();
    let app = routes
        .data(store.clone())
        .data(nats.clone())
        .data(sender_health)
        .catch_error(query_api::error::bad_path)
        .with(crate::metrics::http::Metered);
    let served = Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(
            app,
            shutdown.cancelled_owned(),
            Some(Duration::from_secs(10)),
        )
        .await;
    // Stop taking work, let every task finish what is in flight, then close.
    stop.cancel();
    for task in tasks {
        let _ = task.await;
    }
    store.close().await;
    served.context("serving HTTP")
}

/// Who the web chat lets in, and how much (README, "Web chat identity" and "Limits").
pub fn web_config(config: &Config) -> anyhow::Result<command_service::web::WebConfig> {
    use secrecy::ExposeSecret as _;
    let master = config.store_config().context("configuration")?.master_key;
    Ok(command_service::web::WebConfig {
        chat_api_key: config
            .chat_api_key
            .as_ref()
            .map(|k| k.expose_secret().to_owned()),
        sessions: command_service::web::Sessions::new(
            master.derive(command_service::web::session::KEY_PURPOSE),
            config.chat_session_ttl,
        ),
        address_rate: config.chat_address_rate,
        trust_forwarded_for: config.chat_trust_forwarded_for,
    })
}

/// Where the dashboard and admin API are, and their key: a generated key is printed on the
/// start that creates it (so a newcomer sees it next to the URL) and never again; later starts
/// name the file it is kept in, so the key does not pile up in logs.
fn announce_admin(local: std::net::SocketAddr, admin: &AdminKey) {
    let urls = format!(
        "dashboard at http://{local}/dashboard, admin API at http://{local}/admin \
         (docs: http://{local}/docs)"
    );
    match &admin.source {
        AdminKeySource::Created(file) => tracing::info!(
            "{urls}; its X-API-Key, generated into {} and shown this once: {}",
            file.display(),
            admin.key.expose_secret()
        ),
        AdminKeySource::Kept(file) => {
            tracing::info!("{urls}; its X-API-Key is in {}", file.display());
        }
        AdminKeySource::Environment => {
            tracing::info!("{urls}; its X-API-Key is ADMIN_API_KEY");
        }
    }
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
