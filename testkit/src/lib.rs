//! Scaffolding for salesbot's tests and `salesbot bench`, kept out of the production crates:
//! scratch databases and a private `nats-server` ([`ScratchDatabase`], [`ScratchNats`]), the
//! baseline table of `salesbot bench append` ([`baseline`]), and the test harness.
//!
//! The harness: a test target with `harness = false` registers its tests with
//! `#[testkit::test]` (naming the services a test needs, `#[testkit::test(needs = postgres)]`)
//! and ends with `testkit::main!();`. The harness looks for each needed service once, and a
//! test whose service is missing shows in the summary as ignored, with the reason printed once
//! (under `CI=true` it fails instead). Filters and `--list` work as with libtest
//! (docs/architecture.md, "Tests").

pub mod baseline;
mod database;
#[cfg(feature = "harness")]
mod harness;
mod scratch;
mod services;
pub mod wait;

pub use database::{DEFAULT_TEST_DATABASE_URL, TestDatabase, test_database_url};
#[cfg(feature = "harness")]
pub use harness::{Runtime, Test, run};
pub use scratch::{ScratchDatabase, ScratchNats};
pub use services::{CHROMEDRIVER, CHROMIUM, PROMETHEUS, PROMTOOL, Service, ci, python_tool};
#[cfg(feature = "harness")]
pub use testkit_macros::test;

/// A real `nats-server` with JetStream for one test.
pub type NatsServer = ScratchNats;

#[cfg(feature = "harness")]
#[doc(hidden)]
pub use inventory;

/// The `main` of a test target on this harness (`harness = false` in its manifest).
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            $crate::run()
        }
    };
}

/// `both_backends!(name)` turns `async fn name(db: TestDatabase)` into two tests on a
/// multi-thread runtime, `name::postgres` (which needs Postgres) and `name::sqlite`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident) => {
        mod $name {
            #[$crate::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::TestDatabase::for_test().await).await;
            }

            #[$crate::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::TestDatabase::sqlite_for_test()).await;
            }
        }
    };
}
