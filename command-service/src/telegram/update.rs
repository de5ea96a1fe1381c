//! Reading a Telegram update: which user, what they did, and what the bot should do about it.
//! Pure: no network, no store. The table of what happens to each kind of update is in the
//! README ("Telegram").

use chrono::{DateTime, Utc};
use events_schema::{Channel, MessageKind, UserId};
use teloxide::types::{
    CallbackQueryId, ChatKind, MediaKind, Message, MessageKind as TgMessageKind,
    PreCheckoutQueryId, Update, UpdateKind, User,
};

use crate::engine::Inbound;

/// Who the bot is (from `getMe`): its id seeds the deterministic event ids, its username
/// tells when a group message is addressed to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: i64,
    pub username: String,
}

/// A payment Telegram reports as done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub currency: String,
    pub total_minor: i64,
    pub invoice_payload: String,
    pub telegram_charge_id: String,
    pub provider_charge_id: String,
}

/// What to do with one update.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// A message for the bot: record it and answer.
    Message { user: UserId, inbound: Inbound },
    /// A button press: always answer the query; record it if the bot made the button.
    Button {
        query_id: CallbackQueryId,
        user: UserId,
        inbound: Inbound,
    },
    /// Telegram asks whether to take a payment: only for open invoices the bot issued.
    PreCheckout {
        query_id: PreCheckoutQueryId,
        user: Option<UserId>,
        invoice_payload: String,
        currency: String,
        total_minor: i64,
    },
    /// Money arrived: always record it.
    Payment {
        user: UserId,
        chat_id: i64,
        at: DateTime<Utc>,
        payment: Payment,
    },
    /// Answered 200 and ignored on purpose.
    Ignore(&'static str),
}

/// The user's language as Telegram reports it, when it looks like an IETF language tag
/// (letters, digits and `-`, at most 35): it is stored in the clear, so anything else (a NUL,
/// which Postgres cannot store, or pages of text) is left out rather than refusing the message.
fn language(user: &User) -> Option<String> {
    user.language_code.clone().filter(|tag| {
        (1..=35).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

fn user_id(user: &User) -> Option<UserId> {
    UserId::new(Channel::Telegram, &user.id.0.to_string()).ok()
}

/// `payments`: confirmed purchases are paid by invoice (a provider token is configured).
pub fn read(update: &Update, me: &BotIdentity, now: DateTime<Utc>, payments: bool) -> Action {
    match &update.kind {
        UpdateKind::Message(message) => read_message(message, me, payments),
        UpdateKind::EditedMessage(_) => Action::Ignore("edited message: the original was answered"),
        UpdateKind::ChannelPost(_) | UpdateKind::EditedChannelPost(_) => {
            Action::Ignore("channel post: the bot sells in chats, not channels")
        }
        UpdateKind::CallbackQuery(query) => {
            let Some(user) = user_id(&query.from) else {
                return Action::Ignore("callback from an unreadable user id");
            };
            let chat_id = query.message.as_ref().map(|m| m.chat().id.0);
            Action::Button {
                query_id: query.id.clone(),
                user,
                inbound: Inbound {
                    channel: Channel::Telegram,
                    kind: MessageKind::Button,
                    text: query.data.clone(),
                    message_id: None,
                    chat_id,
                    username: query.from.username.clone(),
                    display_name: Some(query.from.first_name.clone()),
                    language: language(&query.from),
                    at: now,
                    payments,
                },
            }
        }
        UpdateKind::PreCheckoutQuery(query) => Action::PreCheckout {
            query_id: query.id.clone(),
            user: user_id(&query.from),
            invoice_payload: query.invoice_payload.clone(),
            currency: query.currency.clone(),
            total_minor: i64::from(query.total_amount),
        },
        _ => Action::Ignore("update kind the bot does not use"),
    }
}

fn read_message(message: &Message, me: &BotIdentity, payments: bool) -> Action {
    let Some(from) = message.from.as_ref() else {
        return Action::Ignore("message without a sender");
    };
    if from.is_bot {
        return Action::Ignore("message from a bot");
    }
    let Some(user) = user_id(from) else {
        return Action::Ignore("message from an unreadable user id");
    };
    if let Some(paid) = message.successful_payment() {
        return Action::Payment {
            user,
            chat_id: message.chat.id.0,
            at: message.date,
            payment: Payment {
                currency: paid.currency.clone(),
                total_minor: i64::from(paid.total_amount),
                invoice_payload: paid.invoice_payload.clone(),
                telegram_charge_id: paid.telegram_payment_charge_id.0.clone(),
                provider_charge_id: paid.provider_payment_charge_id.clone(),
            },
        };
    }
    let TgMessageKind::Common(common) = &message.kind else {
        return Action::Ignore("service message");
    };
    let (kind, text) = match &common.media_kind {
        MediaKind::Text(t) if t.text.starts_with('/') => {
            (MessageKind::Command, Some(t.text.clone()))
        }
        MediaKind::Text(t) => (MessageKind::Text, Some(t.text.clone())),
        MediaKind::Photo(p) => (MessageKind::Photo, p.caption.clone()),
        MediaKind::Sticker(_) => (MessageKind::Sticker, None),
        _ => (MessageKind::Other, message.caption().map(str::to_owned)),
    };
    let text = match &message.chat.kind {
        ChatKind::Private(_) => text,
        ChatKind::Public(_) => {
            // In groups the bot answers only what is addressed to it.
            let mention = format!("@{}", me.username.to_lowercase());
            let replying_to_bot = message
                .reply_to_message()
                .and_then(|m| m.from.as_ref())
                .is_some_and(|u| i64::try_from(u.id.0).ok() == Some(me.id));
            match text {
                Some(t) if t.to_lowercase().contains(&mention) => Some(strip_mention(&t, &mention)),
                Some(t) if replying_to_bot => Some(t),
                _ => return Action::Ignore("group message not addressed to the bot"),
            }
        }
    };
    Action::Message {
        user,
        inbound: Inbound {
            channel: Channel::Telegram,
            kind,
            text,
            message_id: Some(message.id.0.to_string()),
            chat_id: Some(message.chat.id.0),
            username: from.username.clone(),
            display_name: Some(from.first_name.clone()),
            language: language(from),
            at: message.date,
            payments,
        },
    }
}

/// `/start@demo_bot` → `/start`; `@demo_bot what phones?` → `what phones?`.
fn strip_mention(text: &str, mention: &str) -> String {
    let lower = text.to_lowercase();
    match lower.find(mention) {
        Some(at) if text.is_char_boundary(at) && text.is_char_boundary(at + mention.len()) => {
            format!("{}{}", &text[..at], &text[at + mention.len()..])
                .trim()
                .to_owned()
        }
        _ => text.to_owned(),
    }
}

/// The bot id of a token (`<bot id>:<secret>`).
pub(crate) fn bot_id_of_token(token: &str) -> Option<i64> {
    token.split_once(':')?.0.parse().ok()
}
