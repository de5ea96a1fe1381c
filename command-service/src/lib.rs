//! command-service: the bot. It talks to shoppers on Telegram and the web chat, decides each
//! reply from the user's own stream of events (pure functions in [`engine`]), and appends the
//! new events to the log. It depends on `events-schema` and `event-store`, never on the other
//! services.

pub mod catalog;
pub mod engine;
pub mod language;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod service;
pub mod state_cache;
pub mod telegram;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod web;
