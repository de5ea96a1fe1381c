//! The folded conversation states of recently active users, kept in memory within a budget of
//! bytes rather than a count of users (a state with twenty long messages weighs a hundred times
//! one with none); the least recently used are evicted first. An evicted user's next message
//! folds their state from the log again, so the budget trades memory for reads, never
//! correctness (decision 0004).

use std::collections::hash_map::RandomState;

use events_schema::UserId;
use hashlink::LinkedHashMap;

use crate::engine::ConversationState;
use crate::engine::state::block;

/// The default budget: 64 MiB, some 16,000 states with a full history of typical lines (about
/// 4 KiB each: product lists and short questions), or 1,600 whose twenty lines are all as long
/// as a message may be (2,000 characters).
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

/// What one entry costs besides its state's heap: the state itself, the key, the weight kept
/// with it, the map's node (two links) and table slot.
fn entry_bytes(user: &UserId, state: &ConversationState) -> usize {
    block(size_of::<ConversationState>() + size_of::<UserId>() + 3 * size_of::<usize>())
        + size_of::<usize>()
        + 1
        + block(user.as_str().len())
        + state.heap_bytes()
}

/// How full the cache is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheUsage {
    pub entries: usize,
    pub bytes: usize,
    pub budget: usize,
}

/// A least-recently-used map of states whose estimated bytes stay within the budget.
#[derive(Debug)]
pub(crate) struct StateCache {
    /// Least recently used first. Keyed with std's randomly seeded hasher: user ids come from
    /// outside.
    entries: LinkedHashMap<UserId, (ConversationState, usize), RandomState>,
    bytes: usize,
    budget: usize,
}

impl StateCache {
    /// A cache that holds at most `budget` bytes (0: holds nothing).
    pub fn new(budget: usize) -> Self {
        StateCache {
            entries: LinkedHashMap::with_hasher(RandomState::new()),
            bytes: 0,
            budget,
        }
    }

    /// A copy of the user's state, which becomes the most recently used.
    pub fn get(&mut self, user: &UserId) -> Option<ConversationState> {
        self.entries.to_back(user).map(|(state, _)| state.clone())
    }

    /// Keeps `state` as the most recently used, then evicts the least recently used until the
    /// whole fits the budget. A state bigger than the whole budget is not kept.
    pub fn insert(&mut self, user: &UserId, state: ConversationState) {
        self.remove(user);
        let bytes = entry_bytes(user, &state);
        if bytes > self.budget {
            return;
        }
        while self.bytes + bytes > self.budget {
            match self.entries.pop_front() {
                Some((_, (_, evicted))) => self.bytes -= evicted,
                None => break,
            }
        }
        self.entries.insert(user.clone(), (state, bytes));
        self.bytes += bytes;
    }

    pub fn remove(&mut self, user: &UserId) {
        if let Some((_, bytes)) = self.entries.remove(user) {
            self.bytes -= bytes;
        }
    }

    pub fn contains(&self, user: &UserId) -> bool {
        self.entries.contains_key(user)
    }

    pub fn usage(&self) -> CacheUsage {
        CacheUsage {
            entries: self.entries.len(),
            bytes: self.bytes,
            budget: self.budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::state::Speaker;

    fn user(i: usize) -> UserId {
        UserId::new(events_schema::Channel::Web, &format!("shopper-{i}")).expect("id")
    }

    /// A state with a full history of `chars`-long lines.
    fn talkative(chars: usize) -> ConversationState {
        let mut state = ConversationState {
            version: 40,
            display_name: Some("Ana".into()),
            offered: vec![
                "nova-x1".into(),
                "nova-x1-pro".into(),
                "corvid-go-14".into(),
            ],
            ..ConversationState::default()
        };
        for i in 0..crate::engine::state::HISTORY {
            let who = if i % 2 == 0 {
                Speaker::Shopper
            } else {
                Speaker::Bot
            };
            state.history.push_back((who, "x".repeat(chars)));
        }
        state
    }

    #[test]
    fn the_estimate_counts_what_the_state_holds() {
        let empty = ConversationState::default();
        assert_eq!(empty.heap_bytes(), 0);
        let long = talkative(2_000);
        assert!(
            long.heap_bytes() >= 20 * 2_000,
            "at least the text: {}",
            long.heap_bytes()
        );
        assert!(
            long.heap_bytes() < 20 * 2_000 + 4_096,
            "and not much more: {}",
            long.heap_bytes()
        );
        assert!(talkative(10).heap_bytes() < long.heap_bytes() / 20);
    }

    #[test]
    fn many_long_conversations_stay_within_the_budget_and_the_least_recent_go_first() {
        let budget = 1024 * 1024;
        let mut cache = StateCache::new(budget);
        let state = talkative(2_000);
        // A clone's capacities are its lengths: that is what the cache holds.
        let one = entry_bytes(&user(0), &state.clone());
        for i in 0..1_000 {
            cache.insert(&user(i), state.clone());
            // Shopper 0 keeps talking: always recently used.
            assert!(cache.get(&user(0)).is_some(), "after {i}");
            assert!(
                cache.usage().bytes <= budget,
                "after {i}: {:?}",
                cache.usage()
            );
        }
        let usage = cache.usage();
        assert_eq!(usage.entries, budget / one, "{usage:?}, {one} each");
        assert!(cache.contains(&user(0)), "recently used stays");
        assert!(cache.contains(&user(999)), "the newest stays");
        assert!(
            !cache.contains(&user(1)),
            "the least recently used went first"
        );
        let kept: usize = (0..1_000).filter(|&i| cache.contains(&user(i))).count();
        assert_eq!(kept, usage.entries);
    }

    #[test]
    fn replacing_and_removing_keep_the_count_of_bytes() {
        let mut cache = StateCache::new(1024 * 1024);
        cache.insert(&user(1), talkative(2_000));
        cache.insert(&user(1), talkative(10));
        assert_eq!(cache.usage().bytes, entry_bytes(&user(1), &talkative(10)));
        cache.remove(&user(1));
        assert_eq!(cache.usage().bytes, 0);
        assert_eq!(cache.usage().entries, 0);
    }

    #[test]
    fn a_zero_budget_holds_nothing() {
        let mut cache = StateCache::new(0);
        cache.insert(&user(1), ConversationState::default());
        assert_eq!(cache.usage().entries, 0);
        assert!(cache.get(&user(1)).is_none());
    }
}
