//! Appending: optimistic concurrency, idempotent event ids, group commit with one result per
//! caller, and reading back by stream and by global position.

mod common;

use testkit::both_backends;

use common::{message, started, stream, text_of, viewed};
use event_store::{AppendError, ExpectedVersion};
use testkit::TestDatabase;

both_backends!(appended_events_read_back_in_order);
async fn appended_events_read_back_in_order(db: TestDatabase) {
    let store = db.open_for_test().await;
    let ana = stream("ana");
    let first = store
        .append(
            &ana,
            ExpectedVersion::NoStream,
            vec![started("ana"), message("hi")],
        )
        .await
        .expect("first append");
    assert_eq!(
        (
            first.first_position,
            first.last_position,
            first.last_version
        ),
        (1, 2, 2)
    );
    let second = store
        .append(&ana, ExpectedVersion::Exact(2), vec![viewed("phone-x1")])
        .await
        .expect("second append");
    assert_eq!((second.last_position, second.last_version), (3, 3));

    let events = store.read_stream(&ana, 1).await.expect("read stream");
    let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(text_of(&events[1].event), Some("hi"));
    assert!(events.iter().all(|e| !e.erased));
    assert_eq!(store.read_stream(&ana, 3).await.expect("tail").len(), 1);

    let all = store.read_all(0, 2).await.expect("first page");
    assert_eq!(
        all.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [1, 2]
    );
    let rest = store.read_all(2, 100).await.expect("second page");
    assert_eq!(
        rest.iter().map(|e| e.global_position).collect::<Vec<_>>(),
        [3]
    );
    assert_eq!(store.head_position().await.expect("head"), 3);

    let stats = store.stats().await.expect("stats");
    assert_eq!(
        (stats.events, stats.streams, stats.head_position),
        (3, 1, 3)
    );
    assert_eq!(stats.by_type.len(), 3);
}

both_backends!(a_stale_expected_version_is_a_conflict_and_writes_nothing);
async fn a_stale_expected_version_is_a_conflict_and_writes_nothing(db: TestDatabase) {
    let store = db.open_for_test().await;
    let ana = stream("ana");
    store
        .append(&ana, ExpectedVersion::NoStream, vec![message("one")])
        .await
        .expect("first");
    let err = store
        .append(&ana, ExpectedVersion::NoStream, vec![message("two")])
        .await
        .expect_err("stream exists");
    assert!(
        matches!(err, AppendError::Conflict { actual: 1, .. }),
        "{err:?}"
    );
    let err = store
        .append(&ana, ExpectedVersion::Exact(5), vec![message("three")])
        .await
        .expect_err("wrong version");
    assert!(
        matches!(err, AppendError::Conflict { actual: 1, .. }),
        "{err:?}"
    );
    assert_eq!(store.read_all(0, 10).await.expect("read").len(), 1);
    assert_eq!(store.head_position().await.expect("head"), 1);
}

both_backends!(appending_stored_event_ids_again_returns_the_stored_positions);
async fn appending_stored_event_ids_again_returns_the_stored_positions(db: TestDatabase) {
    let store = db.open_for_test().await;
    let ana = stream("ana");
    let events = vec![message("hi"), viewed("phone-x1")];
    let first = store
        .append(&ana, ExpectedVersion::NoStream, events.clone())
        .await
        .expect("first");
    store
        .append(&stream("bo"), ExpectedVersion::Any, vec![message("other")])
        .await
        .expect("other stream");
    // A redelivery: same ids, even with a now stale expected version.
    let again = store
        .append(&ana, ExpectedVersion::NoStream, events.clone())
        .await
        .expect("idempotent");
    assert!(again.duplicate);
    assert_eq!(
        (
            again.first_position,
            again.last_position,
            again.last_version
        ),
        (
            first.first_position,
            first.last_position,
            first.last_version
        )
    );
    // Half old, half new ids: refused, nothing written.
    let err = store
        .append(
            &ana,
            ExpectedVersion::Any,
            vec![events[0].clone(), message("new")],
        )
        .await
        .expect_err("partial duplicate");
    assert!(matches!(err, AppendError::PartialDuplicate(_)), "{err:?}");
    assert_eq!(store.head_position().await.expect("head"), 3);
    assert_eq!(store.read_stream(&ana, 1).await.expect("read").len(), 2);
}

both_backends!(concurrent_appends_each_get_their_own_result);
async fn concurrent_appends_each_get_their_own_result(db: TestDatabase) {
    let store = db.open_for_test().await;
    // 200 appenders on 50 streams, each expecting the stream to be new: per stream exactly one
    // wins, the other three get their own conflict, in the same batches.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("u{}", i % 50));
            store
                .append(
                    &s,
                    ExpectedVersion::NoStream,
                    vec![message(&format!("m{i}"))],
                )
                .await
        }));
    }
    let mut ok = 0;
    let mut conflicts = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(AppendError::Conflict { actual: 1, .. }) => conflicts += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!((ok, conflicts), (50, 150));
    let all = store.read_all(0, 1_000).await.expect("read");
    assert_eq!(all.len(), 50);
    let positions: Vec<i64> = all.iter().map(|e| e.global_position).collect();
    assert_eq!(positions, (1..=50).collect::<Vec<_>>());

    // With `Any`, nothing conflicts and every stream's versions come out gap-free.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let s = stream(&format!("u{}", i % 10));
            store
                .append(&s, ExpectedVersion::Any, vec![message("again")])
                .await
        }));
    }
    for t in tasks {
        t.await.expect("task").expect("append");
    }
    for i in 0..10 {
        let events = store
            .read_stream(&stream(&format!("u{i}")), 1)
            .await
            .expect("read");
        let versions: Vec<i64> = events.iter().map(|e| e.stream_version).collect();
        assert_eq!(versions, (1..=31).collect::<Vec<_>>(), "stream u{i}");
    }
}

both_backends!(bad_appends_are_refused_whole);
async fn bad_appends_are_refused_whole(db: TestDatabase) {
    let store = db.open_for_test().await;
    let err = store
        .append(&stream("ana"), ExpectedVersion::Any, vec![])
        .await
        .expect_err("empty");
    assert!(matches!(err, AppendError::Invalid(_)));
    // Personal data on a stream that belongs to no user has no key to be sealed with.
    let orphan = events_schema::StreamId::new("catalog").expect("valid");
    let err = store
        .append(&orphan, ExpectedVersion::Any, vec![message("secret")])
        .await
        .expect_err("no user");
    assert!(matches!(err, AppendError::Invalid(_)), "{err:?}");
    // ... but events without personal data may go there.
    store
        .append(&orphan, ExpectedVersion::Any, vec![viewed("phone-x1")])
        .await
        .expect("no personal data");
    let dup = message("twice");
    let err = store
        .append(&stream("ana"), ExpectedVersion::Any, vec![dup.clone(), dup])
        .await
        .expect_err("same id twice");
    assert!(matches!(err, AppendError::Invalid(_)), "{err:?}");
    assert_eq!(store.head_position().await.expect("head"), 1);
}

testkit::main!();
