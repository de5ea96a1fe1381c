//! Where the log lives (`DATABASE_URL`) and the master key that protects personal data.

use std::path::PathBuf;
use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use crate::crypto::MasterKey;

/// Which database backs the store; chosen by the scheme of `DATABASE_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Postgres,
    Sqlite,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Postgres => "postgres",
            BackendKind::Sqlite => "sqlite",
        }
    }
}

/// A validated `DATABASE_URL`. `Display` and `Debug` hide the password.
#[derive(Clone)]
pub struct DatabaseUrl {
    raw: String,
    kind: BackendKind,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            PgConnectOptions::from_str(raw)
                .map_err(|e| format!("not a valid Postgres URL: {e}"))?;
            url::Url::parse(raw).map_err(|e| format!("not a valid Postgres URL: {e}"))?;
            Ok(DatabaseUrl {
                raw: raw.to_owned(),
                kind: BackendKind::Postgres,
            })
        } else if raw.starts_with("sqlite:") {
            if raw
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .is_empty()
            {
                return Err(
                    "a SQLite URL needs a file path, e.g. sqlite://data/salesbot.db".into(),
                );
            }
            SqliteConnectOptions::from_str(raw)
                .map_err(|e| format!("not a valid SQLite URL: {e}"))?;
            Ok(DatabaseUrl {
                raw: raw.to_owned(),
                kind: BackendKind::Sqlite,
            })
        } else {
            Err(format!(
                "`{}` must start with postgres:// or sqlite:// (e.g. sqlite://data/salesbot.db)",
                redact(raw)
            ))
        }
    }

    pub fn kind(&self) -> BackendKind {
        self.kind
    }

    /// The URL with its password, for connecting.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The folder of the SQLite file (where embedded mode keeps its generated keys).
    pub fn sqlite_dir(&self) -> Option<PathBuf> {
        if self.kind != BackendKind::Sqlite {
            return None;
        }
        let path = self.sqlite_path()?;
        Some(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
        )
    }

    pub(crate) fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.raw.strip_prefix("sqlite:")?;
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

fn redact(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_owned(),
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&redact(&self.raw))
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Everything needed to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub database_url: DatabaseUrl,
    pub master_key: MasterKey,
    /// Connections in the pool (the writer uses one at a time; the rest serve readers).
    pub max_connections: u32,
}

impl StoreConfig {
    pub fn new(database_url: DatabaseUrl, master_key: MasterKey) -> Self {
        StoreConfig {
            database_url,
            master_key,
            max_connections: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend() {
        let pg = DatabaseUrl::parse("postgres://postgres:secret@127.0.0.1:5432/postgres")
            .expect("valid");
        assert_eq!(pg.kind(), BackendKind::Postgres);
        assert!(!pg.to_string().contains("secret"));
        assert!(!format!("{pg:?}").contains("secret"));
        let lite = DatabaseUrl::parse("sqlite://data/salesbot.db").expect("valid");
        assert_eq!(lite.kind(), BackendKind::Sqlite);
        assert_eq!(lite.sqlite_dir(), Some(PathBuf::from("data")));
        let bare = DatabaseUrl::parse("sqlite:salesbot.db").expect("valid");
        assert_eq!(bare.sqlite_dir(), Some(PathBuf::from(".")));
    }

    #[test]
    fn malformed_urls_are_refused_with_a_reason() {
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert!(DatabaseUrl::parse("postgres://host:notaport/db").is_err());
        let err = DatabaseUrl::parse("http://user:pw@x").expect_err("refused");
        assert!(!err.contains("pw"), "{err}");
    }
}
