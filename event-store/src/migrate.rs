//! Schema migrations (`migrations/postgres`, `migrations/sqlite`), embedded in the binary and
//! applied at start-up of every process. A database migrated by a newer build is refused.

use sqlx::migrate::{MigrateError, Migrator};

use crate::{Pool, StoreError};

static POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");

/// How the database's schema compares with this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Migrations this build carries.
    pub known: usize,
    /// Versions applied to the database.
    pub applied: Vec<i64>,
    /// Versions this build would apply.
    pub pending: Vec<i64>,
}

fn migrator(pool: &Pool) -> &'static Migrator {
    match pool {
        Pool::Postgres(_) => &POSTGRES,
        Pool::Sqlite(_) => &SQLITE,
    }
}

/// Reads what is applied, refusing migrations this build does not know or that were edited.
pub(crate) async fn status(pool: &Pool) -> Result<MigrationStatus, StoreError> {
    let applied: Vec<(i64, Vec<u8>)> = match pool {
        Pool::Postgres(p) => {
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(p)
                    .await?;
            if exists {
                sqlx::query_as(
                    "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
                )
                .fetch_all(p)
                .await?
            } else {
                Vec::new()
            }
        }
        Pool::Sqlite(p) => {
            let exists: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            )
            .fetch_one(p)
            .await?;
            if exists > 0 {
                sqlx::query_as(
                    "SELECT version, checksum FROM _sqlx_migrations WHERE success ORDER BY version",
                )
                .fetch_all(p)
                .await?
            } else {
                Vec::new()
            }
        }
    };
    let migrator = migrator(pool);
    for (version, checksum) in &applied {
        match migrator.iter().find(|m| m.version == *version) {
            None => return Err(StoreError::MigrationTooNew { version: *version }),
            Some(m) if m.checksum.as_ref() != checksum.as_slice() => {
                return Err(StoreError::MigrationEdited { version: *version });
            }
            Some(_) => {}
        }
    }
    let applied: Vec<i64> = applied.into_iter().map(|(v, _)| v).collect();
    let pending = migrator
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect();
    Ok(MigrationStatus {
        known: migrator.iter().count(),
        applied,
        pending,
    })
}

pub(crate) async fn apply(pool: &Pool) -> Result<(), StoreError> {
    let result = match pool {
        Pool::Postgres(p) => POSTGRES.run(p).await,
        Pool::Sqlite(p) => SQLITE.run(p).await,
    };
    result.map_err(|e| match e {
        MigrateError::VersionMissing(version) => StoreError::MigrationTooNew { version },
        MigrateError::VersionMismatch(version) => StoreError::MigrationEdited { version },
        other => StoreError::Migrate(other),
    })
}
