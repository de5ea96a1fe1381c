//! Leases: at most one holder of a named lease at a time across every process on the database,
//! for work that must run once however many instances run (the Telegram outbox sender, the
//! outbox relay). On Postgres a lease is a session-level advisory lock on its own connection:
//! if the holder dies, its connection closes and the lock is free at once. On SQLite (embedded
//! mode, one process) the lease is always granted.

use sqlx::Connection as _;

use crate::{EventStore, Pool, StoreError};

/// A held lease; dropping it releases it.
#[derive(Debug)]
pub struct Lease {
    name: String,
    conn: Option<sqlx::PgConnection>,
}

impl EventStore {
    /// Takes the lease `name` if nobody holds it; `None` when another holder has it.
    pub async fn try_lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        match &self.shared.pool {
            Pool::Sqlite(_) => Ok(Some(Lease {
                name: name.to_owned(),
                conn: None,
            })),
            Pool::Postgres(p) => {
                let mut conn = p.acquire().await?.detach();
                let taken: bool =
                    sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                        .bind(format!("salesbot-lease:{name}"))
                        .fetch_one(&mut conn)
                        .await?;
                if taken {
                    Ok(Some(Lease {
                        name: name.to_owned(),
                        conn: Some(conn),
                    }))
                } else {
                    let _ = conn.close().await;
                    Ok(None)
                }
            }
        }
    }
}

impl Lease {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the lease is still held (its connection still answers).
    pub async fn is_held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => conn.ping().await.is_ok(),
        }
    }
}
