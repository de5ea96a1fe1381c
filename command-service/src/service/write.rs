//! The per-user write path: on the user's turn, decide on their state, append with the
//! expected version and retry on a conflict, so that no message is lost or answered twice.

use chrono::{DateTime, Utc};
use event_store::{AppendError, ExpectedVersion};
use events_schema::{Event, RecordedEvent, UserId};
use uuid::Uuid;

use super::ids::stamp;
use super::{CommandService, EventIds, Handled, Live, ServiceError};
use crate::engine::{
    ConversationState, Decision, Inbound, Reply, decide, decide_understood, order_id,
};

/// Conflicts retried before giving up (each retry reloads and decides again). Within one
/// process a user's messages queue on a lock, so conflicts come from other processes, or from
/// the user's next message while the model words a reply (the lock is not held meanwhile).
const MAX_ATTEMPTS: usize = 50;
/// Lock stripes: a user's messages are decided one at a time in this process.
pub(super) const STRIPES: usize = 1024;

impl CommandService {
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

    /// This user's turn: their messages are decided one at a time in this process.
    async fn turn(&self, user: &UserId) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.stripes.get(lock_stripe(user)) {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
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
