//! Telegram: updates arrive by webhook (`POST /telegram/webhook`) or long polling, go through
//! the same command path as the web chat (with ids derived from the `update_id`, so a
//! redelivery appends nothing), and replies leave through the outbox sender, which follows the
//! log and sends every `BotReplied` for Telegram exactly once it can.

pub mod outbox;
mod pace;
pub mod status;
pub mod update;

use std::sync::Arc;

use events_schema::{
    BotReplied, Channel, Currency, Event, Money, OrderPlaced, PaymentMethod, UserId,
};
use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{IntoResponse, Request, Response, handler, post};
use secrecy::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;
use teloxide::Bot;
use teloxide::payloads::{
    AnswerPreCheckoutQuerySetters as _, GetUpdatesSetters as _, SetWebhookSetters as _,
};
use teloxide::requests::{Request as _, Requester as _};
use teloxide::types::Update;

use crate::service::{CommandService, EventIds, Handled, ServiceError};
pub use update::{Action, BotIdentity};

/// Largest webhook body accepted.
const MAX_UPDATE_BYTES: usize = 1024 * 1024;

/// How to reach Telegram.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    pub token: SecretString,
    /// Another Bot API server (a local one, or a test fake).
    pub api_url: Option<url::Url>,
    /// Public https URL for webhook mode; unset: long polling.
    pub webhook_url: Option<url::Url>,
    pub webhook_secret: Option<SecretString>,
    /// Telegram Payments provider token: confirmed purchases are then paid by invoice.
    pub payment_provider_token: Option<SecretString>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("TELEGRAM_BOT_TOKEN must look like <bot id>:<secret>")]
    Token,
    #[error("TELEGRAM_WEBHOOK_SECRET is required in webhook mode (TELEGRAM_WEBHOOK_URL is set)")]
    NoSecret,
    #[error("Telegram API: {0}")]
    Api(#[from] teloxide::RequestError),
}

/// The bot on Telegram.
#[derive(Debug)]
pub struct Telegram {
    bot: Bot,
    me: BotIdentity,
    service: CommandService,
    secret: Option<SecretString>,
    payment_token: Option<SecretString>,
}

impl Telegram {
    /// Connects (`getMe`), and registers the webhook when one is configured.
    pub async fn connect(
        config: &TelegramConfig,
        service: CommandService,
    ) -> Result<Arc<Telegram>, TelegramError> {
        let token = config.token.expose_secret();
        let id = update::bot_id_of_token(token).ok_or(TelegramError::Token)?;
        let mut bot = Bot::new(token);
        if let Some(url) = &config.api_url {
            bot = bot.set_api_url(url.clone());
        }
        let me = bot.get_me().send().await?;
        let username = me.user.username.clone().unwrap_or_default();
        if let Some(url) = &config.webhook_url {
            let secret = config
                .webhook_secret
                .as_ref()
                .ok_or(TelegramError::NoSecret)?;
            bot.set_webhook(url.clone())
                .secret_token(secret.expose_secret().to_owned())
                .send()
                .await?;
            tracing::info!(%url, bot = %username, "Telegram webhook registered");
        }
        Ok(Arc::new(Telegram {
            bot,
            me: BotIdentity { id, username },
            service,
            secret: config.webhook_secret.clone(),
            payment_token: config.payment_provider_token.clone(),
        }))
    }

    pub fn identity(&self) -> &BotIdentity {
        &self.me
    }

    /// The payments provider token, for the outbox's invoices.
    pub fn payment_token(&self) -> Option<String> {
        self.payment_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned())
    }

    /// The bot the outbox sends with (it keeps Telegram's limits itself: `pace.rs`).
    pub fn sender(&self) -> Bot {
        self.bot.clone()
    }

    /// Handles one update through the command path; returns once its events are committed.
    #[tracing::instrument(skip(self, update), fields(update_id = update.id.0))]
    pub async fn handle(&self, update: &Update) -> Result<(), ServiceError> {
        let ids = EventIds::Telegram {
            bot_id: self.me.id,
            update_id: i64::from(update.id.0),
        };
        let payments = self.payment_token.is_some();
        match update::read(update, &self.me, self.service.now(), payments) {
            Action::Message { user, inbound } => {
                if self.over_limit(&user) {
                    return Ok(());
                }
                let handled = self.service.handle(&user, &inbound, ids).await?;
                tracing::debug!(?handled, "message");
            }
            Action::Button {
                query_id,
                user,
                inbound,
            } => {
                // Telegram shows a spinner until the query is answered: always answer.
                if let Err(error) = self.bot.answer_callback_query(query_id).send().await {
                    tracing::warn!(%error, "answerCallbackQuery failed");
                }
                if self.over_limit(&user) {
                    return Ok(());
                }
                match self.service.handle(&user, &inbound, ids).await? {
                    Handled::Ignored => {
                        tracing::info!("button data the bot never produced: ignored")
                    }
                    other => tracing::debug!(?other, "button"),
                }
            }
            Action::PreCheckout {
                query_id,
                user,
                invoice_payload,
                currency,
                total_minor,
            } => {
                // Answer at once (Telegram waits at most 10 s): yes only for an open invoice of
                // this user with the same amount.
                let open = match &user {
                    Some(user) => self
                        .service
                        .load(user)
                        .await?
                        .invoices
                        .into_iter()
                        .any(|i| {
                            i.invoice_id == invoice_payload
                                && i.total.amount_minor == total_minor
                                && i.total.currency.as_str() == currency
                        }),
                    None => false,
                };
                let mut answer = self.bot.answer_pre_checkout_query(query_id, open);
                if !open {
                    answer = answer.error_message(
                        "Sorry, this invoice is not one of ours, was paid already or has changed. Please ask the bot for a new one.",
                    );
                }
                if let Err(error) = answer.send().await {
                    tracing::warn!(%error, "answerPreCheckoutQuery failed");
                }
            }
            Action::Payment {
                user,
                chat_id,
                at,
                payment,
            } => {
                let Ok(currency) = Currency::new(&payment.currency.to_uppercase()) else {
                    tracing::error!(currency = %payment.currency, "payment in a currency that is not ISO 4217: not recorded");
                    return Ok(());
                };
                let total = Money::new(payment.total_minor, currency);
                let invoice = self
                    .service
                    .load(&user)
                    .await?
                    .invoices
                    .into_iter()
                    .find(|i| i.invoice_id == payment.invoice_payload && i.total == total);
                let (order_id, lines, flagged, text) = match invoice {
                    Some(i) => {
                        let text = format!(
                            "Payment received: order {} is confirmed, {}. Thank you! We'll be in touch about delivery.",
                            i.invoice_id,
                            crate::engine::reply::money(&total)
                        );
                        (i.invoice_id, i.lines, false, text)
                    }
                    None => {
                        tracing::warn!(
                            invoice = %payment.invoice_payload,
                            "payment for an invoice the bot never issued: recorded and flagged"
                        );
                        (
                            format!("tg-{}", payment.telegram_charge_id),
                            Vec::new(),
                            true,
                            "Thank you, we received your payment. It doesn't match an open order, so our team will contact you to sort it out.".to_owned(),
                        )
                    }
                };
                let events = vec![
                    Event::OrderPlaced(OrderPlaced {
                        order_id,
                        lines,
                        total,
                        payment: PaymentMethod::TelegramPayments {
                            telegram_payment_charge_id: payment.telegram_charge_id,
                            provider_payment_charge_id: payment.provider_charge_id,
                            flagged,
                        },
                        contact: None,
                    }),
                    Event::BotReplied(BotReplied {
                        channel: Channel::Telegram,
                        in_reply_to: None,
                        chat_id: Some(chat_id),
                        text: Some(text),
                        buttons: Vec::new(),
                        products: Vec::new(),
                    }),
                ];
                self.service.record(&user, at, events, ids).await?;
            }
            Action::Ignore(why) => tracing::debug!(why, "update ignored"),
        }
        Ok(())
    }

    /// Whether the user is over their message allowance. Telegram is never answered 429 (it
    /// would slow delivery down for the whole bot): the update is acknowledged and dropped,
    /// nothing recorded, nothing sent. Payments are never limited.
    fn over_limit(&self, user: &UserId) -> bool {
        match self.service.admit(user) {
            Ok(()) => false,
            Err(wait) => {
                tracing::info!(%user, retry_in = ?wait, "over the per-user limit: update dropped");
                crate::limits::count_refused(Channel::Telegram);
                true
            }
        }
    }

    /// Long polling: fetch updates, handle each (committed) before asking for the next, until
    /// `shutdown` is cancelled.
    pub async fn poll(self: Arc<Self>, shutdown: tokio_util::sync::CancellationToken) {
        if let Err(error) = self.bot.delete_webhook().send().await {
            tracing::warn!(%error, "deleteWebhook failed; polling anyway");
        }
        tracing::info!(bot = %self.me.username, "Telegram long polling started");
        let mut offset: i32 = 0;
        loop {
            let fetch = self.bot.get_updates().offset(offset).timeout(25).send();
            let updates = tokio::select! {
                () = shutdown.cancelled() => break,
                result = fetch => match result {
                    Ok(updates) => updates,
                    Err(error) => {
                        tracing::warn!(%error, "getUpdates failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                        continue;
                    }
                },
            };
            // Telegram waits at most 10 s for a pre-checkout answer: answer those at once, not
            // behind the batch's other updates (they append nothing, so order does not matter).
            let (checkouts, updates): (Vec<Update>, Vec<Update>) = updates
                .into_iter()
                .partition(|u| matches!(u.kind, teloxide::types::UpdateKind::PreCheckoutQuery(_)));
            for update in checkouts {
                offset = offset.max(
                    i32::try_from(update.id.0)
                        .unwrap_or(i32::MAX)
                        .saturating_add(1),
                );
                let telegram = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = telegram.handle(&update).await {
                        tracing::error!(%error, "answering a pre-checkout query failed");
                    }
                });
            }
            for update in updates {
                // An update is done only when its events are committed; until then it is
                // retried (and Telegram keeps it), unless the process is stopping.
                while let Err(error) = self.handle(&update).await {
                    if let ServiceError::Rejected(reason) = &error {
                        tracing::warn!(%reason, "update refused: it cannot be recorded");
                        break;
                    }
                    tracing::error!(%error, "handling an update failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
                offset = offset.max(
                    i32::try_from(update.id.0)
                        .unwrap_or(i32::MAX)
                        .saturating_add(1),
                );
            }
        }
    }
}

/// The endpoint of `POST /telegram/webhook`; the server adds `.data(Arc<Telegram>)`.
pub fn webhook_endpoint() -> impl poem::Endpoint {
    post(webhook)
}

fn error(status: StatusCode, message: &str) -> Response {
    Json(serde_json::json!({ "message": message }))
        .with_status(status)
        .into_response()
}

#[handler]
async fn webhook(
    req: &Request,
    Data(telegram): Data<&Arc<Telegram>>,
    body: poem::Body,
) -> Response {
    let given = req
        .header("X-Telegram-Bot-Api-Secret-Token")
        .unwrap_or_default()
        .as_bytes();
    let authorised = telegram
        .secret
        .as_ref()
        .is_some_and(|s| bool::from(s.expose_secret().as_bytes().ct_eq(given)));
    if !authorised {
        return error(
            StatusCode::UNAUTHORIZED,
            "missing or wrong X-Telegram-Bot-Api-Secret-Token",
        );
    }
    let bytes = match body.into_bytes_limit(MAX_UPDATE_BYTES).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "update too large"),
    };
    let update: Update = match serde_json::from_slice(&bytes) {
        Ok(u) => u,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("not a Telegram update: {e}"),
            );
        }
    };
    match telegram.handle(&update).await {
        // 200 only now that the update's events are committed.
        Ok(()) => Json(serde_json::json!({})).into_response(),
        // The update itself cannot be stored (e.g. a NUL in a payment id, which is kept in the
        // clear): no retry would change that, so say so rather than have Telegram retry.
        Err(ServiceError::Rejected(reason)) => {
            tracing::warn!(%reason, "webhook update refused");
            error(
                StatusCode::BAD_REQUEST,
                &format!("the update cannot be recorded: {reason}"),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook update failed; Telegram will retry");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "could not record the update; retry",
            )
        }
    }
}
