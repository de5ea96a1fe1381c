//! Invariant 2 of ARCHITECTURE.md: readers get events in increasing `global_position` and never
//! miss one that commits late. Several store handles stand in for several processes; each test
//! has its own database, so a held transaction stalls nobody else (on Postgres the lock is a row
//! in this database's `log_head`, not the server-wide transaction horizon).

mod common;

use testkit::both_backends;

use std::time::Duration;

use common::{message, stream};
use event_store::{AppendRequest, BackendKind, EventStore, ExpectedVersion};
use testkit::TestDatabase;

async fn lock_waiters(db: &TestDatabase) -> i64 {
    use sqlx::Connection as _;
    let mut c = sqlx::PgConnection::connect(db.config.database_url.expose())
        .await
        .expect("connect");
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(&mut c)
    .await
    .expect("pg_stat_activity")
}

both_backends!(a_late_commit_is_never_skipped_and_order_never_changes);
async fn a_late_commit_is_never_skipped_and_order_never_changes(db: TestDatabase) {
    let holder = db.open_for_test().await;
    let reader = db.open_for_test().await;
    let others = [db.open_for_test().await, db.open_for_test().await];
    holder
        .append(
            &stream("early"),
            ExpectedVersion::Any,
            vec![message("before")],
        )
        .await
        .expect("early append");

    // One writer takes positions 2..=4 and keeps its transaction open.
    let held_events = (0..3)
        .map(|i| message(&format!("held {i}")).into_raw().expect("raw"))
        .collect();
    let held = holder
        .hold_append(AppendRequest {
            stream_id: stream("held"),
            expected: ExpectedVersion::Any,
            events: held_events,
        })
        .await
        .expect("hold");

    // Other writers append meanwhile; they must queue behind the held transaction.
    let mut writers = Vec::new();
    for (i, store) in others.iter().enumerate() {
        for j in 0..5 {
            let store: EventStore = store.clone();
            writers.push(tokio::spawn(async move {
                store
                    .append(
                        &stream(&format!("w{i}")),
                        ExpectedVersion::Any,
                        vec![message(&format!("w{i}-{j}"))],
                    )
                    .await
            }));
        }
    }
    if db.kind() == BackendKind::Postgres {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while lock_waiters(&db).await < 1 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "writers never queued"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let first_read = reader.read_all(0, 1_000).await.expect("first read");
    let seen: Vec<i64> = first_read.iter().map(|e| e.global_position).collect();
    assert_eq!(
        seen,
        [1],
        "nothing past the open transaction may be visible"
    );
    assert!(
        writers.iter().all(|w| !w.is_finished()),
        "writers must wait for the lock"
    );

    let held_results = held.commit().await.expect("commit held");
    let held_range = match &held_results[0] {
        Ok(a) => (a.first_position, a.last_position),
        Err(e) => panic!("held append failed: {e}"),
    };
    assert_eq!(held_range, (2, 4));
    for w in writers {
        w.await.expect("writer task").expect("writer append");
    }

    let second_read = reader.read_all(1, 1_000).await.expect("second read");
    let mut delivered: Vec<i64> = seen;
    delivered.extend(second_read.iter().map(|e| e.global_position));
    let full: Vec<i64> = reader
        .read_all(0, 1_000)
        .await
        .expect("full read")
        .iter()
        .map(|e| e.global_position)
        .collect();
    assert_eq!(full, (1..=14).collect::<Vec<_>>());
    assert_eq!(
        delivered, full,
        "a reader resuming from its position saw every event"
    );
}

both_backends!(a_polling_reader_sees_every_event_of_concurrent_writers_in_order);
async fn a_polling_reader_sees_every_event_of_concurrent_writers_in_order(db: TestDatabase) {
    let stores = [
        db.open_for_test().await,
        db.open_for_test().await,
        db.open_for_test().await,
    ];
    let reader = db.open_for_test().await;
    let mut writers = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for j in 0..40 {
            let store = store.clone();
            writers.push(tokio::spawn(async move {
                let events = (0..1 + j % 3)
                    .map(|k| message(&format!("{i}-{j}-{k}")))
                    .collect();
                store
                    .append(
                        &stream(&format!("s{}", j % 7)),
                        ExpectedVersion::Any,
                        events,
                    )
                    .await
            }));
        }
    }
    let total: i64 = (0..40).map(|j| 1 + j % 3).sum::<i64>() * 3;
    let mut delivered = Vec::new();
    let mut after = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while after < total {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reader stuck at {after}"
        );
        let batch = reader.read_all(after, 7).await.expect("read");
        for e in &batch {
            assert!(e.global_position > after, "positions must only increase");
            after = e.global_position;
            delivered.push(e.global_position);
        }
        if batch.is_empty() {
            tokio::task::yield_now().await;
        }
    }
    for w in writers {
        w.await.expect("task").expect("append");
    }
    assert_eq!(delivered, (1..=total).collect::<Vec<_>>());
}

testkit::main!();
