//! The outbox sender: follows the log and sends every `BotReplied` addressed to a Telegram
//! chat (and every invoice), in order, then moves its checkpoint. One process at a time holds
//! its lease and sends; others stand by. A reply committed before a crash is sent after
//! the restart; a redelivered update appended nothing, so nothing is sent twice for it.
//!
//! Every send is fenced by the lease (docs/architecture.md, "The Telegram outbox sender"): the
//! holder renews it right before each send (a send starts within [`RENEWAL_VALID`] of a renewal
//! that began before it), each HTTP send is abandoned after [`SEND_TIMEOUT`], and a new holder
//! that cannot tell the previous one let go cleanly waits [`TAKEOVER_WAIT`], longer than both,
//! before its first send. So no two holders ever send at once; a crash (or a lost lease) between
//! a send and its checkpoint still resends that one reply, at most once.
//!
//! The sender is supervised: a store or lease error is logged, counted, shown by `/health` and
//! persisted for `salesbot check`, and the sender tries again with backoff (250 ms doubling to
//! 30 s), never ending before shutdown.

use std::time::Duration;

use event_store::progress::followers::HolderState;
use event_store::{BackendKind, EventStore, Lease, StoreError};
use events_schema::{BotReplied, Channel, Event, InvoiceIssued};
use teloxide::payloads::{SendInvoiceSetters as _, SendMessageSetters as _};
use teloxide::requests::{Request as _, Requester};
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::pace::Pace;
pub use super::status::{SenderHealth, SenderState, SenderStatus};

/// The checkpoint's name in the store (also the sender's lease and its `follower_status` row).
pub const CHECKPOINT: &str = "telegram-outbox";
const BATCH: usize = 500;
/// Telegram's limit on callback data.
const MAX_CALLBACK_BYTES: usize = 64;

/// A send starts at most this long after the start of a successful renewal of the lease.
pub const RENEWAL_VALID: Duration = Duration::from_secs(2);
/// An HTTP send to Telegram still unanswered after this long is abandoned (and retried).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// A new holder waits this long before its first send unless the previous holder released the
/// lease cleanly: by then any send the previous holder started has been answered or abandoned.
pub const TAKEOVER_WAIT: Duration =
    Duration::from_secs(RENEWAL_VALID.as_secs() + SEND_TIMEOUT.as_secs() + 1);
/// How often a standby instance asks for the lease.
const STANDBY: Duration = Duration::from_secs(2);
/// How often an idle holder checks its lease and reports itself in `follower_status`.
const BEAT: Duration = Duration::from_secs(2);
/// Backoff after a failed attempt: from the first to the longest wait, doubling.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

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

/// Runs until `shutdown` is cancelled (after [`prepare`]), whatever fails on the way: errors
/// are retried with backoff and reported through `health`.
pub async fn run<B>(
    store: EventStore,
    bot: B,
    payment_token: Option<String>,
    wake: std::sync::Arc<Notify>,
    health: SenderHealth,
    shutdown: CancellationToken,
) where
    B: Requester<Err = RequestError>,
{
    let sender = Sender {
        store: &store,
        bot: &bot,
        payment_token: payment_token.as_deref(),
        wake: &wake,
        health: &health,
        pace: &Pace::new(),
        instance: format!("pid{}-{:08x}", std::process::id(), rand::random::<u32>()),
    };
    let mut backoff = BACKOFF_FIRST;
    loop {
        match sender.attempt(&mut backoff, &shutdown).await {
            Ok(Stop::Shutdown) => break,
            Ok(Stop::Standby) => {}
            Ok(Stop::LeaseLost) => tracing::warn!("the outbox lease was lost; asking for it again"),
            Err(failure) => {
                crate::metrics::telegram_sender_error(failure.stage);
                let error = failure.error.to_string();
                tracing::error!(
                    %error,
                    stage = failure.stage,
                    retry_in = ?backoff,
                    "the Telegram outbox sender failed; retrying"
                );
                health.failed(&error);
                if let Some(epoch) = failure.epoch {
                    sender
                        .report(epoch, HolderState::Failing, Some(&error))
                        .await;
                }
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
    health.set(SenderState::Stopped);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Shutdown,
    /// Another instance holds the lease: this one waited and will ask again.
    Standby,
    LeaseLost,
}

/// A failed attempt: where, why, and under which epoch (when the lease was claimed).
struct Failure {
    stage: &'static str,
    error: StoreError,
    epoch: Option<i64>,
}

fn failed(stage: &'static str, epoch: Option<i64>) -> impl FnOnce(StoreError) -> Failure {
    move |error| Failure {
        stage,
        error,
        epoch,
    }
}

struct Sender<'a, B> {
    store: &'a EventStore,
    bot: &'a B,
    payment_token: Option<&'a str>,
    wake: &'a Notify,
    health: &'a SenderHealth,
    /// Telegram's limits, kept before every send.
    pace: &'a Pace,
    /// This run of the sender, as `follower_status` names its holder.
    instance: String,
}

impl<B> Sender<'_, B>
where
    B: Requester<Err = RequestError>,
{
    /// Takes the lease (or stands by), fences off a previous holder, follows the log.
    async fn attempt(
        &self,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
    ) -> Result<Stop, Failure> {
        let lease = self
            .store
            .try_lease(CHECKPOINT)
            .await
            .map_err(failed("lease", None))?;
        let Some(mut lease) = lease else {
            self.health.set(SenderState::Standby);
            *backoff = BACKOFF_FIRST;
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                () = tokio::time::sleep(STANDBY) => return Ok(Stop::Standby),
            }
        };
        let (previous, epoch) = self
            .store
            .claim_follower(CHECKPOINT, &self.instance)
            .await
            .map_err(failed("status", None))?;
        // A previous holder that did not let go cleanly may still be in the middle of a send
        // (its connection was cut, it does not know yet): wait until that send is over. Our own
        // earlier attempts are over (they ran before this one); SQLite has one process.
        let unclean =
            previous.filter(|p| p.state != HolderState::Released && p.instance != self.instance);
        if let Some(previous) = unclean
            && self.store.pool().kind() == BackendKind::Postgres
        {
            tracing::info!(
                previous = %previous.instance,
                wait = ?TAKEOVER_WAIT,
                "took over the Telegram outbox lease; waiting out the previous holder's last send"
            );
            tokio::select! {
                () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                () = tokio::time::sleep(TAKEOVER_WAIT) => {}
            }
        }
        tracing::info!(epoch, "this process sends the Telegram outbox");
        let stop = self.follow(&mut lease, epoch, backoff, shutdown).await?;
        if stop == Stop::Shutdown {
            // The last send has ended: the next holder need not wait for this one.
            self.report(epoch, HolderState::Released, None).await;
        }
        Ok(stop)
    }

    /// Writes this holder's status (best effort: a failure here is logged, the sender goes on).
    async fn report(&self, epoch: i64, state: HolderState, error: Option<&str>) -> bool {
        match self
            .store
            .report_follower(CHECKPOINT, epoch, state, error)
            .await
        {
            Ok(current) => current,
            Err(e) => {
                tracing::warn!(error = %e, "recording the outbox sender's status failed");
                true
            }
        }
    }

    async fn follow(
        &self,
        lease: &mut Lease,
        epoch: i64,
        backoff: &mut Duration,
        shutdown: &CancellationToken,
    ) -> Result<Stop, Failure> {
        let store = self.store;
        let at = |stage| failed(stage, Some(epoch));
        prepare(store).await.map_err(at("checkpoint"))?;
        let mut after = store
            .checkpoint(CHECKPOINT)
            .await
            .map_err(at("checkpoint"))?
            .unwrap_or(0);
        let mut beat: Option<Instant> = None;
        loop {
            if beat.is_none_or(|b| b.elapsed() >= BEAT) {
                if !lease.is_held().await {
                    return Ok(Stop::LeaseLost);
                }
                let current = store
                    .report_follower(CHECKPOINT, epoch, HolderState::Holding, None)
                    .await
                    .map_err(at("status"))?;
                if !current {
                    // A newer holder has claimed the lease.
                    return Ok(Stop::LeaseLost);
                }
                beat = Some(Instant::now());
            }
            let batch = store.read_all(after, BATCH).await.map_err(at("read"))?;
            self.health.set(SenderState::Holding);
            *backoff = BACKOFF_FIRST;
            if batch.is_empty() {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(Stop::Shutdown),
                    () = self.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                continue;
            }
            // Only a sent message needs its checkpoint saved before the next send (or it would
            // be sent again); events that send nothing (most of the log: the web chat's, every
            // fact) are passed over and saved once per batch.
            let mut unsaved = false;
            for event in batch {
                if shutdown.is_cancelled() {
                    // Between sends: what is passed over is saved by the next holder's walk.
                    return Ok(Stop::Shutdown);
                }
                let outcome = match &event.event {
                    Event::BotReplied(reply) if reply.channel == Channel::Telegram => {
                        Some(deliver(self.bot, self.pace, reply, lease, shutdown).await)
                    }
                    Event::InvoiceIssued(invoice) => match (self.payment_token, invoice.chat_id) {
                        (Some(token), Some(chat_id)) => Some(
                            send_invoice(
                                self.bot, self.pace, token, chat_id, invoice, lease, shutdown,
                            )
                            .await,
                        ),
                        _ => None,
                    },
                    _ => None,
                };
                match outcome {
                    None => {
                        after = event.global_position;
                        unsaved = true;
                        continue;
                    }
                    Some(Outcome::Done) => after = event.global_position,
                    // Not sent: the checkpoint stays before it, so the next holder sends it.
                    Some(Outcome::Stopped) => return Ok(Stop::Shutdown),
                    Some(Outcome::LeaseLost) => return Ok(Stop::LeaseLost),
                }
                if let Some(stop) = self.save(after, lease, epoch, shutdown).await {
                    return Ok(stop);
                }
                unsaved = false;
            }
            if unsaved && let Some(stop) = self.save(after, lease, epoch, shutdown).await {
                return Ok(stop);
            }
        }
    }

    /// Saves the checkpoint, retrying with backoff (the reply is sent: starting over from the
    /// old checkpoint would send it again). `Some` when shutdown or a lost lease comes first;
    /// the next holder then resends that one reply.
    async fn save(
        &self,
        after: i64,
        lease: &mut Lease,
        epoch: i64,
        shutdown: &CancellationToken,
    ) -> Option<Stop> {
        let mut wait = BACKOFF_FIRST;
        loop {
            let error = match self.store.save_checkpoint(CHECKPOINT, after).await {
                Ok(()) => return None,
                Err(error) => error.to_string(),
            };
            crate::metrics::telegram_sender_error("checkpoint");
            tracing::error!(%error, after, retry_in = ?wait, "saving the outbox checkpoint failed; retrying");
            self.health.failed(&error);
            self.report(epoch, HolderState::Failing, Some(&error)).await;
            tokio::select! {
                () = shutdown.cancelled() => return Some(Stop::Shutdown),
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(BACKOFF_MAX);
            if !lease.is_held().await {
                return Some(Stop::LeaseLost);
            }
        }
    }
}

/// Renews the lease right before a send: `false` when it is lost. A renewal slower than
/// [`RENEWAL_VALID`] is repeated, so a send always starts within that of a renewal's start.
async fn renew(lease: &mut Lease) -> bool {
    loop {
        let started = Instant::now();
        if !lease.is_held().await {
            return false;
        }
        if started.elapsed() < RENEWAL_VALID {
            return true;
        }
    }
}

/// Waits until a message to `chat_id` keeps Telegram's limits, then renews the lease (so the
/// send starts within [`RENEWAL_VALID`] of the renewal, however long the wait): `None` when
/// the message may go now.
async fn ready(
    pace: &Pace,
    chat_id: i64,
    lease: &mut Lease,
    shutdown: &CancellationToken,
) -> Option<Outcome> {
    if !pace.wait(chat_id, shutdown).await {
        return Some(Outcome::Stopped);
    }
    if !renew(lease).await {
        return Some(Outcome::LeaseLost);
    }
    None
}

/// Whether a message left (or was refused for good), or shutdown or a lost lease came first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Stopped,
    LeaseLost,
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
#[allow(clippy::too_many_arguments)]
async fn send_invoice<B>(
    bot: &B,
    pace: &Pace,
    token: &str,
    chat_id: i64,
    invoice: &InvoiceIssued,
    lease: &mut Lease,
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
        if let Some(stop) = ready(pace, chat_id, lease, shutdown).await {
            return stop;
        }
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
        let error = match tokio::time::timeout(SEND_TIMEOUT, request.send()).await {
            Ok(Ok(_)) => {
                crate::metrics::telegram_send("invoice", "sent");
                return Outcome::Done;
            }
            Ok(Err(error)) => error,
            Err(_) => {
                crate::metrics::telegram_send("invoice", "timed_out");
                tracing::warn!(
                    chat_id,
                    "Telegram did not answer an invoice in time; retrying"
                );
                if pause(Duration::from_millis(500), shutdown).await {
                    return Outcome::Stopped;
                }
                continue;
            }
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
async fn deliver<B>(
    bot: &B,
    pace: &Pace,
    reply: &BotReplied,
    lease: &mut Lease,
    shutdown: &CancellationToken,
) -> Outcome
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
        if let Some(stop) = ready(pace, chat_id, lease, shutdown).await {
            return stop;
        }
        let mut request = bot.send_message(ChatId(chat_id), text);
        if !rows.is_empty() {
            request = request.reply_markup(InlineKeyboardMarkup::new(rows.clone()));
        }
        let error = match tokio::time::timeout(SEND_TIMEOUT, request.send()).await {
            Ok(Ok(_)) => {
                crate::metrics::telegram_send("reply", "sent");
                return Outcome::Done;
            }
            Ok(Err(error)) => error,
            Err(_) => {
                // Telegram may still have taken it: the retry may show the shopper this reply
                // twice (the one reply in flight, docs/architecture.md).
                crate::metrics::telegram_send("reply", "timed_out");
                tracing::warn!(chat_id, "Telegram did not answer a reply in time; retrying");
                if pause(Duration::from_millis(500), shutdown).await {
                    return Outcome::Stopped;
                }
                continue;
            }
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

/// Waits `wait`; `true` when shutdown came first.
async fn pause(wait: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        () = shutdown.cancelled() => true,
        () = tokio::time::sleep(wait) => false,
    }
}
