//! Loading a shopper's state: folded from the log (the latest snapshot plus the events after
//! it, saving a new snapshot when the fold was long), or taken from the bounded cache of
//! recently active users kept in memory.

use event_store::StoreError;
use events_schema::UserId;

use super::CommandService;
use crate::engine::ConversationState;
use crate::state_cache::{CacheUsage, StateCache};

/// Save a snapshot when loading had to fold more events than this after the last one.
const SNAPSHOT_EVERY: usize = 100;

impl CommandService {
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

    pub(super) fn cached(&self, user: &UserId) -> Option<ConversationState> {
        self.states().get(user)
    }

    pub(super) fn cache(&self, user: &UserId, state: Option<ConversationState>) {
        match state {
            Some(state) => self.states().insert(user, state),
            None => self.states().remove(user),
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
}
