//! Errors of the event store, each saying what the caller should do about it.

use events_schema::StreamId;

use crate::ExpectedVersion;

/// Something went wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Fix the configuration (the message names the variable).
    #[error("{0}")]
    Config(String),
    /// Start the database or fix `DATABASE_URL`.
    #[error("cannot reach the database at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// Upgrade salesbot: the database was migrated by a newer build.
    #[error(
        "the database has migration {version} which this build of salesbot does not know; \
         run a newer salesbot against it"
    )]
    MigrationTooNew { version: i64 },
    /// Run `salesbot migrate`.
    #[error(
        "the database schema is not up to date ({pending} migration(s) pending); run `salesbot migrate`"
    )]
    MigrationsPending { pending: usize },
    /// Restore the migration file as it was: applied migrations are never edited.
    #[error(
        "migration {version} was changed after it was applied; restore it and add a new migration instead"
    )]
    MigrationEdited { version: i64 },
    #[error("migrating the database failed: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// Use the master key this database was created with.
    #[error(
        "SALESBOT_MASTER_KEY does not match the key this database's personal data was encrypted with"
    )]
    WrongMasterKey,
    /// The stored log holds something this build cannot read; nothing was written.
    #[error("event at global position {global_position} is corrupt: {reason}")]
    Corrupt {
        global_position: i64,
        reason: String,
    },
    /// A stored per-user key cannot be unwrapped with a master key that passed the check.
    #[error("the stored key {key_id} is corrupt: {reason}")]
    CorruptKey { key_id: uuid::Uuid, reason: String },
    /// Transient or unexpected database failure: retry, and look at the database logs.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The batch this append was part of failed (the first request got the cause): retry.
    #[error("the append's batch failed: {0}; retry")]
    Batch(String),
    /// A bug: writing the batch panicked. Nothing of it was committed.
    #[error("writing the batch panicked (a bug); nothing was written")]
    Panicked,
    /// The store's writer task is gone (the process is shutting down).
    #[error("the event store is shutting down")]
    Closed,
    /// An invariant of salesbot did not hold: a bug, not something to configure or retry. The
    /// message says which; nothing was written.
    #[error("internal error (a bug): {0}")]
    Internal(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// `import-log` restores into a new, empty database only (docs/decisions/0018); nothing was
    /// written.
    #[error(
        "the store is not empty ({events} events, {keys} keys, positions handed out up to \
         {head}); import-log restores into a new, empty database only: point DATABASE_URL at \
         a new database (Postgres: createdb; embedded: another data folder)"
    )]
    NotEmpty { events: i64, keys: i64, head: i64 },
    /// The backup file is not one this release can import; nothing was written.
    #[error("the backup cannot be imported: {0}; nothing was written")]
    BadImport(String),
}

impl StoreError {
    /// Whether retrying later may succeed: the database unreachable, busy or restarting, a
    /// batch that failed for such a reason, the store shutting down. Everything else (a bug,
    /// corrupt data, a wrong key, a schema out of date) fails the same way again.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Unreachable { .. } | StoreError::Batch(_) | StoreError::Closed => true,
            StoreError::Database(e) => transient_sqlx(e),
            StoreError::Io(_) => true,
            _ => false,
        }
    }
}

/// Whether a database error is worth a retry: the connection or the pool failed, or the
/// database refused for now (Postgres SQLSTATE classes 08 connection, 40 transaction rollback
/// such as a deadlock, 53 insufficient resources, 55 object not in prerequisite state such as a
/// database closed to connections or a lock not available, 57 operator intervention; SQLite
/// busy or locked). A query the database cannot run (a missing table, a type mismatch) is a
/// bug.
pub fn transient_sqlx(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            ["08", "40", "53", "55", "57"]
                .iter()
                .any(|class| code.starts_with(class))
                || matches!(code.as_ref(), "5" | "6" | "261" | "262" | "517")
        }),
        _ => false,
    }
}

/// Why an append was refused. Nothing of the refused request was written.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    /// Another writer appended to the stream first: reload the stream, decide again, retry.
    #[error("stream {stream_id} is at version {actual}, expected {expected:?}")]
    Conflict {
        stream_id: StreamId,
        expected: ExpectedVersion,
        actual: i64,
    },
    /// Some, not all, of the request's event ids are stored already: a client bug.
    #[error("some event ids of this append are stored already, others are not: {0}")]
    PartialDuplicate(String),
    /// The request itself is wrong (empty, personal data on a stream without a user, …).
    #[error("invalid append: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AppendError {
    /// Whether retrying may succeed: a conflict (after reloading) or a transient store fault.
    pub fn is_transient(&self) -> bool {
        match self {
            AppendError::Conflict { .. } => true,
            AppendError::Store(e) => e.is_transient(),
            AppendError::PartialDuplicate(_) | AppendError::Invalid(_) => false,
        }
    }
}
