//! What the store reports to the process's metrics recorder (the `metrics` facade; the binary
//! installs the Prometheus exporter and serves `/metrics`). Names and labels are listed in
//! docs/architecture.md, "Operating"; labels are enums, never user ids.

use std::time::Duration;

/// Events per group-commit batch.
pub const APPEND_BATCH_EVENTS: &str = "salesbot_append_batch_events";
/// Appends (callers) per group-commit batch.
pub const APPEND_BATCH_APPENDS: &str = "salesbot_append_batch_appends";
/// Time to write and commit one batch.
pub const APPEND_COMMIT_SECONDS: &str = "salesbot_append_commit_seconds";
/// Appends answered, by outcome.
pub const APPENDS: &str = "salesbot_appends_total";

/// Says what each metric above means (the `# HELP` lines); call once after installing a
/// recorder.
pub fn describe() {
    metrics::describe_histogram!(
        APPEND_BATCH_EVENTS,
        metrics::Unit::Count,
        "Events written by one group-commit batch."
    );
    metrics::describe_histogram!(
        APPEND_BATCH_APPENDS,
        metrics::Unit::Count,
        "Appends (callers) served by one group-commit batch."
    );
    metrics::describe_histogram!(
        APPEND_COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "Time to write and commit one group-commit batch."
    );
    metrics::describe_counter!(
        APPENDS,
        "Appends answered, by outcome (ok, duplicate, conflict, invalid, failed)."
    );
}

/// One batch: its size and how long it took.
pub(crate) fn batch(appends: usize, events: usize, took: Duration) {
    metrics::histogram!(APPEND_BATCH_APPENDS).record(appends as f64);
    metrics::histogram!(APPEND_BATCH_EVENTS).record(events as f64);
    metrics::histogram!(APPEND_COMMIT_SECONDS).record(took.as_secs_f64());
}

/// One append's answer.
pub(crate) fn append(result: &Result<crate::Appended, crate::AppendError>) {
    let outcome = match result {
        Ok(a) if a.duplicate => "duplicate",
        Ok(_) => "ok",
        Err(crate::AppendError::Conflict { .. }) => "conflict",
        Err(crate::AppendError::PartialDuplicate(_)) => "duplicate",
        Err(crate::AppendError::Invalid(_)) => "invalid",
        Err(_) => "failed",
    };
    metrics::counter!(APPENDS, "outcome" => outcome).increment(1);
}
