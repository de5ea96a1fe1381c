//! What the bot reports to the process's metrics recorder (docs/architecture.md, "Operating").
//! Labels are enums (channel, intent, outcome), never user ids.

use std::time::Duration;

use events_schema::{Channel, Event};

/// Messages recorded, by channel and intent.
pub(crate) const MESSAGES: &str = "salesbot_messages_total";
/// Telegram sends (replies and invoices), by kind and outcome.
pub(crate) const TELEGRAM_SENDS: &str = "salesbot_telegram_sends_total";
/// Errors of the Telegram outbox sender (store or lease), by where they happened.
pub(crate) const TELEGRAM_SENDER_ERRORS: &str = "salesbot_telegram_sender_errors_total";
/// Calls to the LLM, by purpose and outcome.
pub(crate) const LLM_CALLS: &str = "salesbot_llm_calls_total";
/// How long an LLM call took, by purpose.
pub(crate) const LLM_SECONDS: &str = "salesbot_llm_call_seconds";
/// Answers the rules gave alone because the model gave nothing usable, by purpose.
pub(crate) const LLM_FALLBACKS: &str = "salesbot_llm_fallbacks_total";

pub fn describe() {
    metrics::describe_counter!(
        MESSAGES,
        "Shopper messages recorded, by channel and by the intent the bot read."
    );
    metrics::describe_counter!(
        TELEGRAM_SENDS,
        "Telegram sends by kind (reply, invoice) and outcome (sent, retried, refused: Telegram \
         said no for good, the reply is skipped)."
    );
    metrics::describe_counter!(
        TELEGRAM_SENDER_ERRORS,
        "Errors of the Telegram outbox sender by stage (lease, checkpoint, read, status); it \
         retries with backoff, and /health turns 503 while it keeps failing with replies waiting."
    );
    metrics::describe_counter!(
        LLM_CALLS,
        "Calls to the LLM by purpose (understand, reply) and outcome (ok, error)."
    );
    metrics::describe_histogram!(
        LLM_SECONDS,
        metrics::Unit::Seconds,
        "Time an LLM call took, by purpose, failed ones included."
    );
    metrics::describe_counter!(
        LLM_FALLBACKS,
        "Messages where the model gave nothing usable and the rules answered alone, by purpose."
    );
}

/// Counts the shopper messages among events just recorded for a user of `channel`.
pub(crate) fn recorded(channel: Channel, events: &[events_schema::NewEvent]) {
    for e in events {
        if let Event::MessageReceived(m) = &e.event {
            metrics::counter!(
                MESSAGES,
                "channel" => channel.as_str(),
                "intent" => m.intent.as_str()
            )
            .increment(1);
        }
    }
}

/// The outbox sender failed at `stage` and will retry.
pub(crate) fn telegram_sender_error(stage: &'static str) {
    metrics::counter!(TELEGRAM_SENDER_ERRORS, "stage" => stage).increment(1);
}

/// What one Telegram send came to.
pub(crate) fn telegram_send(kind: &'static str, outcome: &'static str) {
    metrics::counter!(TELEGRAM_SENDS, "kind" => kind, "outcome" => outcome).increment(1);
}

/// One LLM call.
pub(crate) fn llm_call(purpose: &'static str, ok: bool, took: Duration) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!(LLM_CALLS, "purpose" => purpose, "outcome" => outcome).increment(1);
    metrics::histogram!(LLM_SECONDS, "purpose" => purpose).record(took.as_secs_f64());
}

/// The rules answered alone.
pub(crate) fn llm_fallback(purpose: &'static str) {
    metrics::counter!(LLM_FALLBACKS, "purpose" => purpose).increment(1);
}
