//! The outbox sender: follows the log and sends every `BotReplied` addressed to a Telegram
//! chat (and every invoice), in order, then moves its checkpoint. One process at a time holds
//! its lease and sends; others stand by. A reply committed before a crash is sent after
//! the restart; a redelivered update appended nothing, so nothing is sent twice for it. (A
//! crash between a send and its checkpoint resends that one reply: at-least-once.)

use std::time::Duration;

use event_store::{EventStore, Lease, StoreError};
use events_schema::{BotReplied, Channel, Event, InvoiceIssued};
use teloxide::payloads::{SendInvoiceSetters as _, SendMessageSetters as _};
use teloxide::requests::{Request as _, Requester};
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The checkpoint's name in the store.
pub const CHECKPOINT: &str = "telegram-outbox";
const BATCH: usize = 500;
/// Telegram's limit on callback data.
const MAX_CALLBACK_BYTES: usize = 64;

/// Gives the outbox its checkpoint on the very first start: the current head, since replies
/// from before Telegram was enabled are history, not mail. Call it before the process takes any
/// traffic, so that no reply of this run can fall before it.
pub async fn prepare(store: &EventStore) -> Result<(), StoreError> {
    if store.checkpoint(CHECKPOINT).await?.is_none() {
        let head = store.head_position().await?;
        store.save_checkpoint(CHECKPOINT, head).await?;
    }
    Ok(())
}

/// Runs until `shutdown` is cancelled (after [`prepare`]).
pub async fn run<B>(
    store: EventStore,
    bot: B,
    payment_token: Option<String>,
    wake: std::sync::Arc<Notify>,
    shutdown: CancellationToken,
) -> Result<(), StoreError>
where
    B: Requester<Err = RequestError>,
{
    loop {
        // Only the lease holder sends, however many instances run; the others stand by.
        let lease = match store.try_lease(CHECKPOINT).await {
            Ok(Some(lease)) => Some(lease),
            Ok(None) => None,
            Err(error) => {
                tracing::warn!(%error, "taking the outbox lease failed; retrying");
                None
            }
        };
        let Some(lease) = lease else {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(STANDBY) => continue,
            }
        };
        tracing::info!("this process sends the Telegram outbox");
        let follower = Follower {
            store: &store,
            bot: &bot,
            payment_token: payment_token.as_deref(),
            wake: &wake,
        };
        match follower.follow(lease, &shutdown).await? {
            Stop::Shutdown => return Ok(()),
            Stop::LeaseLost => tracing::warn!("the outbox lease was lost; taking it again"),
        }
    }
}

/// How often a standby instance asks for the lease, and the holder checks it still has it.
const STANDBY: Duration = Duration::from_secs(2);
const LEASE_CHECK: Duration = Duration::from_secs(5);

enum Stop {
    Shutdown,
    LeaseLost,
}

struct Follower<'a, B> {
    store: &'a EventStore,
    bot: &'a B,
    payment_token: Option<&'a str>,
    wake: &'a Notify,
}

impl<B> Follower<'_, B>
where
    B: Requester<Err = RequestError>,
{
    async fn follow(
        &self,
        mut lease: Lease,
        shutdown: &CancellationToken,
    ) -> Result<Stop, StoreError> {
        let store = self.store;
        prepare(store).await?;
        let mut after = store.checkpoint(CHECKPOINT).await?.unwrap_or(0);
        let mut checked = tokio::time::Instant::now();
        loop {
            if checked.elapsed() >= LEASE_CHECK {
                if !lease.is_held().await {
                    return Ok(Stop::LeaseLost);
                }
                checked = tokio::time::Instant::now();
            }
            let batch = match store.read_all(after, BATCH).await {
                Ok(b) => b,
                Err(error) => {
                    tracing::error!(%error, after, "outbox cannot read the log; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                        () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    }
                }
            };
            if batch.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            for event in batch {
                let outcome = match &event.event {
                    Event::BotReplied(reply) if reply.channel == Channel::Telegram => {
                        deliver(self.bot, reply, shutdown).await
                    }
                    Event::InvoiceIssued(invoice) => match (self.payment_token, invoice.chat_id) {
                        (Some(token), Some(chat_id)) => {
                            send_invoice(self.bot, token, chat_id, invoice, shutdown).await
                        }
                        _ => Outcome::Done,
                    },
                    _ => Outcome::Done,
                };
                if outcome == Outcome::Stopped {
                    // Not sent: the checkpoint stays before it, so the next start sends it.
                    return Ok(Stop::Shutdown);
                }
                after = event.global_position;
                let mut wait = Duration::from_millis(200);
                while let Err(error) = store.save_checkpoint(CHECKPOINT, after).await {
                    tracing::error!(%error, after, "saving the outbox checkpoint failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}

/// Whether a message left (or was refused for good), or shutdown came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Stopped,
}

/// Tries of a request Telegram answers with an error it does not explain.
const UNKNOWN_ERROR_TRIES: u32 = 5;

/// What to do after a failed request: give up on this message (`None`), or wait and retry.
fn after_failure(error: &RequestError, tries: u32) -> Option<Duration> {
    match error {
        RequestError::RetryAfter(after) => Some(after.duration()),
        RequestError::Api(ApiError::Unknown(_)) if tries < UNKNOWN_ERROR_TRIES => {
            Some(Duration::from_secs(1))
        }
        // Telegram's own words for "this will never work" (blocked, chat gone, …): skip.
        RequestError::Api(_) => None,
        _ => Some(Duration::from_millis(500)),
    }
}

/// Sends an invoice (Telegram Payments); its payload is the invoice id, which comes back in the
/// pre-checkout query and the successful payment.
async fn send_invoice<B>(
    bot: &B,
    token: &str,
    chat_id: i64,
    invoice: &InvoiceIssued,
    shutdown: &CancellationToken,
) -> Outcome
where
    B: Requester<Err = RequestError>,
{
    let prices: Vec<LabeledPrice> = invoice
        .lines
        .iter()
        .map(|l| LabeledPrice {
            label: format!("{} × {}", l.quantity, l.product_id),
            amount: u32::try_from(
                l.unit_price
                    .amount_minor
                    .saturating_mul(i64::from(l.quantity)),
            )
            .unwrap_or(u32::MAX),
        })
        .collect();
    let description: Vec<String> = invoice
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.product_id))
        .collect();
    let mut tries = 0;
    loop {
        tries += 1;
        let request = bot
            .send_invoice(
                ChatId(chat_id),
                format!("Order {}", invoice.invoice_id),
                description.join(", "),
                invoice.invoice_id.clone(),
                invoice.total.currency.as_str(),
                prices.clone(),
            )
            .provider_token(token);
        let error = match request.send().await {
            Ok(_) => {
                crate::metrics::telegram_send("invoice", "sent");
                return Outcome::Done;
            }
            Err(error) => error,
        };
        let Some(wait) = after_failure(&error, tries) else {
            crate::metrics::telegram_send("invoice", "refused");
            tracing::warn!(%error, chat_id, "Telegram refused an invoice; skipped");
            return Outcome::Done;
        };
        crate::metrics::telegram_send("invoice", "retried");
        tracing::warn!(%error, chat_id, "sending an invoice failed; retrying");
        tokio::select! {
            () = shutdown.cancelled() => return Outcome::Stopped,
            () = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
        }
    }
}

/// Sends one reply, retrying transient failures; a reply Telegram refuses for good (the user
/// blocked the bot, the chat is gone) or an erased one is skipped.
async fn deliver<B>(bot: &B, reply: &BotReplied, shutdown: &CancellationToken) -> Outcome
where
    B: Requester<Err = RequestError>,
{
    let (Some(chat_id), Some(text)) = (reply.chat_id, reply.text.as_deref()) else {
        return Outcome::Done;
    };
    let rows: Vec<Vec<InlineKeyboardButton>> = reply
        .buttons
        .iter()
        .filter(|b| b.data.len() <= MAX_CALLBACK_BYTES)
        .map(|b| {
            vec![InlineKeyboardButton::callback(
                b.label.clone(),
                b.data.clone(),
            )]
        })
        .collect();
    let mut tries = 0;
    loop {
        tries += 1;
        let mut request = bot.send_message(ChatId(chat_id), text);
        if !rows.is_empty() {
            request = request.reply_markup(InlineKeyboardMarkup::new(rows.clone()));
        }
        let error = match request.send().await {
            Ok(_) => {
                crate::metrics::telegram_send("reply", "sent");
                return Outcome::Done;
            }
            Err(error) => error,
        };
        let Some(wait) = after_failure(&error, tries) else {
            crate::metrics::telegram_send("reply", "refused");
            tracing::warn!(%error, chat_id, "Telegram refused a reply; skipped");
            return Outcome::Done;
        };
        crate::metrics::telegram_send("reply", "retried");
        tracing::warn!(%error, chat_id, "sending a reply failed; retrying");
        tokio::select! {
            () = shutdown.cancelled() => return Outcome::Stopped,
            () = tokio::time::sleep(wait.min(Duration::from_secs(30))) => {}
        }
    }
}
