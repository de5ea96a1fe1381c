//! Telegram's limits on what a bot sends, kept by the outbox sender before every send: 30
//! messages a second in all, one a second in a chat (short bursts allowed), 20 a minute in a
//! group (Telegram's Bots FAQ, "My bot is hitting limits"). teloxide's `Throttle` adaptor keeps
//! them too, but its worker looks at its queue every 250 ms, and the sender sends one message
//! at a time, so through it the sender managed 4 a second (`salesbot bench soak`,
//! docs/architecture.md, "The Telegram outbox sender").

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::limits::{Limiter, Rate};

/// Messages a second to all chats together.
const OVERALL_PER_SECOND: u32 = 30;
/// One a second in a chat, up to three at once.
const CHAT: Rate = Rate {
    per_minute: 60,
    burst: 3,
};
/// Groups (negative chat ids): also at most 20 a minute.
const GROUP: Rate = Rate {
    per_minute: 20,
    burst: 20,
};

/// The limits' state: how much each chat, and the bot as a whole, has sent lately.
pub(crate) struct Pace {
    overall: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    chat: Limiter<i64>,
    group: Limiter<i64>,
    clock: DefaultClock,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace").finish_non_exhaustive()
    }
}

impl Pace {
    pub(crate) fn new() -> Pace {
        let overall = NonZeroU32::new(OVERALL_PER_SECOND).unwrap_or(NonZeroU32::MIN);
        Pace {
            overall: RateLimiter::direct(Quota::per_second(overall)),
            chat: Limiter::new(CHAT),
            group: Limiter::new(GROUP),
            clock: DefaultClock::default(),
        }
    }

    /// Waits until one more message to `chat_id` keeps every limit, and takes it from each
    /// allowance; `false` when shutdown came first.
    pub(crate) async fn wait(&self, chat_id: i64, shutdown: &CancellationToken) -> bool {
        let group = chat_id < 0;
        until(|| self.chat.check(&chat_id), shutdown).await
            && (!group || until(|| self.group.check(&chat_id), shutdown).await)
            && until(
                || {
                    self.overall
                        .check()
                        .map_err(|n| n.wait_time_from(self.clock.now()))
                },
                shutdown,
            )
            .await
    }
}

/// Retries `take` after the wait it names until it succeeds; `false` when shutdown came first.
async fn until(
    mut take: impl FnMut() -> Result<(), Duration>,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        match take() {
            Ok(()) => return true,
            Err(wait) => tokio::select! {
                () = shutdown.cancelled() => return false,
                () = tokio::time::sleep(wait) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_chat_gets_a_short_burst_then_one_a_second_and_others_go_on() {
        let pace = Pace::new();
        let stop = CancellationToken::new();
        for _ in 0..3 {
            assert!(pace.wait(1, &stop).await);
        }
        // Another chat is not held back by the first one's burst.
        let other = std::time::Instant::now();
        assert!(pace.wait(2, &stop).await);
        assert!(
            other.elapsed() < Duration::from_millis(500),
            "{:?}",
            other.elapsed()
        );
        // The first chat's fourth message waits for its allowance: about a second.
        let fourth = std::time::Instant::now();
        assert!(pace.wait(1, &stop).await);
        assert!(
            fourth.elapsed() >= Duration::from_millis(900),
            "{:?}",
            fourth.elapsed()
        );
    }

    #[tokio::test]
    async fn shutdown_ends_a_wait() {
        let pace = Pace::new();
        let stop = CancellationToken::new();
        for _ in 0..3 {
            assert!(pace.wait(-5, &stop).await);
        }
        stop.cancel();
        assert!(
            !pace.wait(-5, &stop).await,
            "over the chat's burst, then stopped"
        );
    }
}
