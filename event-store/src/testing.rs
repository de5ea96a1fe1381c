//! Test support for this workspace (feature `test-util`): a fresh, uniquely named Postgres
//! database or SQLite file per test, dropped afterwards, and a way to hold an append's
//! transaction open.
//!
//! Postgres comes from `TEST_DATABASE_URL` (default
//! `postgres://postgres:postgres@127.0.0.1:5432/postgres`). When it cannot be reached a test
//! says so and skips, except under CI (`CI=true`), where it fails.

use sqlx::Connection as _;

use crate::scratch::{Guard, ScratchDatabase};
use crate::{
    AppendError, AppendRequest, Appended, BackendKind, EventStore, Pool, StoreError, postgres,
    sqlite,
};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// True under CI, where a missing service fails the test instead of skipping it.
pub fn services_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// Reports a missing service: panics under CI, otherwise prints why the test is skipped.
pub fn missing_service(what: &str, why: &dyn std::fmt::Display) {
    assert!(
        !services_required(),
        "{what} is required under CI but unavailable: {why}"
    );
    eprintln!("SKIPPED: {what} unavailable ({why}); set CI=true to make this a failure");
}

/// A database that exists for one test.
pub type TestDatabase = ScratchDatabase;

impl ScratchDatabase {
    /// A fresh database of `kind`; `None` (after saying why) if Postgres is unreachable.
    pub async fn new(kind: BackendKind) -> Option<TestDatabase> {
        match kind {
            BackendKind::Postgres => Self::for_test().await,
            BackendKind::Sqlite => Some(Self::sqlite_for_test()),
        }
    }

    /// A fresh Postgres database on `TEST_DATABASE_URL`'s server.
    pub async fn for_test() -> Option<TestDatabase> {
        match ScratchDatabase::postgres(&test_database_url(), "salesbot_test").await {
            Ok(db) => Some(db),
            Err(e @ StoreError::Unreachable { .. }) => {
                missing_service("Postgres", &e);
                None
            }
            Err(e) => panic!("cannot create a test database: {e}"),
        }
    }

    pub fn sqlite_for_test() -> TestDatabase {
        ScratchDatabase::sqlite().unwrap_or_else(|e| panic!("temporary SQLite database: {e}"))
    }

    /// Opens the store (applying migrations), failing the test if it cannot.
    pub async fn open_for_test(&self) -> EventStore {
        self.open()
            .await
            .unwrap_or_else(|e| panic!("open test store: {e}"))
    }

    /// Runs a statement directly against the database, bypassing the store (to plant broken
    /// rows, look at raw bytes, …).
    pub async fn execute(&self, sql: &str) {
        match self.kind() {
            BackendKind::Postgres => {
                let mut c = sqlx::PgConnection::connect(self.config.database_url.expose())
                    .await
                    .unwrap_or_else(|e| panic!("connect: {e}"));
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
            BackendKind::Sqlite => {
                let mut c = sqlx::SqliteConnection::connect(self.config.database_url.expose())
                    .await
                    .unwrap_or_else(|e| panic!("connect: {e}"));
                sqlx::raw_sql(sql)
                    .execute(&mut c)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// Every byte stored in the event and snapshot tables (Postgres) or the whole database
    /// folder, WAL included (SQLite), to search for plaintext.
    pub async fn raw_dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.guard {
            Guard::Postgres { .. } => {
                let mut c = sqlx::PgConnection::connect(self.config.database_url.expose())
                    .await
                    .unwrap_or_else(|e| panic!("connect: {e}"));
                for sql in [
                    "SELECT convert_to(e::text, 'UTF8') FROM events e",
                    "SELECT coalesce(personal, '') FROM events",
                    "SELECT convert_to(s::text, 'UTF8') FROM snapshots s",
                ] {
                    let rows: Vec<Vec<u8>> = sqlx::query_scalar(sql)
                        .fetch_all(&mut c)
                        .await
                        .unwrap_or_else(|e| panic!("{sql}: {e}"));
                    out.extend(rows.into_iter().flatten());
                }
            }
            Guard::Sqlite(dir) => {
                for entry in std::fs::read_dir(dir.path()).unwrap_or_else(|e| panic!("{e}")) {
                    let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
                    out.extend(std::fs::read(path).unwrap_or_default());
                }
            }
        }
        out
    }
}

/// An append whose transaction is open: positions handed out, rows inserted, not committed.
/// While held, it blocks other appenders (that is the point of the ordering scheme).
#[derive(Debug)]
pub struct HeldAppend {
    tx: HeldTx,
    pub results: Vec<Result<Appended, AppendError>>,
}

#[derive(Debug)]
enum HeldTx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl HeldAppend {
    pub async fn commit(self) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        match self.tx {
            HeldTx::Postgres(tx) => tx.commit().await?,
            HeldTx::Sqlite(tx) => tx.commit().await?,
        }
        Ok(self.results)
    }
}

impl EventStore {
    /// Starts an append in its own transaction and returns before committing it.
    pub async fn hold_append(&self, request: AppendRequest) -> Result<HeldAppend, StoreError> {
        let requests = [&request];
        match &self.shared.pool {
            Pool::Postgres(p) => {
                let mut tx = postgres::begin(p).await?;
                let results = postgres::prepare(&mut tx, &self.shared.keys, &requests, true)
                    .await
                    .map_err(|stop| match stop {
                        postgres::Stop::Failed(e) => e,
                        postgres::Stop::Duplicates => StoreError::Internal("duplicate".into()),
                    })?;
                Ok(HeldAppend {
                    tx: HeldTx::Postgres(tx),
                    results,
                })
            }
            Pool::Sqlite(p) => {
                let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                let results = sqlite::prepare(&mut tx, &self.shared.keys, &requests).await?;
                Ok(HeldAppend {
                    tx: HeldTx::Sqlite(tx),
                    results,
                })
            }
        }
    }
}

/// `both_backends!(name)` turns `async fn name(db: TestDatabase)` into two tests, `name::postgres`
/// (skipped, or failed under CI, without Postgres) and `name::sqlite`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(db) = $crate::testing::TestDatabase::for_test().await {
                    super::$name(db).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::testing::TestDatabase::sqlite_for_test()).await;
            }
        }
    };
}

/// A real `nats-server` with JetStream for one test (see [`crate::ScratchNats`]).
pub type NatsServer = crate::ScratchNats;

impl crate::ScratchNats {
    /// `None` (after saying why) if `nats-server` cannot run, a failure under CI.
    pub async fn start() -> Option<NatsServer> {
        match crate::ScratchNats::spawn_new().await {
            Ok(server) => Some(server),
            Err(e) => {
                missing_service("nats-server (JetStream)", &e);
                None
            }
        }
    }
}
