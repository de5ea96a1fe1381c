//! Test doubles of the outside world for this workspace's tests (feature `test-util`): a fake
//! Telegram Bot API server on loopback that records what the bot sent.

pub mod fake_telegram;
