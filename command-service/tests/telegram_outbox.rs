//! The Telegram outbox sender under faults (issue 15, defect 5): two senders on one Postgres
//! database against the fake Bot API on loopback, which records every call and when it arrived
//! and left. A holder that loses its lease mid-batch must stop before the standby that takes
//! over sends anything (no reply twice, no two sends at once), and a store error must not end
//! the sender for good (docs/architecture.md, "The Telegram outbox sender").

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use command_service::telegram::outbox::{CHECKPOINT, SenderState};
use command_service::testing::fake_telegram::FakeTelegram;
use common::{TestApp, WEBHOOK_SECRET};
use testkit::TestDatabase;

/// A text message from shopper `user` (their chat has the same id).
fn text_message(update_id: i64, user: i64, text: &str) -> String {
    serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": user, "is_bot": false, "first_name": "Shopper"},
            "chat": {"id": user, "first_name": "Shopper", "type": "private"},
            "date": 1764028800 + update_id,
            "text": text
        }
    })
    .to_string()
}

/// Cuts the connection that holds the outbox lease (an advisory lock), as a network blip, a
/// pooler restart or `idle_session_timeout` would: the lock is free for a standby at once, while
/// the holder itself does not know yet. Fails the test when nobody held it.
async fn cut_the_lease_holder(db: &TestDatabase) {
    db.execute(
        "DO $$ BEGIN \
           IF (SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_locks \
                 WHERE locktype = 'advisory' AND granted \
                   AND database = (SELECT oid FROM pg_database \
                                   WHERE datname = current_database())) cut) = 0 \
           THEN RAISE EXCEPTION 'nobody held the outbox lease'; END IF; \
         END $$;",
    )
    .await;
}

/// The backend that holds the outbox lease now, if one does.
async fn lease_pid(app: &TestApp) -> Option<i32> {
    event_store::db::query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         LIMIT 1",
    )
    .optional_scalar(app.store.pool())
    .await
    .expect("pg_locks")
}

/// Waits until some connection of this database holds the outbox lease.
async fn wait_for_a_lease_holder(app: &TestApp) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while lease_pid(app).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no outbox sender took the lease within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_taking_over_mid_batch_never_sends_alongside_the_old_holder() {
    let db = TestDatabase::for_test().await;
    let fake = FakeTelegram::start().await;
    let holder = TestApp::spawn_with_telegram(&db, &fake.url).await;
    wait_for_a_lease_holder(&holder).await;
    let standby = TestApp::spawn_with_telegram(&db, &fake.url).await;
    // Telegram is slow today: each send takes 2.5 s, longer than a standby waits between two
    // asks for the lease, so the standby takes the freed lock while the holder's send is in
    // flight.
    fake.delay("sendMessage", Duration::from_millis(2500));
    let shoppers: Vec<i64> = (0..5).map(|i| 515_000_000 + i).collect();
    for (i, user) in shoppers.iter().enumerate() {
        let update = text_message(100 + i as i64, *user, "hi");
        let (status, body) = holder.webhook(Some(WEBHOOK_SECRET), &update).await;
        assert_eq!(status, 200, "{body}");
    }
    // The holder is in the middle of its replies when its lease connection is cut.
    fake.wait_for("sendMessage", 1).await;
    cut_the_lease_holder(&db).await;
    // Whoever asks first after a cut gets the lease, and on a busy machine that may be the old
    // holder again. A connection that keeps the lease past the standby's takeover wait without
    // the standby reporting it holds is the old holder's: cut it again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut seen: Option<(i32, tokio::time::Instant)> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if standby.sender_health.status().state == SenderState::Holding {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the standby never took the lease over"
        );
        seen = match (lease_pid(&holder).await, seen) {
            (Some(pid), Some((held_by, since))) if pid == held_by => {
                if since.elapsed() > Duration::from_secs(12) {
                    cut_the_lease_holder(&db).await;
                    None
                } else {
                    Some((held_by, since))
                }
            }
            (Some(pid), _) => Some((pid, tokio::time::Instant::now())),
            (None, _) => None,
        };
    }

    // Every reply goes out …
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let sent: std::collections::BTreeSet<i64> = fake
            .calls("sendMessage")
            .iter()
            .filter_map(|c| c["chat_id"].as_i64())
            .collect();
        if sent.len() == shoppers.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {} shoppers got their reply within 60 s",
            sent.len(),
            shoppers.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    testkit::wait::checkpoint_passes_head(&standby.store, CHECKPOINT, Duration::from_secs(30))
        .await;
    // The standby did take over (the holder did not simply take its own lease back).
    assert_eq!(standby.sender_health.status().state, SenderState::Holding);
    // … and once both senders have stopped (each finishes the send in hand), nothing was sent
    // twice, and no two sends were ever in flight together.
    holder.stop().await;
    standby.stop().await;
    let mut per_chat: BTreeMap<i64, usize> = BTreeMap::new();
    for call in fake.calls("sendMessage") {
        *per_chat
            .entry(call["chat_id"].as_i64().unwrap_or_default())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_chat.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "replies sent more than once (chat id, times): {twice:?}"
    );
    let spans = fake.spans("sendMessage");
    let mut busy_until = None;
    for (i, span) in spans.iter().enumerate() {
        if let Some(until) = busy_until {
            assert!(
                span.start >= until,
                "send {i} began {:?} before an earlier send had been answered: two senders at once",
                until - span.start
            );
        }
        busy_until = Some(busy_until.map_or(span.end, |u: std::time::Instant| u.max(span.end)));
    }
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_resumes_by_itself_after_a_store_error() {
    let db = TestDatabase::for_test().await;
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let (status, _) = app
        .webhook(Some(WEBHOOK_SECRET), &text_message(1, 515_100_001, "hi"))
        .await;
    assert_eq!(status, 200);
    fake.wait_for("sendMessage", 1).await;
    testkit::wait::checkpoint_passes_head(&app.store, CHECKPOINT, Duration::from_secs(20)).await;

    // The store breaks under the sender: its checkpoint table fails every read (and counts the
    // reads), and the connection holding its lease is cut, so it must read its checkpoint again.
    db.execute(
        "CREATE SEQUENCE checkpoint_reads; \
         CREATE FUNCTION broken_position() RETURNS bigint LANGUAGE plpgsql AS $$ \
           BEGIN PERFORM nextval('checkpoint_reads'); \
                 RAISE EXCEPTION 'the checkpoints table is broken by the test'; END $$; \
         ALTER TABLE checkpoints RENAME TO checkpoints_kept; \
         CREATE VIEW checkpoints AS \
           SELECT name, broken_position() AS position, updated_at FROM checkpoints_kept;",
    )
    .await;
    cut_the_lease_holder(&db).await;

    // The sender fails to read its checkpoint, and tries again (it is not dead).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reads: i64 = event_store::db::query(
            "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM checkpoint_reads",
        )
        .scalar(app.store.pool())
        .await
        .expect("checkpoint_reads");
        if reads >= 2 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the sender read its broken checkpoint {reads} time(s) in 30 s and never again: \
             it has stopped for good"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A shopper writes meanwhile: the webhook records it (and answers 200).
    let (status, body) = app
        .webhook(Some(WEBHOOK_SECRET), &text_message(2, 515_100_002, "hi"))
        .await;
    assert_eq!(status, 200, "{body}");

    // The store is mended: the waiting reply goes out without any restart, once.
    db.execute(
        "DROP VIEW checkpoints; DROP FUNCTION broken_position(); \
         ALTER TABLE checkpoints_kept RENAME TO checkpoints;",
    )
    .await;
    let sent = fake.wait_for("sendMessage", 2).await;
    assert_eq!(sent[1]["chat_id"], 515_100_002);
    testkit::wait::checkpoint_passes_head(&app.store, CHECKPOINT, Duration::from_secs(30)).await;
    assert_eq!(fake.calls("sendMessage").len(), 2, "each reply once");
    app.stop().await;
}

testkit::main!();
