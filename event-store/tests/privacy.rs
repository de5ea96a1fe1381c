//! Invariant 8: personal fields are stored sealed with a per-user key; destroying the key
//! erases them (read as `null`, flagged `erased`) and leaves everything else intact.

mod common;

use testkit::both_backends;

use common::{message, started, stream, text_of, user, viewed};
use event_store::{EventStore, ExpectedVersion, MasterKey, StoreConfig, StoreError};
use events_schema::Event;
use testkit::TestDatabase;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

both_backends!(stored_rows_hold_no_plaintext_and_erasure_reads_back_as_null);
async fn stored_rows_hold_no_plaintext_and_erasure_reads_back_as_null(db: TestDatabase) {
    let store = db.open_for_test().await;
    store
        .append(
            &stream("ana"),
            ExpectedVersion::NoStream,
            vec![
                started("Anastasia"),
                message("my secret phrase 12345"),
                viewed("phone-x1"),
            ],
        )
        .await
        .expect("ana");
    store
        .append(
            &stream("bo"),
            ExpectedVersion::NoStream,
            vec![message("bo plaintext marker")],
        )
        .await
        .expect("bo");
    store.close().await;

    let raw = db.raw_dump().await;
    assert!(!raw.is_empty());
    for plaintext in ["secret phrase", "Anastasia", "bo plaintext marker"] {
        assert!(
            !contains(&raw, plaintext),
            "`{plaintext}` is stored in the clear"
        );
    }
    assert!(
        contains(&raw, "phone-x1"),
        "non-personal fields stay readable for SQL"
    );

    let store = db.open_for_test().await;
    assert!(store.destroy_user_key(&user("ana")).await.expect("erase"));
    assert!(
        !store.destroy_user_key(&user("ana")).await.expect("again"),
        "already erased"
    );

    let ana = store
        .read_stream(&stream("ana"), 1)
        .await
        .expect("read ana");
    assert_eq!(ana.len(), 3);
    assert!(ana.iter().all(|e| e.erased));
    let Event::ConversationStarted(s) = &ana[0].event else {
        panic!("first event is {:?}", ana[0].event)
    };
    assert_eq!(
        (s.username.as_deref(), s.display_name.as_deref()),
        (None, None)
    );
    assert_eq!(
        s.language.as_deref(),
        Some("en"),
        "non-personal fields intact"
    );
    assert_eq!(text_of(&ana[1].event), None);
    let Event::MessageReceived(m) = &ana[1].event else {
        panic!("second event is {:?}", ana[1].event)
    };
    assert_eq!(m.intent, events_schema::Intent::Unknown);
    assert!(matches!(&ana[2].event, Event::ProductViewed(v) if v.product_id == "phone-x1"));

    let bo = store.read_stream(&stream("bo"), 1).await.expect("read bo");
    assert!(!bo[0].erased);
    assert_eq!(text_of(&bo[0].event), Some("bo plaintext marker"));

    // The same user coming back gets a new key; old events stay erased.
    store
        .append(
            &stream("ana"),
            ExpectedVersion::Exact(3),
            vec![message("hello again")],
        )
        .await
        .expect("ana returns");
    let ana = store.read_all(0, 100).await.expect("read all");
    let texts: Vec<(Option<&str>, bool)> = ana
        .iter()
        .filter(|e| e.stream_id == stream("ana"))
        .map(|e| (text_of(&e.event), e.erased))
        .collect();
    assert_eq!(
        texts,
        [
            (None, true),
            (None, true),
            (None, true),
            (Some("hello again"), false)
        ]
    );
}

both_backends!(a_different_master_key_is_refused);
async fn a_different_master_key_is_refused(db: TestDatabase) {
    let store = db.open_for_test().await;
    store
        .append(&stream("ana"), ExpectedVersion::Any, vec![message("hi")])
        .await
        .expect("append");
    store.close().await;
    let wrong = StoreConfig::new(db.config.database_url.clone(), MasterKey::generate());
    let err = EventStore::open(&wrong).await.expect_err("wrong key");
    assert!(matches!(err, StoreError::WrongMasterKey), "{err:?}");
}

both_backends!(a_missing_key_row_is_damage_not_erasure);
async fn a_missing_key_row_is_damage_not_erasure(db: TestDatabase) {
    let store = db.open_for_test().await;
    store
        .append(&stream("ana"), ExpectedVersion::Any, vec![message("hi")])
        .await
        .expect("append");
    db.execute("DELETE FROM user_keys").await;
    let err = store.read_all(0, 10).await.expect_err("missing key");
    assert!(
        matches!(&err, StoreError::Corrupt { global_position: 1, reason } if reason.contains("missing")),
        "{err:?}"
    );
}

both_backends!(another_process_never_reuses_a_key_erased_elsewhere);
/// Two processes on one database: one appended for Ana (and keeps her key unwrapped in memory),
/// the other erases her. The first one's next append for Ana must not seal under the destroyed
/// key: liveness is read from the key row in the append's transaction, not from memory.
async fn another_process_never_reuses_a_key_erased_elsewhere(db: TestDatabase) {
    let here = db.open_for_test().await;
    let elsewhere = db.open_for_test().await;
    here.append(
        &stream("ana"),
        ExpectedVersion::Any,
        vec![message("before the erasure")],
    )
    .await
    .expect("append");
    let erased = elsewhere
        .erase_user(&user("ana"), "test")
        .await
        .expect("erase")
        .expect("ana has events");
    assert!(erased.key_destroyed);
    here.append(
        &stream("ana"),
        ExpectedVersion::Any,
        vec![message("after the erasure")],
    )
    .await
    .expect("append after");

    let keys: Vec<(i64, Option<uuid::Uuid>)> = event_store::db::query(
        "SELECT stream_version, key_id FROM events WHERE stream_id = $1 ORDER BY stream_version",
    )
    .bind(stream("ana").as_str())
    .fetch_all(here.pool())
    .await
    .expect("key ids");
    let [(1, Some(old)), (2, Some(erasure)), (3, Some(new))] = keys.as_slice() else {
        panic!("three events, each with a key: {keys:?}");
    };
    assert_eq!(old, erasure, "UserErased names the key it destroyed");
    assert_ne!(old, new, "a new key after the erasure");
    for store in [&here, &elsewhere] {
        let texts: Vec<(Option<String>, bool)> = store
            .read_stream(&stream("ana"), 1)
            .await
            .expect("read")
            .iter()
            .filter(|e| matches!(e.event, Event::MessageReceived(_)))
            .map(|e| (text_of(&e.event).map(str::to_owned), e.erased))
            .collect();
        assert_eq!(
            texts,
            [(None, true), (Some("after the erasure".to_owned()), false)]
        );
    }
}

testkit::main!();
