//! The event contract of salesbot: every event type with its payload, the envelope that carries
//! it, schema versions, the upcasters that turn old stored versions into the current one, and the
//! JSON Schema generated from these types into `events-schema/schema/`.
//!
//! Nothing here does I/O; every other crate depends on this one and this one on none of them.

mod envelope;
mod events;
mod ids;
pub mod metrics;
mod money;
pub mod schema;
pub mod upcast;

pub use envelope::{NewEvent, RawEvent, RecordedEvent};
pub use events::{
    BotReplied, CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged,
    ConversationStarted, Event, EventType, Intent, InvoiceIssued, MessageKind, MessageReceived,
    OrderContact, OrderLine, OrderPlaced, Payload, PaymentMethod, PreferenceStated, PriceInquired,
    ProductViewed, PurchaseIntended, PurchaseQuantityChanged, ReplyButton, Sentiment,
    ShopQuestionAsked, SpecsRequested, UnderstoodBy, UserErased, ViewSource,
};
pub use ids::{Channel, IdError, StreamId, UserId};
pub use money::{Currency, Money, MoneyError};
