//! The outbox sender: follows the log and sends every `BotReplied` addressed to a Telegram
//! chat, in order, then moves its checkpoint. A reply committed before a crash is sent after
//! the restart; a redelivered update appended nothing, so nothing is sent twice for it. (A
//! crash between a send and its checkpoint resends that one reply: at-least-once.)

use std::future::Future;
use std::time::Duration;

use event_store::{EventStore, StoreError};
use events_schema::{BotReplied, Channel, Event};
use teloxide::RequestError;
use teloxide::payloads::SendMessageSetters as _;
use teloxide::requests::{Request as _, Requester};
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup};
use tokio::sync::Notify;

/// The checkpoint's name in the store.
pub const CHECKPOINT: &str = "telegram-outbox";
const BATCH: usize = 500;
/// Telegram's limit on callback data.
const MAX_CALLBACK_BYTES: usize = 64;

/// Runs until `shutdown`. On its very first start it begins at the current head: replies from
/// before Telegram was enabled are history, not mail.
pub async fn run<B>(
    store: EventStore,
    bot: B,
    wake: std::sync::Arc<Notify>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StoreError>
where
    B: Requester<Err = RequestError>,
{
    let mut after = match store.checkpoint(CHECKPOINT).await? {
        Some(position) => position,
        None => {
            let head = store.head_position().await?;
            store.save_checkpoint(CHECKPOINT, head).await?;
            head
        }
    };
    tokio::pin!(shutdown);
    loop {
        let batch = match store.read_all(after, BATCH).await {
            Ok(b) => b,
            Err(error) => {
                tracing::error!(%error, after, "outbox cannot read the log; retrying");
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                () = wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            continue;
        }
        for event in batch {
            if let Event::BotReplied(reply) = &event.event
                && reply.channel == Channel::Telegram
            {
                deliver(&bot, reply, &mut shutdown).await;
            }
            after = event.global_position;
            store.save_checkpoint(CHECKPOINT, after).await?;
        }
    }
}

/// Sends one reply, retrying transient failures; a reply Telegram refuses for good (the user
/// blocked the bot, the chat is gone) or an erased one is skipped.
async fn deliver<B>(
    bot: &B,
    reply: &BotReplied,
    shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
) where
    B: Requester<Err = RequestError>,
{
    let (Some(chat_id), Some(text)) = (reply.chat_id, reply.text.as_deref()) else {
        return;
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
    let mut wait = Duration::from_millis(500);
    loop {
        let mut request = bot.send_message(ChatId(chat_id), text);
        if !rows.is_empty() {
            request = request.reply_markup(InlineKeyboardMarkup::new(rows.clone()));
        }
        match request.send().await {
            Ok(_) => return,
            Err(RequestError::Api(error)) => {
                tracing::warn!(%error, chat_id, "Telegram refused a reply; skipped");
                return;
            }
            Err(RequestError::RetryAfter(after)) => wait = after.duration(),
            Err(error) => tracing::warn!(%error, chat_id, "sending a reply failed; retrying"),
        }
        tokio::select! {
            () = shutdown.as_mut() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}
