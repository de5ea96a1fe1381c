//! Test doubles of the outside world for this workspace's tests (feature `test-util`): a fake
//! Telegram Bot API server on loopback that records what the bot sent, and a fake
//! OpenAI-compatible chat endpoint.

pub mod fake_llm;
pub mod fake_telegram;
