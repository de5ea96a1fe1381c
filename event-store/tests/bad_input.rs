//! Bad input gives a typed error, never a panic, and writes nothing: an unreachable database,
//! a migration newer than this build, a corrupt stored event.

mod common;

use testkit::both_backends;

use common::{message, stream};
use event_store::{
    BackendKind, DatabaseUrl, EventStore, ExpectedVersion, MasterKey, Migrations, StoreConfig,
    StoreError,
};
use testkit::TestDatabase;

#[testkit::test]
async fn an_unreachable_database_is_a_clear_error() {
    let url = DatabaseUrl::parse("postgres://postgres:pw@127.0.0.1:1/nowhere").expect("valid");
    let err = EventStore::open(&StoreConfig::new(url, MasterKey::generate()))
        .await
        .expect_err("unreachable");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:1") && !text.contains("pw"),
        "{text}"
    );
}

both_backends!(a_migration_newer_than_the_binary_is_refused);
async fn a_migration_newer_than_the_binary_is_refused(db: TestDatabase) {
    db.open_for_test().await.close().await;
    let checksum = match db.kind() {
        BackendKind::Postgres => "'\\x00'::bytea",
        BackendKind::Sqlite => "x'00'",
    };
    db.execute(&format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99999999, 'from the future', true, {checksum}, 0)"
    ))
    .await;
    let err = EventStore::open(&db.config).await.expect_err("too new");
    assert!(
        matches!(err, StoreError::MigrationTooNew { version: 99999999 }),
        "{err:?}"
    );
    let err = EventStore::inspect(&db.config).await.expect_err("too new");
    assert!(matches!(err, StoreError::MigrationTooNew { .. }), "{err:?}");
}

both_backends!(a_fresh_database_reports_pending_migrations_until_migrated);
async fn a_fresh_database_reports_pending_migrations_until_migrated(db: TestDatabase) {
    let status = EventStore::inspect(&db.config).await.expect("inspect");
    assert!(status.applied.is_empty());
    assert_eq!(status.pending.len(), status.known);
    let err = EventStore::open_with(&db.config, Migrations::Require)
        .await
        .expect_err("pending");
    assert!(
        matches!(err, StoreError::MigrationsPending { .. }),
        "{err:?}"
    );
    db.open_for_test().await.close().await;
    let status = EventStore::inspect(&db.config).await.expect("inspect");
    assert!(status.pending.is_empty());
    EventStore::open_with(&db.config, Migrations::Require)
        .await
        .expect("up to date");
}

both_backends!(a_corrupt_stored_payload_is_a_typed_error_naming_its_position);
async fn a_corrupt_stored_payload_is_a_typed_error_naming_its_position(db: TestDatabase) {
    let store = db.open_for_test().await;
    store
        .append(&stream("ana"), ExpectedVersion::Any, vec![message("fine")])
        .await
        .expect("append");
    let (uuid, payload_cast) = match db.kind() {
        BackendKind::Postgres => ("gen_random_uuid()", "::jsonb"),
        BackendKind::Sqlite => ("randomblob(16)", ""),
    };
    db.execute(&format!(
        "INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, \
           schema_version, occurred_at, recorded_at, correlation_id, payload) \
         VALUES (2, {uuid}, 'broken', 1, 'ProductViewed', 1, '2026-11-20T10:00:00Z', \
           '2026-11-20T10:00:00Z', {uuid}, '{{\"product_id\": 42}}'{payload_cast}); \
         INSERT INTO events (global_position, event_id, stream_id, stream_version, event_type, \
           schema_version, occurred_at, recorded_at, correlation_id, payload) \
         VALUES (3, {uuid}, 'broken', 2, 'NoSuchEvent', 1, '2026-11-20T10:00:00Z', \
           '2026-11-20T10:00:00Z', {uuid}, '{{}}'{payload_cast})"
    ))
    .await;
    let err = store.read_all(0, 10).await.expect_err("corrupt");
    assert!(
        matches!(
            err,
            StoreError::Corrupt {
                global_position: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = store.read_all(2, 10).await.expect_err("corrupt");
    assert!(
        matches!(&err, StoreError::Corrupt { global_position: 3, reason } if reason.contains("NoSuchEvent")),
        "{err:?}"
    );
    assert_eq!(store.read_all(0, 1).await.expect("the good one").len(), 1);
}

testkit::main!();
