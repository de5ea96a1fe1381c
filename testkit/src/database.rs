//! A fresh, uniquely named Postgres database or SQLite file per test, dropped afterwards.
//!
//! Postgres comes from `TEST_DATABASE_URL` (default [`DEFAULT_TEST_DATABASE_URL`]). A test that
//! uses it says `#[testkit::test(needs = postgres)]`, so that the harness reports it as ignored
//! (a failure under CI) when the server cannot be reached; here, an unreachable server fails.

use event_store::{BackendKind, EventStore};
use sqlx::Connection as _;

use crate::scratch::{Guard, ScratchDatabase};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

pub fn test_database_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned())
}

/// A database that exists for one test.
pub type TestDatabase = ScratchDatabase;

impl ScratchDatabase {
    /// A fresh database of `kind`.
    pub async fn new(kind: BackendKind) -> TestDatabase {
        match kind {
            BackendKind::Postgres => Self::for_test().await,
            BackendKind::Sqlite => Self::sqlite_for_test(),
        }
    }

    /// A fresh Postgres database on `TEST_DATABASE_URL`'s server.
    pub async fn for_test() -> TestDatabase {
        ScratchDatabase::postgres(&test_database_url(), "salesbot_test")
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot create a test database ({e}); a test that uses Postgres says \
                     #[testkit::test(needs = postgres)]"
                )
            })
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
