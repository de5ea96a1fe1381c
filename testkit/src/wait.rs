//! Waiting on the thing, not the clock: to show that nothing more happened after an event, a
//! test waits until the follower's checkpoint has passed it, then asserts.

use std::time::Duration;

use event_store::EventStore;

/// Waits until the checkpoint `name` is at or past `position`: the follower has handled every
/// event up to it. Fails the test if that takes longer than `within`.
pub async fn checkpoint_passes(store: &EventStore, name: &str, position: i64, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let at = store
            .checkpoint(name)
            .await
            .unwrap_or_else(|e| panic!("reading the checkpoint {name}: {e}"));
        if at.is_some_and(|p| p >= position) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the checkpoint {name} is at {at:?}, not past {position}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`checkpoint_passes`] the log's head as it is now.
pub async fn checkpoint_passes_head(store: &EventStore, name: &str, within: Duration) {
    let head = store
        .head_position()
        .await
        .unwrap_or_else(|e| panic!("reading the head: {e}"));
    checkpoint_passes(store, name, head, within).await;
}
