//! What the bot made of a message: its intent, sentiment, kind, and who understood it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the user's message was taken to mean. Recorded on every `MessageReceived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Greeting,
    Help,
    Browse,
    ProductInfo,
    PriceInquiry,
    SpecsRequest,
    Preference,
    Compare,
    Purchase,
    Confirm,
    Cancel,
    Thanks,
    Goodbye,
    /// Media or anything else without text.
    NonText,
    CartAdd,
    CartRemove,
    CartUpdate,
    CartView,
    Checkout,
    ShopQuestion,
    /// Anything the bot did not understand; also how a reader reads an intent a newer release
    /// records, so an older projector never stops on one.
    #[serde(other)]
    Unknown,
}

impl Intent {
    pub const ALL: &'static [Intent] = &[
        Intent::Greeting,
        Intent::Help,
        Intent::Browse,
        Intent::ProductInfo,
        Intent::PriceInquiry,
        Intent::SpecsRequest,
        Intent::Preference,
        Intent::Compare,
        Intent::Purchase,
        Intent::Confirm,
        Intent::Cancel,
        Intent::Thanks,
        Intent::Goodbye,
        Intent::NonText,
        Intent::Unknown,
        Intent::CartAdd,
        Intent::CartRemove,
        Intent::CartUpdate,
        Intent::CartView,
        Intent::Checkout,
        Intent::ShopQuestion,
    ];

    /// The serde name (`price_inquiry`).
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Greeting => "greeting",
            Intent::Help => "help",
            Intent::Browse => "browse",
            Intent::ProductInfo => "product_info",
            Intent::PriceInquiry => "price_inquiry",
            Intent::SpecsRequest => "specs_request",
            Intent::Preference => "preference",
            Intent::Compare => "compare",
            Intent::Purchase => "purchase",
            Intent::Confirm => "confirm",
            Intent::Cancel => "cancel",
            Intent::Thanks => "thanks",
            Intent::Goodbye => "goodbye",
            Intent::NonText => "non_text",
            Intent::Unknown => "unknown",
            Intent::CartAdd => "cart_add",
            Intent::CartRemove => "cart_remove",
            Intent::CartUpdate => "cart_update",
            Intent::CartView => "cart_view",
            Intent::Checkout => "checkout",
            Intent::ShopQuestion => "shop_question",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    Positive,
    Neutral,
    Negative,
}

impl Sentiment {
    pub const ALL: &'static [Sentiment] =
        &[Sentiment::Positive, Sentiment::Neutral, Sentiment::Negative];

    /// The serde name (`positive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
        }
    }
}

/// The shape of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Text,
    Command,
    Photo,
    Sticker,
    /// A button press (Telegram callback query) the bot itself produced.
    Button,
    Other,
}

/// Who made sense of a message: the rules, or the LLM's proposal the rules accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnderstoodBy {
    Rules,
    Model,
    /// Neither: the intent is `unknown` (or the message had no text). Also how a reader reads a
    /// value a newer release records.
    #[serde(other)]
    Nobody,
}

impl UnderstoodBy {
    pub const ALL: &'static [UnderstoodBy] = &[
        UnderstoodBy::Rules,
        UnderstoodBy::Model,
        UnderstoodBy::Nobody,
    ];

    /// The serde name (`rules`).
    pub fn as_str(self) -> &'static str {
        match self {
            UnderstoodBy::Rules => "rules",
            UnderstoodBy::Model => "model",
            UnderstoodBy::Nobody => "nobody",
        }
    }
}
