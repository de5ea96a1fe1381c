//! How this process's Telegram outbox sender is doing, in memory, for `/health`: standing by,
//! holding the lease, or failing since when (and why, for the log and `salesbot check` only).
//! The holder also persists its status through the store (`follower_status`), so that
//! `salesbot check` can tell from outside (docs/architecture.md, "The Telegram outbox sender").

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Where the sender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderState {
    /// Started, has not asked for the lease yet.
    Starting,
    /// Another instance holds the lease and sends.
    Standby,
    /// This instance holds the lease and sends.
    Holding,
    /// The last attempt failed (store or lease); retrying with backoff.
    Failing,
    /// Stopped by shutdown.
    Stopped,
}

impl SenderState {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderState::Starting => "starting",
            SenderState::Standby => "standby",
            SenderState::Holding => "holding",
            SenderState::Failing => "failing",
            SenderState::Stopped => "stopped",
        }
    }
}

/// A snapshot of the sender's status.
#[derive(Debug, Clone, PartialEq)]
pub struct SenderStatus {
    pub state: SenderState,
    /// In this state since.
    pub since: DateTime<Utc>,
    /// The first failure of the current run of failures; `None` once an attempt succeeds.
    pub failing_since: Option<DateTime<Utc>>,
    /// The last error (internal text: logs and operators, never public health).
    pub last_error: Option<String>,
}

impl SenderStatus {
    /// How long the sender has been failing without a success in between.
    pub fn failing_for(&self, now: DateTime<Utc>) -> Option<Duration> {
        self.failing_since
            .map(|since| (now - since).to_std().unwrap_or_default())
    }
}

/// Shared between the sender (which writes) and `/health` (which reads).
#[derive(Debug, Clone)]
pub struct SenderHealth(Arc<Mutex<SenderStatus>>);

impl Default for SenderHealth {
    fn default() -> SenderHealth {
        SenderHealth(Arc::new(Mutex::new(SenderStatus {
            state: SenderState::Starting,
            since: Utc::now(),
            failing_since: None,
            last_error: None,
        })))
    }
}

impl SenderHealth {
    pub fn new() -> SenderHealth {
        SenderHealth::default()
    }

    pub fn status(&self) -> SenderStatus {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SenderStatus> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The sender is well in `state` (standby, holding, stopped): any failure is over.
    pub(crate) fn set(&self, state: SenderState) {
        let mut status = self.lock();
        if status.state != state {
            status.state = state;
            status.since = Utc::now();
        }
        status.failing_since = None;
        status.last_error = None;
    }

    /// An attempt failed with `error`; the sender will retry.
    pub(crate) fn failed(&self, error: &str) {
        let mut status = self.lock();
        let now = Utc::now();
        if status.state != SenderState::Failing {
            status.state = SenderState::Failing;
            status.since = now;
        }
        status.failing_since.get_or_insert(now);
        status.last_error = Some(error.to_owned());
    }
}
