//! Every v1 event with its payload. A change to a payload is a new version with an upcaster in
//! `upcast.rs`; field names here are the stable JSON names of the log.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::Channel;
use crate::money::Money;

/// What every payload type declares about itself.
pub trait Payload: Serialize + DeserializeOwned + JsonSchema {
    /// The `event_type` of the envelope.
    const EVENT_TYPE: EventType;
    /// The current `schema_version`; stored older versions are upcast to it on read.
    const VERSION: u32;
    /// Top-level payload fields holding personal data. They are stored encrypted with the user's
    /// key and read back as `null` once the user is erased, so each must be nullable.
    const PERSONAL_FIELDS: &'static [&'static str];
}

macro_rules! events {
    ($( $(#[$doc:meta])* $name:ident version $version:literal personal [$($field:literal),*] ),* $(,)?) => {
        /// The name of an event type, as stored in `event_type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum EventType {
            $( $name, )*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$( EventType::$name, )*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( EventType::$name => stringify!($name), )*
                }
            }

            pub fn parse(s: &str) -> Option<EventType> {
                match s {
                    $( stringify!($name) => Some(EventType::$name), )*
                    _ => None,
                }
            }

            /// The schema version new events of this type are written with.
            pub fn current_version(self) -> u32 {
                match self {
                    $( EventType::$name => $version, )*
                }
            }

            /// Personal fields of the current version.
            pub fn personal_fields(self) -> &'static [&'static str] {
                match self {
                    $( EventType::$name => <$name as Payload>::PERSONAL_FIELDS, )*
                }
            }
        }

        impl std::fmt::Display for EventType {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(
            impl Payload for $name {
                const EVENT_TYPE: EventType = EventType::$name;
                const VERSION: u32 = $version;
                const PERSONAL_FIELDS: &'static [&'static str] = &[$($field),*];
            }

            impl From<$name> for Event {
                fn from(p: $name) -> Event {
                    Event::$name(p)
                }
            }
        )*

        /// One event: its type and its payload (current version).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(tag = "event_type", content = "payload")]
        pub enum Event {
            $( $(#[$doc])* $name($name), )*
        }

        impl Event {
            pub fn event_type(&self) -> EventType {
                match self {
                    $( Event::$name(_) => EventType::$name, )*
                }
            }

            /// The payload alone, as the JSON object stored in the log.
            pub fn payload_json(&self) -> serde_json::Result<serde_json::Value> {
                match self {
                    $( Event::$name(p) => serde_json::to_value(p), )*
                }
            }

            /// Parses a current-version payload of the given type.
            pub fn from_payload(
                event_type: EventType,
                payload: serde_json::Value,
            ) -> serde_json::Result<Event> {
                Ok(match event_type {
                    $( EventType::$name => Event::$name(serde_json::from_value(payload)?), )*
                })
            }

            /// Parses a current-version payload of the given type from JSON text, straight into
            /// its type (no `serde_json::Value` in between).
            pub fn from_payload_str(event_type: EventType, payload: &str) -> serde_json::Result<Event> {
                Ok(match event_type {
                    $( EventType::$name => Event::$name(serde_json::from_str(payload)?), )*
                })
            }

            /// The JSON Schema of each current payload, by event type.
            pub fn payload_schemas() -> Vec<(EventType, u32, schemars::Schema)> {
                vec![$( (EventType::$name, $version, schemars::schema_for!($name)), )*]
            }
        }
    };
}

events! {
    /// A session began: the user's first message, or the first after 30 minutes of silence.
    ConversationStarted version 1 personal ["username", "display_name"],
    /// The user sent something: text, a command, or media without text.
    MessageReceived version 2 personal ["text"],
    /// The bot answered. It is also the outbox: a reply is sent from this event.
    BotReplied version 1 personal ["text"],
    /// The user looked at one product.
    ProductViewed version 1 personal [],
    /// The user asked the price of one product.
    PriceInquired version 1 personal [],
    /// The user asked for the specifications of one product.
    SpecsRequested version 1 personal [],
    /// The user said what they want: a budget, a category, a need, or several.
    PreferenceStated version 2 personal [],
    /// The user said they want to buy a quantity of one product.
    PurchaseIntended version 1 personal [],
    /// The user lowered the quantity of the purchase waiting for their yes ("actually just
    /// 2"). No purchase intent: intents are never taken back (a raise appends a
    /// `PurchaseIntended` for the difference instead).
    PurchaseQuantityChanged version 1 personal [],
    /// An invoice for a confirmed purchase was issued (Telegram Payments); the order is placed
    /// when it is paid.
    InvoiceIssued version 1 personal [],
    /// An order was placed (confirmed in chat, or paid through Telegram Payments).
    OrderPlaced version 1 personal ["contact"],
    /// The user's personal data was erased (their key destroyed). Aggregates keep counting them.
    UserErased version 1 personal [],
    /// A product went into the user's cart (a purchase intent too: `PurchaseIntended` follows).
    CartItemAdded version 1 personal [],
    /// A product left the cart.
    CartItemRemoved version 1 personal [],
    /// The quantity of a cart line changed.
    CartQuantityChanged version 1 personal [],
    /// The whole cart was ordered (with `OrderPlaced`, or `InvoiceIssued` on Telegram Payments);
    /// the cart is empty afterwards.
    CartCheckedOut version 1 personal [],
    /// The user asked about the shop: a policy topic or one of its FAQ entries.
    ShopQuestionAsked version 1 personal [],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationStarted {
    pub channel: Channel,
    /// The user's handle on the channel (Telegram `username`). Personal.
    pub username: Option<String>,
    /// The name the user goes by (Telegram `first_name`). Personal.
    pub display_name: Option<String>,
    /// IETF language tag the channel reported, e.g. `en`.
    pub language: Option<String>,
    /// Whether the user had a session before this one.
    pub returning: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageReceived {
    pub kind: MessageKind,
    /// The channel's id of the message (Telegram `message_id`), when it has one.
    pub message_id: Option<String>,
    /// What the user wrote. Personal; `null` for media without text and once erased.
    pub text: Option<String>,
    pub intent: Intent,
    pub sentiment: Sentiment,
    /// The product the message was about, when one was recognised.
    pub product_id: Option<String>,
    /// The language the bot read the message in and answered in (ISO 639-1, `es`); `null` in
    /// messages recorded before v2.
    pub language: Option<String>,
    /// Who made sense of the message.
    pub understood_by: UnderstoodBy,
}

/// An inline button offered with a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReplyButton {
    pub label: String,
    /// Callback data the bot recognises when the button is pressed, e.g. `buy:phone-x1`.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BotReplied {
    pub channel: Channel,
    /// The `event_id` of the message answered.
    pub in_reply_to: Option<Uuid>,
    /// Telegram chat to deliver to; `null` for web chat, which gets the reply in the response.
    pub chat_id: Option<i64>,
    /// The reply. Personal, since it may address the user by name.
    pub text: Option<String>,
    #[serde(default)]
    pub buttons: Vec<ReplyButton>,
    /// Products the reply offered, in order, so "the second one" can be resolved later.
    #[serde(default)]
    pub products: Vec<String>,
}

/// How the user came to look at a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViewSource {
    /// Named it in a message.
    Mention,
    /// Picked it from a list the bot offered ("the second one").
    Reference,
    /// Pressed an inline button.
    Button,
    /// Asked to compare it with another.
    Comparison,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProductViewed {
    pub product_id: String,
    pub source: ViewSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PriceInquired {
    pub product_id: String,
    /// The price quoted to the user.
    pub price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SpecsRequested {
    pub product_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreferenceStated {
    /// The most the user wants to spend.
    pub budget: Option<Money>,
    /// A catalog category the user is interested in.
    pub category: Option<String>,
    /// The least the user wants to spend ("between 300 and 600").
    pub budget_min: Option<Money>,
    /// A need the user stated, as the id of one of the catalog's uses (`photography`).
    pub use_case: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PurchaseIntended {
    pub product_id: String,
    pub quantity: u32,
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderLine {
    pub product_id: String,
    pub quantity: u32,
    pub unit_price: Money,
}

/// How an order was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Confirmed in chat; paid on delivery or by the shop's own means.
    ChatConfirmation,
    /// Paid through Telegram Payments.
    TelegramPayments {
        telegram_payment_charge_id: String,
        provider_payment_charge_id: String,
        /// Set when the payment matched no invoice the bot issued: money is never dropped, it is
        /// recorded and flagged for the admin.
        #[serde(default)]
        flagged: bool,
    },
}

/// Delivery contact details given with a payment. Personal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub shipping_address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OrderPlaced {
    pub order_id: String,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub payment: PaymentMethod,
    /// Personal; `null` when none was given and once erased.
    pub contact: Option<OrderContact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct InvoiceIssued {
    /// Also the invoice payload Telegram echoes back, and the order id once paid.
    pub invoice_id: String,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// The Telegram chat the invoice goes to.
    pub chat_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartItemAdded {
    pub product_id: String,
    pub quantity: u32,
    /// The price when it was added; checkout checks it again.
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartItemRemoved {
    pub product_id: String,
    /// The quantity the line had.
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartQuantityChanged {
    pub product_id: String,
    pub from: u32,
    pub to: u32,
    /// The price at the change.
    pub unit_price: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PurchaseQuantityChanged {
    pub product_id: String,
    pub from: u32,
    pub to: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CartCheckedOut {
    /// The order (or the invoice, on Telegram Payments) the cart became.
    pub order_id: String,
    /// The lines ordered, at the prices confirmed at checkout.
    pub lines: Vec<OrderLine>,
    pub total: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ShopQuestionAsked {
    /// A policy topic (`shipping`, `delivery`, `returns`, `warranty`, `payment`, `contact`,
    /// `hours`) or the id of one of the shop's FAQ entries.
    pub topic: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserErased {
    /// Who asked for the erasure, e.g. `admin-api` or `cli`.
    pub requested_by: String,
}

#[cfg(test)]
pub(crate) mod examples;
mod reading;
#[cfg(test)]
mod tests;

pub use reading::{Intent, MessageKind, Sentiment, UnderstoodBy};
