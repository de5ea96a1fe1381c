//! Abuse limits: how many messages one shopper, and one network address of anonymous web
//! callers, may send. A keyed GCRA limiter (the `governor` crate): each key earns `per_minute`
//! messages a minute and may spend up to `burst` of them at once. Limits are per process; with
//! several command-service instances behind a balancer a shopper may reach each instance's limit
//! (docs/architecture.md, "Abuse limits").

use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use events_schema::Channel;
use governor::clock::{Clock as _, DefaultClock};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

/// A rate: `per_minute` messages a minute, at most `burst` at once. Zero `per_minute` means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    /// No limit at all (tests and benchmarks that flood on purpose).
    pub const UNLIMITED: Rate = Rate {
        per_minute: 0,
        burst: 0,
    };
}

/// Keys tracked before the limiter forgets the ones whose allowance is full again.
const FORGET_ABOVE: usize = 10_000;

/// A limiter over keys of type `K` (user ids, network addresses).
pub(crate) struct Limiter<K: Hash + Eq + Clone> {
    limiter: Option<RateLimiter<K, DashMapStateStore<K>, DefaultClock>>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("enabled", &self.limiter.is_some())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate) -> Self {
        let limiter = NonZeroU32::new(rate.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(rate.burst).unwrap_or(per_minute);
            RateLimiter::dashmap(Quota::per_minute(per_minute).allow_burst(burst))
        });
        Limiter {
            limiter,
            clock: DefaultClock::default(),
        }
    }

    /// Takes one message from `key`'s allowance, or says how long until one is available
    /// (nothing is taken then).
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > FORGET_ABOVE {
            // Keys whose allowance is full again hold no information: drop them, so the
            // table stays as small as the set of recently active senders.
            limiter.retain_recent();
        }
        limiter
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

static REFUSED_WEB: AtomicU64 = AtomicU64::new(0);
static DROPPED_TELEGRAM: AtomicU64 = AtomicU64::new(0);

/// Counts a message refused (web, 429) or dropped (Telegram) for being over a limit, for
/// `/metrics`.
pub(crate) fn count_refused(channel: Channel) {
    match channel {
        Channel::Web => REFUSED_WEB.fetch_add(1, Ordering::Relaxed),
        Channel::Telegram => DROPPED_TELEGRAM.fetch_add(1, Ordering::Relaxed),
    };
}

/// Messages this process refused for being over a limit, per channel, since it started.
pub fn refused_total() -> [(Channel, u64); 2] {
    [
        (Channel::Web, REFUSED_WEB.load(Ordering::Relaxed)),
        (Channel::Telegram, DROPPED_TELEGRAM.load(Ordering::Relaxed)),
    ]
}

/// Whole seconds to put in `Retry-After` (at least 1: a client retrying at once would only be
/// refused again).
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_burst_then_waits_and_others_are_not_affected() {
        let limiter = Limiter::new(Rate {
            per_minute: 6,
            burst: 3,
        });
        for _ in 0..3 {
            assert_eq!(limiter.check(&"ana"), Ok(()));
        }
        let wait = limiter.check(&"ana").expect_err("over the burst");
        assert!(wait <= Duration::from_secs(10), "{wait:?}");
        assert!(wait > Duration::from_secs(5), "{wait:?}");
        assert_eq!(limiter.check(&"bob"), Ok(()));
    }

    #[test]
    fn zero_per_minute_is_no_limit() {
        let limiter = Limiter::new(Rate::UNLIMITED);
        for _ in 0..10_000 {
            assert_eq!(limiter.check(&1u8), Ok(()));
        }
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2_001)), 3);
    }
}
