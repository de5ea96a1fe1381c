//! The copies a rebuild writes into: empty `<table>_rebuild` tables made from the live tables'
//! own definitions, read back per backend (Postgres's catalog, SQLite's `sqlite_master`), with
//! the indexes a bulk write does not need deferred until its rows are in.

use event_store::db;
use event_store::{Pool, Tx};

use super::SUFFIX;
use crate::apply::{self, ProjectorError};
use crate::model::Projection;

/// Tables whose rows are each one event: a bulk read visits every event once, so it never
/// writes one of their rows twice, and they are filled with plain inserts into a copy without
/// indexes (the key is built once the rows are in: one sort instead of a lookup per row).
pub(crate) const APPEND_ONLY: &[&str] = &["conversation_messages"];

/// Creates empty `<table>_rebuild` copies of the projections' tables, dropping any left by an
/// interrupted rebuild. On Postgres a copy gets only the primary key its upserts need; the other
/// indexes (and the key of an append-only table) are returned, to be built after the bulk
/// write, per table.
pub(super) async fn create_copies(
    pool: &Pool,
    projections: &[Projection],
) -> Result<Vec<Vec<String>>, ProjectorError> {
    let mut tx = apply::begin(pool).await?;
    let mut deferred = Vec::new();
    for projection in projections {
        for table in projection.tables() {
            db::query(format!("DROP TABLE IF EXISTS {table}{SUFFIX}"))
                .execute(&mut tx)
                .await?;
            match &mut tx {
                Tx::Postgres(t) => {
                    sqlx::query(&format!(
                        "CREATE TABLE {table}{SUFFIX} \
                           (LIKE {table} INCLUDING ALL EXCLUDING INDEXES)"
                    ))
                    .execute(&mut **t)
                    .await?;
                    // The live table's key (as a constraint) and other indexes.
                    let indexes: Vec<(bool, String)> = sqlx::query_as(
                        "SELECT i.indisprimary, CASE WHEN i.indisprimary \
                           THEN pg_get_constraintdef(c.oid) ELSE pg_get_indexdef(i.indexrelid) END \
                         FROM pg_index i LEFT JOIN pg_constraint c \
                           ON c.conindid = i.indexrelid AND c.contype = 'p' \
                         WHERE i.indrelid = $1::regclass ORDER BY i.indexrelid",
                    )
                    .bind(*table)
                    .fetch_all(&mut **t)
                    .await?;
                    let mut later = Vec::new();
                    for (primary, definition) in indexes {
                        let statement = if primary {
                            format!("ALTER TABLE {table}{SUFFIX} ADD {definition}")
                        } else {
                            // `CREATE [UNIQUE] INDEX name ON public.t USING …`: unnamed on the
                            // copy (index names are unique per schema).
                            let (Some(head), Some(using)) =
                                (definition.find(" INDEX "), definition.find(" USING "))
                            else {
                                return Err(ProjectorError::Config(format!(
                                    "cannot copy the index `{definition}` of {table}"
                                )));
                            };
                            format!(
                                "{} INDEX ON {table}{SUFFIX}{}",
                                &definition[..head],
                                &definition[using..]
                            )
                        };
                        if primary && !APPEND_ONLY.contains(table) {
                            sqlx::query(&statement).execute(&mut **t).await?;
                        } else {
                            later.push(statement);
                        }
                    }
                    deferred.push(later);
                }
                Tx::Sqlite(t) => {
                    let ddl: Vec<(String, String, String)> = sqlx::query_as(
                        "SELECT type, name, sql FROM sqlite_master \
                         WHERE tbl_name = ?1 AND sql IS NOT NULL ORDER BY type DESC",
                    )
                    .bind(*table)
                    .fetch_all(&mut **t)
                    .await?;
                    for (kind, name, sql) in ddl {
                        // After a rename SQLite quotes names in the stored DDL, so keep only
                        // what follows the first parenthesis and write the head anew.
                        let Some(body) = sql.find('(').map(|i| &sql[i..]) else {
                            continue;
                        };
                        let copy = if kind == "table" {
                            format!("CREATE TABLE {table}{SUFFIX} {body}")
                        } else {
                            // Index names are unique per database: alternate a suffix.
                            let new_name = match name.strip_suffix("__r") {
                                Some(base) => base.to_owned(),
                                None => format!("{name}__r"),
                            };
                            format!("CREATE INDEX {new_name} ON {table}{SUFFIX} {body}")
                        };
                        sqlx::query(&copy).execute(&mut **t).await?;
                    }
                }
            }
        }
    }
    tx.commit().await?;
    Ok(deferred)
}

/// Builds the deferred indexes: each table's in order, two tables at a time (index builds sort,
/// and a machine has more than one core).
pub(super) async fn build_deferred(
    pool: &Pool,
    deferred: &[Vec<String>],
) -> Result<(), ProjectorError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    let Pool::Postgres(pg) = pool else {
        return Ok(());
    };
    futures::stream::iter(deferred.iter().filter(|d| !d.is_empty()))
        .map(|statements| async move {
            let mut conn = pg.acquire().await?;
            for statement in statements {
                sqlx::query(statement).execute(&mut *conn).await?;
            }
            Ok::<_, ProjectorError>(())
        })
        .buffer_unordered(2)
        .try_collect::<()>()
        .await
}
