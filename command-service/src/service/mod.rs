//! The command path: load the shopper's state from their stream (a snapshot plus the events
//! after it), decide, append the new events with the expected version, and retry on a
//! conflict so that no message is ever lost. The reply goes back to the caller; for Telegram,
//! the `BotReplied` event is also the outbox the sender works from.

mod ids;
mod llm;
mod state;
mod write;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_store::{EventStore, StoreError};
use events_schema::UserId;
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::engine::Reply;
use crate::limits::{Limiter, Rate};
use crate::llm::Llm;
use crate::state_cache::StateCache;

pub use ids::EventIds;
pub use write::lock_stripe;

/// Where "now" comes from: the system clock, or a simulated one.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The store failed; the message was not recorded and may be retried.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Others kept writing to this stream faster than we could decide.
    #[error("the conversation of {0} is too busy; try again")]
    Busy(UserId),
    #[error("could not record the message: {0}")]
    Rejected(String),
}

/// The outcome of one inbound message.
#[derive(Debug, Clone, PartialEq)]
pub enum Handled {
    /// Recorded and answered.
    Answered { reply: Reply, events: Vec<Uuid> },
    /// Already recorded before (a redelivery): nothing appended, nothing to send.
    Duplicate,
    /// Ignored on purpose (e.g. a button the bot never produced): nothing appended.
    Ignored,
    /// The user was erased, and the message came through a session that ended with them
    /// ([`Live::Required`]): nothing appended.
    Ended,
}

/// Whether a message may go to a user who was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// Telegram and the shop's backend name users themselves: a user who writes again after
    /// their erasure goes on in the same stream as a new user, under a new key (their earlier
    /// words stay unreadable; docs/architecture.md, invariant 8).
    Any,
    /// An anonymous web session ends with its user's erasure: refuse ([`Handled::Ended`]).
    Required,
}

/// The bot's command side over one event store and catalog.
#[derive(Debug, Clone)]
pub struct CommandService {
    store: EventStore,
    catalog: Arc<Catalog>,
    clock: Arc<dyn Clock>,
    /// Striped per-user locks: concurrent messages of one user queue (in arrival order)
    /// instead of racing to append and retrying. Never held across a model call.
    stripes: Arc<Vec<tokio::sync::Mutex<()>>>,
    /// Notified after every append, so followers of the log (the Telegram outbox) wake up.
    appended: Arc<tokio::sync::Notify>,
    /// Words small-talk and not-understood replies when configured.
    llm: Option<Arc<Llm>>,
    /// The folded state of recently active users, so a message needs no read of the log: a
    /// write by another process since is caught by the expected version, and then the state is
    /// reloaded from the log. Bounded in bytes (`STATE_CACHE_MB`), least recently used out.
    states: Arc<std::sync::Mutex<StateCache>>,
    /// How many messages one user may send (every channel).
    per_user: Arc<Limiter<UserId>>,
}

impl CommandService {
    pub fn new(store: EventStore, catalog: Arc<Catalog>, clock: Arc<dyn Clock>) -> Self {
        let states = Arc::new(std::sync::Mutex::new(StateCache::new(
            crate::state_cache::DEFAULT_BUDGET,
        )));
        // An erasure through this store drops the user's state from memory at once (it holds
        // their recent words); docs/architecture.md, invariant 8.
        let held = Arc::downgrade(&states);
        store.on_erasure(move |user| match held.upgrade() {
            Some(states) => {
                states
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(user);
                true
            }
            None => false,
        });
        CommandService {
            store,
            catalog,
            clock,
            stripes: Arc::new(
                (0..write::STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
            ),
            appended: Arc::new(tokio::sync::Notify::new()),
            llm: None,
            states,
            per_user: Arc::new(Limiter::new(Rate::UNLIMITED)),
        }
    }

    /// Limits how many messages one user may send, on every channel (unlimited by default).
    pub fn with_user_rate(mut self, rate: Rate) -> Self {
        self.per_user = Arc::new(Limiter::new(rate));
        self
    }

    /// Takes one message from the user's allowance, or says how long until they may send
    /// again. Call it before [`Self::handle`]; a refused message is not recorded.
    pub(crate) fn admit(&self, user: &UserId) -> Result<(), std::time::Duration> {
        self.per_user.check(user)
    }

    /// Keeps the states of recently active users within `bytes` of memory (estimated), instead
    /// of the default 64 MiB; 0 keeps none (every message folds the state from the log).
    pub fn with_state_cache(self, bytes: usize) -> Self {
        // Replaced in place: the store's erasure listener holds this cache.
        *self.states.lock().unwrap_or_else(|p| p.into_inner()) = StateCache::new(bytes);
        self
    }

    /// Lets the model word the replies it may word (see [`crate::llm`]).
    pub fn with_llm(mut self, llm: Llm) -> Self {
        self.llm = Some(Arc::new(llm));
        self
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Notified after each append of this service.
    pub fn appended(&self) -> Arc<tokio::sync::Notify> {
        self.appended.clone()
    }
}
