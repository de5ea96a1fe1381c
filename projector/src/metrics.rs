//! What the projector reports to the process's metrics recorder (docs/architecture.md,
//! "Operating").

use std::time::Duration;

/// Time to apply one batch (fold, write, move the checkpoints, commit).
pub const APPLY_SECONDS: &str = "salesbot_projector_apply_seconds";
/// Events a batch carried, by whether any projection was behind them.
pub const EVENTS: &str = "salesbot_projector_events_total";
/// What JetStream delivered that did not count as delivered: again, foreign, or missing.
pub const STREAM_ANOMALIES: &str = "salesbot_projector_stream_anomalies_total";
/// Events parked because they could not be decoded, and parked events applied since.
pub const PARKED: &str = "salesbot_projector_parked_total";

pub fn describe() {
    metrics::describe_histogram!(
        APPLY_SECONDS,
        metrics::Unit::Seconds,
        "Time to apply one projector batch: fold, write the read tables, move the \
         checkpoints, commit."
    );
    metrics::describe_counter!(
        EVENTS,
        "Events in applied batches: `applied` when a projection was behind them, `skipped` \
         when every projection had them already (a redelivery)."
    );
    metrics::describe_counter!(
        STREAM_ANOMALIES,
        "What the stream did not deliver as it should: `redelivered` (a message delivered \
         again after its ack wait), `foreign` (a message that is not the store's event at its \
         position; ignored), `from_store` (an event the stream lacked, applied from the store)."
    );
    metrics::describe_counter!(
        PARKED,
        "Events parked (`parked`: they could not be decoded, or wait behind one of their stream \
         that could not) and parked events applied once they decoded (`applied`)."
    );
}

pub(crate) fn parked(n: usize) {
    if n > 0 {
        metrics::counter!(PARKED, "outcome" => "parked").increment(n as u64);
    }
}

pub(crate) fn unparked(n: usize) {
    if n > 0 {
        metrics::counter!(PARKED, "outcome" => "applied").increment(n as u64);
    }
}

pub(crate) fn redelivered(n: usize) {
    anomalies("redelivered", n);
}

pub(crate) fn foreign(n: usize) {
    anomalies("foreign", n);
}

pub(crate) fn from_store(n: usize) {
    anomalies("from_store", n);
}

fn anomalies(kind: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!(STREAM_ANOMALIES, "kind" => kind).increment(n as u64);
    }
}

pub(crate) fn applied(events: usize, fresh: usize, took: Duration) {
    metrics::histogram!(APPLY_SECONDS).record(took.as_secs_f64());
    metrics::counter!(EVENTS, "outcome" => "applied").increment(fresh as u64);
    metrics::counter!(EVENTS, "outcome" => "skipped")
        .increment(events.saturating_sub(fresh) as u64);
}
