//! The command path: load the shopper's state from their stream (a snapshot plus the events
//! after it), decide, append the new events with the expected version, and retry on a
//! conflict so that no message is ever lost. The reply goes back to the caller; for Telegram,
//! the `BotReplied` event is also the outbox the sender works from.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use event_store::{AppendError, EventStore, ExpectedVersion, StoreError};

use events_schema::{Event, NewEvent, RecordedEvent, UserId};
use uuid::Uuid;

use crate::catalog::Catalog;
use crate::engine::{
    ConversationState, Decision, Inbound, Reply, decide, decide_understood, order_id,
};
use crate::limits::{Limiter, Rate};
use crate::llm::Llm;
use crate::state_cache::{CacheUsage, StateCache};

/// Save a snapshot when loading had to fold more events than this after the last one.
const SNAPSHOT_EVERY: usize = 100;
/// Conflicts retried before giving up (each retry reloads and decides again). Within one
/// process a user's messages queue on a lock, so conflicts come from other processes, or from
/// the user's next message while the model words a reply (the lock is not held meanwhile).
const MAX_ATTEMPTS: usize = 50;
/// Lock stripes: a user's messages are decided one at a time in this process.
const STRIPES: usize = 1024;

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

/// How the ids of a message's events are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventIds {
    /// Fresh UUID v7s (web chat: every request is a new message).
    Fresh,
    /// UUID v5 of the bot, the Telegram `update_id` and the event's index, so a redelivered
    /// update appends nothing and triggers no second reply.
    Telegram { bot_id: i64, update_id: i64 },
}

impl EventIds {
    fn id(self, index: usize) -> Uuid {
        match self {
            EventIds::Fresh => Uuid::now_v7(),
            EventIds::Telegram { bot_id, update_id } => Uuid::new_v5(
                &TELEGRAM_NAMESPACE,
                format!("telegram:{bot_id}:{update_id}:{index}").as_bytes(),
            ),
        }
    }
}

/// Namespace of the deterministic ids of events caused by Telegram updates.
const TELEGRAM_NAMESPACE: Uuid = Uuid::from_u128(0x5a1e_5b07_7e1e_4a3a_9b1d_0c0f_f1ce_d00d);

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
    /// their erasure goes on in the same stream.
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
        CommandService {
            store,
            catalog,
            clock,
            stripes: Arc::new((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect()),
            appended: Arc::new(tokio::sync::Notify::new()),
            llm: None,
            states: Arc::new(std::sync::Mutex::new(StateCache::new(
                crate::state_cache::DEFAULT_BUDGET,
            ))),
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
    pub fn admit(&self, user: &UserId) -> Result<(), std::time::Duration> {
        self.per_user.check(user)
    }

    /// Keeps the states of recently active users within `bytes` of memory (estimated), instead
    /// of the default 64 MiB; 0 keeps none (every message folds the state from the log).
    pub fn with_state_cache(mut self, bytes: usize) -> Self {
        self.states = Arc::new(std::sync::Mutex::new(StateCache::new(bytes)));
        self
    }

    /// How full the cache of conversation states is.
    pub fn state_cache(&self) -> CacheUsage {
        self.states().usage()
    }

    /// Whether the user's state is in memory (else their next message reads the log).
    pub fn holds_state(&self, user: &UserId) -> bool {
        self.states().contains(user)
    }

    fn states(&self) -> std::sync::MutexGuard<'_, StateCache> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cached(&self, user: &UserId) -> Option<ConversationState> {
        self.states().get(user)
    }

    fn cache(&self, user: &UserId, state: Option<ConversationState>) {
        match state {
            Some(state) => self.states().insert(user, state),
            None => self.states().remove(user),
        }
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

    /// Appends events that are facts in their own right (not decided from a message), e.g. a
    /// payment Telegram reports. Idempotent with deterministic ids.
    pub async fn record(
        &self,
        user: &UserId,
        at: DateTime<Utc>,
        events: Vec<Event>,
        ids: EventIds,
    ) -> Result<Handled, ServiceError> {
        let events = stamp(events, ids, at);
        let event_ids = events.iter().map(|e| e.event_id).collect();
        let _turn = self.turn(user).await;
        let appended = self
            .store
            .append(&user.stream_id(), ExpectedVersion::Any, events)
            .await;
        // The user's stream moved on without a decision: forget the state kept in memory.
        self.cache(user, None);
        match appended {
            Ok(a) if a.duplicate => Ok(Handled::Duplicate),
            Ok(_) => {
                self.appended.notify_one();
                Ok(Handled::Answered {
                    reply: Reply {
                        text: String::new(),
                        buttons: Vec::new(),
                        products: Vec::new(),
                    },
                    events: event_ids,
                })
            }
            Err(AppendError::PartialDuplicate(_)) => Ok(Handled::Duplicate),
            Err(AppendError::Store(e)) => Err(e.into()),
            Err(e) => Err(ServiceError::Rejected(e.to_string())),
        }
    }

    /// The user's state as of the latest event: snapshot, then the events after it.
    pub async fn load(&self, user: &UserId) -> Result<ConversationState, StoreError> {
        let stream = user.stream_id();
        let mut state = match self.store.load_snapshot(&stream).await? {
            Some(s) => serde_json::from_value(s.state).unwrap_or_default(),
            None => ConversationState::default(),
        };
        let events = self.store.read_stream(&stream, state.version + 1).await?;
        if state.version > 0
            && events
                .first()
                .is_some_and(|e| e.stream_version != state.version + 1)
        {
            // The snapshot does not line up with the stream (e.g. after a reset): fold it all.
            state = ConversationState::default();
            for e in self.store.read_stream(&stream, 1).await? {
                state.apply(&e);
            }
            return Ok(state);
        }
        let folded = events.len();
        for e in &events {
            state.apply(e);
        }
        if folded > SNAPSHOT_EVERY
            && let Ok(json) = serde_json::to_value(&state)
            && let Err(error) = self
                .store
                .save_snapshot(&stream, state.version, &json)
                .await
        {
            tracing::warn!(%error, "saving a snapshot failed; the stream stays the source");
        }
        Ok(state)
    }

    /// Records one message and decides the answer.
    ///
    /// The answer is decided on this user's turn (their lock stripe), so their messages do not
    /// race. When the model is to word the reply, the turn is given up for the call (it may
    /// take seconds): the users sharing the stripe, and this user's next messages, go ahead
    /// meanwhile. The turn is then taken again, and the events are appended only if the stream
    /// is still at the version decided on; if not, the message is decided (and worded) again
    /// on the stream as it now is. So no message is lost or answered twice, but one the model
    /// answers may be recorded after a later message of the same user (decision 0009).
    pub async fn handle(
        &self,
        user: &UserId,
        inbound: &Inbound,
        ids: EventIds,
    ) -> Result<Handled, ServiceError> {
        self.handle_if(user, inbound, ids, Live::Any).await
    }

    /// As [`Self::handle`]; with [`Live::Required`], a user erased by then (as the log says
    /// when the message is appended) gets [`Handled::Ended`] and nothing is recorded.
    #[tracing::instrument(
        skip(self, inbound, ids),
        fields(user = %user, correlation_id = tracing::field::Empty)
    )]
    pub async fn handle_if(
        &self,
        user: &UserId,
        inbound: &Inbound,
        ids: EventIds,
        live: Live,
    ) -> Result<Handled, ServiceError> {
        let stream = user.stream_id();
        // What the model proposed for a message the rules did not understand, once accepted.
        let mut proposed: Option<crate::engine::understand::Understanding> = None;
        let mut asked_model = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                // The stream moved on since the decision: back off a little, growing.
                let pause = 2u64.saturating_pow(u32::try_from(attempt.min(6)).unwrap_or(6));
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            let mut turn = self.turn(user).await;
            let (state, from_memory) = match self.cached(user) {
                Some(state) if attempt == 0 => (state, true),
                _ => (self.load(user).await?, false),
            };
            if live == Live::Required && state.erased {
                // An erasure appended by any process moved the stream's version, so a stale
                // state in memory fails its append below and is reloaded before this check.
                return Ok(Handled::Ended);
            }
            let order = order_id(stream.as_str(), state.version);
            let decided = match &proposed {
                Some(u) => decide_understood(&state, inbound, &self.catalog, &order, u.clone()),
                None => decide(&state, inbound, &self.catalog, &order),
            };
            let Some(mut decision) = decided else {
                if from_memory {
                    // Another process may have moved the conversation on (e.g. offered the
                    // button pressed): decide again on the log's state before ignoring.
                    self.cache(user, None);
                    continue;
                }
                return Ok(Handled::Ignored);
            };
            if let Some((llm, text)) = self.model_understands(inbound, &decision)
                && !asked_model
            {
                // The model may take seconds: nobody waits on this turn meanwhile. Its
                // proposal is decided on the state as it is when this user's turn comes again.
                drop(turn.take());
                asked_model = true;
                let language = decision.understood.language;
                if let Some(u) = self
                    .understand_with_llm(llm, user, text)
                    .await
                    .and_then(|p| crate::engine::proposal::accept(&p, &self.catalog, language))
                {
                    proposed = Some(u);
                    continue;
                }
            }
            if turn.is_none() && asked_model {
                // The model proposed nothing acceptable: on with the rules' decision, in turn.
                turn = self.turn(user).await;
            }
            let _turn = match self.model_words(inbound, &decision) {
                Some((llm, text)) => {
                    // The model may take seconds: nobody waits on this turn meanwhile.
                    drop(turn);
                    self.word_with_llm(llm, user, text, &mut decision).await;
                    self.turn(user).await
                }
                None => turn,
            };
            if let Some(handled) = self
                .append_decided(user, state, decision, ids, inbound.at)
                .await?
            {
                return Ok(handled);
            }
        }
        Err(ServiceError::Busy(user.clone()))
    }

    /// Appends the events decided on `state`, expecting the stream still at its version, and
    /// keeps the state they lead to in memory. `None`: the stream moved on (another process,
    /// or this user's next message while the model worded this one); decide again.
    async fn append_decided(
        &self,
        user: &UserId,
        state: ConversationState,
        decision: Decision,
        ids: EventIds,
        at: DateTime<Utc>,
    ) -> Result<Option<Handled>, ServiceError> {
        let stream = user.stream_id();
        let events = stamp(decision.events, ids, at);
        if let Some(first) = events.first() {
            tracing::Span::current().record(
                "correlation_id",
                tracing::field::display(first.correlation_id),
            );
        }
        let event_ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let folded = events.clone();
        match self
            .store
            .append(&stream, ExpectedVersion::Exact(state.version), events)
            .await
        {
            Ok(appended) if appended.duplicate => {
                self.cache(user, None);
                Ok(Some(Handled::Duplicate))
            }
            Ok(appended) => {
                self.appended.notify_one();
                crate::metrics::recorded(user.channel(), &folded);
                tracing::debug!(
                    first_position = appended.first_position,
                    last_position = appended.last_position,
                    "appended"
                );
                let mut next = state;
                for (i, event) in folded.into_iter().enumerate() {
                    let offset = i64::try_from(i).unwrap_or(0);
                    next.apply(&RecordedEvent {
                        global_position: appended.first_position + offset,
                        event_id: event.event_id,
                        stream_id: stream.clone(),
                        stream_version: next.version + 1,
                        event: event.event,
                        schema_version: 1,
                        occurred_at: event.occurred_at,
                        recorded_at: event.occurred_at,
                        correlation_id: event.correlation_id,
                        causation_id: event.causation_id,
                        erased: false,
                    });
                }
                self.cache(user, Some(next));
                Ok(Some(Handled::Answered {
                    reply: decision.reply,
                    events: event_ids,
                }))
            }
            Err(AppendError::PartialDuplicate(_)) => {
                self.cache(user, None);
                Ok(Some(Handled::Duplicate))
            }
            Err(AppendError::Conflict { .. }) => {
                self.cache(user, None);
                Ok(None)
            }
            Err(AppendError::Store(e)) => Err(e.into()),
            Err(AppendError::Invalid(reason)) => Err(ServiceError::Rejected(reason)),
        }
    }
}

impl CommandService {
    /// This user's turn: their messages are decided one at a time in this process.
    async fn turn(&self, user: &UserId) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.stripes.get(lock_stripe(user)) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// The model and the shopper's text, when a model is configured and the message has text.
    fn model_and_text<'a>(&'a self, inbound: &'a Inbound) -> Option<(&'a Llm, &'a str)> {
        Some((self.llm.as_deref()?, inbound.text.as_deref()?))
    }

    /// The model and the shopper's text, when the rules did not understand a text message.
    fn model_understands<'a>(
        &'a self,
        inbound: &'a Inbound,
        decision: &Decision,
    ) -> Option<(&'a Llm, &'a str)> {
        (decision.understood.intent == events_schema::Intent::Unknown
            && inbound.kind != events_schema::MessageKind::Button)
            .then(|| self.model_and_text(inbound))
            .flatten()
    }

    /// The user's state for a prompt, read from the log (never from memory, so an erasure made
    /// by another process is never sent to the model).
    async fn history(&self, user: &UserId) -> Option<ConversationState> {
        match self.load(user).await {
            Ok(state) => Some(state),
            Err(error) => {
                tracing::warn!(%error, "loading history for the LLM failed; rules alone");
                None
            }
        }
    }

    /// The model's proposal for `text`.
    async fn understand_with_llm(
        &self,
        llm: &Llm,
        user: &UserId,
        text: &str,
    ) -> Option<crate::engine::proposal::Proposal> {
        let state = self.history(user).await?;
        llm.understand(&self.catalog, &state, text).await
    }

    /// The model and the shopper's text, when the model is to word this decision's reply.
    fn model_words<'a>(
        &'a self,
        inbound: &'a Inbound,
        decision: &Decision,
    ) -> Option<(&'a Llm, &'a str)> {
        let (llm, text) = self.model_and_text(inbound)?;
        let intent = decision.events.iter().find_map(|e| match e {
            Event::MessageReceived(m) => Some(m.intent),
            _ => None,
        })?;
        crate::llm::words_reply(intent).then_some((llm, text))
    }

    /// Replaces the reply's wording with the model's (the events stay the rules'). The
    /// prompt's history comes from the log, never from memory, so an erasure made by another
    /// process is never sent to the model.
    async fn word_with_llm(&self, llm: &Llm, user: &UserId, text: &str, decision: &mut Decision) {
        let Some(state) = self.history(user).await else {
            return;
        };
        let Some(worded) = llm
            .reply(&self.catalog, &state, text, &decision.reply.text)
            .await
        else {
            return;
        };
        for event in &mut decision.events {
            if let Event::BotReplied(r) = event {
                r.text = Some(worded.clone());
            }
        }
        decision.reply.text = worded;
    }
}

/// The lock stripe whose turns `user` shares with every other user hashed to it (public so
/// that tests can find two users who share one).
pub fn lock_stripe(user: &UserId) -> usize {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    user.hash(&mut h);
    usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0)
}

/// Ids, time and causation: every event of the message is caused by its `MessageReceived` and
/// correlated with the first event; the reply points at the message it answers.
fn stamp(events: Vec<Event>, ids: EventIds, at: DateTime<Utc>) -> Vec<NewEvent> {
    let ids: Vec<Uuid> = (0..events.len()).map(|i| ids.id(i)).collect();
    let correlation = ids.first().copied().unwrap_or_else(Uuid::now_v7);
    let message = events
        .iter()
        .position(|e| matches!(e, Event::MessageReceived(_)))
        .and_then(|i| ids.get(i).copied());
    events
        .into_iter()
        .zip(ids)
        .map(|(mut event, id)| {
            if let Event::BotReplied(r) = &mut event {
                r.in_reply_to = message;
            }
            let new = NewEvent::new(event, at).with_id(id);
            match message {
                Some(cause) if cause != id => new.caused_by(cause, correlation),
                _ => NewEvent {
                    correlation_id: correlation,
                    ..new
                },
            }
        })
        .collect()
}
