//! Snapshots of a stream's folded state: sealed like personal data, newest wins, gone once the
//! user is erased, and never re-created under a new key afterwards.

mod common;

use testkit::both_backends;

use common::{message, stream, user};
use event_store::ExpectedVersion;
use events_schema::StreamId;
use serde_json::json;
use testkit::TestDatabase;

both_backends!(snapshots_round_trip_and_never_go_backwards);
async fn snapshots_round_trip_and_never_go_backwards(db: TestDatabase) {
    let store = db.open_for_test().await;
    let ana = stream("ana");
    assert_eq!(store.load_snapshot(&ana).await.expect("none yet"), None);
    assert!(
        !store
            .save_snapshot(&ana, 1, &json!({}))
            .await
            .expect("no key yet"),
        "a user who never wrote has no key to seal with"
    );
    store
        .append(&ana, ExpectedVersion::NoStream, vec![message("hi")])
        .await
        .expect("append");
    let state = json!({"last_product": "phone-x1", "name": "Anastasia"});
    assert!(store.save_snapshot(&ana, 7, &state).await.expect("save"));
    let loaded = store
        .load_snapshot(&ana)
        .await
        .expect("load")
        .expect("present");
    assert_eq!((loaded.stream_version, &loaded.state), (7, &state));

    store
        .save_snapshot(&ana, 3, &json!({"stale": true}))
        .await
        .expect("older save is ignored");
    let loaded = store
        .load_snapshot(&ana)
        .await
        .expect("load")
        .expect("present");
    assert_eq!(loaded.stream_version, 7);

    store
        .save_snapshot(&ana, 9, &json!({"v": 9}))
        .await
        .expect("newer");
    let loaded = store
        .load_snapshot(&ana)
        .await
        .expect("load")
        .expect("present");
    assert_eq!(loaded.stream_version, 9);

    let raw = db.raw_dump().await;
    assert!(
        !raw.windows(9).any(|w| w == b"Anastasia"),
        "snapshot stored sealed"
    );

    let global = StreamId::new("catalog").expect("valid");
    assert!(
        store
            .save_snapshot(&global, 1, &json!({"n": 1}))
            .await
            .expect("save")
    );
    assert!(store.load_snapshot(&global).await.expect("load").is_some());

    store.destroy_user_key(&user("ana")).await.expect("erase");
    assert_eq!(store.load_snapshot(&ana).await.expect("load"), None);
    // A writer that loaded the state before the erasure cannot bring it back.
    assert!(
        !store
            .save_snapshot(&ana, 10, &state)
            .await
            .expect("refused")
    );
    assert_eq!(store.load_snapshot(&ana).await.expect("load"), None);
}

both_backends!(checkpoints_start_absent_and_only_move_forward);
async fn checkpoints_start_absent_and_only_move_forward(db: TestDatabase) {
    let store = db.open_for_test().await;
    assert_eq!(store.checkpoint("outbox").await.expect("read"), None);
    store.save_checkpoint("outbox", 5).await.expect("save");
    store
        .save_checkpoint("outbox", 3)
        .await
        .expect("older is ignored");
    assert_eq!(store.checkpoint("outbox").await.expect("read"), Some(5));
    store.save_checkpoint("outbox", 9).await.expect("save");
    assert_eq!(store.checkpoint("outbox").await.expect("read"), Some(9));
    assert_eq!(store.checkpoint("other").await.expect("read"), None);
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_has_one_holder_across_processes_and_frees_when_dropped() {
    let db = TestDatabase::for_test().await;
    let (a, b) = (db.open_for_test().await, db.open_for_test().await);
    let mut held = a
        .try_lease("outbox")
        .await
        .expect("try")
        .expect("free lease");
    assert!(held.is_held().await);
    assert!(
        b.try_lease("outbox").await.expect("try").is_none(),
        "one holder"
    );
    assert!(
        b.try_lease("other").await.expect("try").is_some(),
        "leases are by name"
    );
    drop(held);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if b.try_lease("outbox").await.expect("try").is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "a dropped lease frees"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

testkit::main!();
