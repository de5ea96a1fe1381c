//! Configuration: every variable of ARCHITECTURE.md, read from the environment (and `.env`),
//! typed and validated at start-up with a message naming the variable at fault. Secrets are
//! wrapped so `Debug` never prints them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use command_service::limits::Rate;
use event_store::{BackendKind, DatabaseUrl, MasterKey, StoreConfig};
use secrecy::SecretString;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/salesbot.db";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";

/// A variable with a bad value.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The whole configuration of a salesbot process.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub master_key: Option<MasterKey>,
    /// `nats://…` URLs, comma-separated for a cluster.
    pub nats_url: Option<String>,
    pub admin_api_key: Option<SecretString>,
    pub telegram_bot_token: Option<SecretString>,
    pub telegram_webhook_url: Option<url::Url>,
    pub telegram_webhook_secret: Option<SecretString>,
    pub telegram_api_url: Option<url::Url>,
    pub telegram_payment_provider_token: Option<SecretString>,
    pub partitions: u16,
    pub catalog_path: Option<PathBuf>,
    pub llm_api_url: Option<url::Url>,
    pub llm_api_key: Option<SecretString>,
    pub llm_model: Option<String>,
    pub report_timezone: chrono_tz::Tz,
    pub bind_addr: SocketAddr,
    pub stream_replicas: u8,
    pub stream_max_age: Option<Duration>,
    pub log_format: LogFormat,
    /// `CHAT_API_KEY`: lets a shop's backend name its web users.
    pub chat_api_key: Option<SecretString>,
    /// `CHAT_SESSION_TTL`: how long an anonymous web session lasts.
    pub chat_session_ttl: Duration,
    /// `CHAT_USER_RATE` / `CHAT_USER_BURST`: messages a minute per user, every channel.
    pub chat_user_rate: Rate,
    /// `CHAT_ADDRESS_RATE` / `CHAT_ADDRESS_BURST`: web requests a minute per network address
    /// without `X-Chat-Key`.
    pub chat_address_rate: Rate,
    /// `CHAT_TRUST_FORWARDED_FOR`: take the web caller's address from `X-Forwarded-For`.
    pub chat_trust_forwarded_for: bool,
}

/// Defaults of the abuse limits (README, "Limits").
pub const DEFAULT_USER_RATE: Rate = Rate {
    per_minute: 20,
    burst: 10,
};
pub const DEFAULT_ADDRESS_RATE: Rate = Rate {
    per_minute: 60,
    burst: 30,
};
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(30 * 24 * 3_600);

fn count(name: &'static str, default: u32) -> Result<u32, ConfigError> {
    Ok(parse(name, |v| {
        v.parse::<u32>()
            .ok()
            .filter(|n| *n <= 1_000_000)
            .ok_or_else(|| format!("must be a whole number from 0 to 1000000, got `{v}`"))
    })?
    .unwrap_or(default))
}

/// A rate from its two variables; a burst of 0 means the same as the rate.
fn rate(per_minute: &'static str, burst: &'static str, default: Rate) -> Result<Rate, ConfigError> {
    Ok(Rate {
        per_minute: count(per_minute, default.per_minute)?,
        burst: count(burst, default.burst)?,
    })
}

/// Reads a variable; unset and empty are the same.
fn var(name: &'static str) -> Result<Option<String>, ConfigError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError {
            variable: name,
            message: "is not valid UTF-8".into(),
        }),
    }
}

fn parse<T>(
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, ConfigError> {
    var(name)?
        .map(|v| {
            parse(&v).map_err(|message| ConfigError {
                variable: name,
                message,
            })
        })
        .transpose()
}

fn http_url(v: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(v).map_err(|e| format!("`{v}` is not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "must be an http:// or https:// URL, got {other}://"
        )),
    }
}

fn secret(name: &'static str) -> Result<Option<SecretString>, ConfigError> {
    Ok(var(name)?.map(SecretString::from))
}

impl Config {
    /// Loads `.env` (if present) and then reads the environment.
    pub fn load() -> Result<Config, ConfigError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(ConfigError {
                    variable: ".env",
                    message: e.to_string(),
                });
            }
        }
        Self::from_env()
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        let database_url = parse("DATABASE_URL", DatabaseUrl::parse)?
            .map_or_else(|| DatabaseUrl::parse(DEFAULT_DATABASE_URL), Ok)
            .map_err(|message| ConfigError {
                variable: "DATABASE_URL",
                message,
            })?;
        let master_key = parse("SALESBOT_MASTER_KEY", MasterKey::from_base64)?;
        // One server, or a cluster's servers separated by commas.
        let nats_url = parse("NATS_URL", |v| {
            for one in v.split(',').map(str::trim) {
                let url = url::Url::parse(one).map_err(|e| format!("`{one}` is not a URL: {e}"))?;
                match url.scheme() {
                    "nats" | "tls" | "ws" | "wss" => {}
                    other => return Err(format!("must be nats:// URLs, got {other}://")),
                }
            }
            Ok(v.split(',').map(str::trim).collect::<Vec<_>>().join(","))
        })?;
        let telegram_bot_token = secret("TELEGRAM_BOT_TOKEN")?;
        let telegram_webhook_url = parse("TELEGRAM_WEBHOOK_URL", |v| {
            let url = http_url(v)?;
            if url.scheme() != "https" {
                return Err("Telegram only calls https:// webhooks".into());
            }
            Ok(url)
        })?;
        let telegram_webhook_secret = parse("TELEGRAM_WEBHOOK_SECRET", |v| {
            // Telegram's own rule for secret_token.
            let ok = (1..=256).contains(&v.len())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if ok {
                Ok(SecretString::from(v.to_owned()))
            } else {
                Err("must be 1-256 characters of A-Z, a-z, 0-9, `_` and `-`".into())
            }
        })?;
        if telegram_webhook_url.is_some() && telegram_webhook_secret.is_none() {
            return Err(ConfigError {
                variable: "TELEGRAM_WEBHOOK_SECRET",
                message: "is required when TELEGRAM_WEBHOOK_URL is set (webhook calls are checked \
                          against it)"
                    .into(),
            });
        }
        let llm_api_url = parse("LLM_API_URL", http_url)?;
        let llm_model = var("LLM_MODEL")?;
        if llm_api_url.is_some() && llm_model.is_none() {
            return Err(ConfigError {
                variable: "LLM_MODEL",
                message: "is required when LLM_API_URL is set (e.g. gpt-4o-mini)".into(),
            });
        }
        let partitions = parse("PARTITIONS", |v| match v.parse::<u16>() {
            Ok(n) if (1..=1024).contains(&n) => Ok(n),
            _ => Err(format!("must be a whole number from 1 to 1024, got `{v}`")),
        })?
        .unwrap_or(8);
        let catalog_path = parse("CATALOG_PATH", |v| {
            let path = PathBuf::from(v);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("no file at `{v}`"))
            }
        })?;
        let report_timezone = parse("REPORT_TIMEZONE", |v| {
            v.parse::<chrono_tz::Tz>()
                .map_err(|_| format!("`{v}` is not an IANA time zone such as Europe/Berlin or UTC"))
        })?
        .unwrap_or(chrono_tz::UTC);
        let bind_addr = parse("BIND_ADDR", |v| {
            v.parse::<SocketAddr>()
                .map_err(|_| format!("`{v}` is not host:port such as 127.0.0.1:8080"))
        })?
        .map_or_else(
            || {
                DEFAULT_BIND_ADDR.parse().map_err(|_| ConfigError {
                    variable: "BIND_ADDR",
                    message: "default is invalid".into(),
                })
            },
            Ok,
        )?;
        let stream_replicas = parse("STREAM_REPLICAS", |v| match v.parse::<u8>() {
            Ok(n) if (1..=5).contains(&n) => Ok(n),
            _ => Err(format!("must be 1 to 5 (JetStream's limit), got `{v}`")),
        })?
        .unwrap_or(1);
        let stream_max_age = parse("STREAM_MAX_AGE", |v| {
            if v.eq_ignore_ascii_case("unlimited") {
                return Ok(None);
            }
            humantime::parse_duration(v)
                .map(Some)
                .map_err(|e| format!("`{v}` is not a duration such as 30d or 12h: {e}"))
        })?
        .flatten();
        let log_format = parse("LOG_FORMAT", |v| match v {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("must be `text` or `json`, got `{v}`")),
        })?
        .unwrap_or(LogFormat::Text);
        if let Some(filter) = var("RUST_LOG")? {
            tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| ConfigError {
                variable: "RUST_LOG",
                message: e.to_string(),
            })?;
        }
        Ok(Config {
            database_url,
            master_key,
            nats_url,
            admin_api_key: secret("ADMIN_API_KEY")?,
            telegram_bot_token,
            telegram_webhook_url,
            telegram_webhook_secret,
            telegram_api_url: parse("TELEGRAM_API_URL", http_url)?,
            telegram_payment_provider_token: secret("TELEGRAM_PAYMENT_PROVIDER_TOKEN")?,
            partitions,
            catalog_path,
            llm_api_url,
            llm_api_key: secret("LLM_API_KEY")?,
            llm_model,
            report_timezone,
            bind_addr,
            stream_replicas,
            stream_max_age,
            log_format,
            chat_api_key: parse("CHAT_API_KEY", |v| {
                if v.len() < 16 {
                    Err("must be at least 16 characters (e.g. `openssl rand -hex 24`)".into())
                } else {
                    Ok(SecretString::from(v.to_owned()))
                }
            })?,
            chat_session_ttl: parse("CHAT_SESSION_TTL", |v| {
                humantime::parse_duration(v)
                    .ok()
                    .filter(|d| {
                        *d >= Duration::from_secs(60) && *d <= Duration::from_secs(400 * 86_400)
                    })
                    .ok_or_else(|| {
                        format!("must be a duration from 1m to 400d such as 30d, got `{v}`")
                    })
            })?
            .unwrap_or(DEFAULT_SESSION_TTL),
            chat_user_rate: rate("CHAT_USER_RATE", "CHAT_USER_BURST", DEFAULT_USER_RATE)?,
            chat_address_rate: rate(
                "CHAT_ADDRESS_RATE",
                "CHAT_ADDRESS_BURST",
                DEFAULT_ADDRESS_RATE,
            )?,
            chat_trust_forwarded_for: parse("CHAT_TRUST_FORWARDED_FOR", |v| match v {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(format!("must be `true` or `false`, got `{v}`")),
            })?
            .unwrap_or(false),
        })
    }

    /// The folder embedded mode keeps its files in (beside the SQLite database).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.database_url.sqlite_dir()
    }

    /// The admin API key: `ADMIN_API_KEY`, or in embedded mode one generated on first start
    /// into `admin.key` in the data folder (and the same one after). Returns the key and
    /// whether it came from that file.
    pub fn admin_key(&self) -> Result<(String, Option<PathBuf>), ConfigError> {
        use secrecy::ExposeSecret as _;
        if let Some(key) = &self.admin_api_key {
            return Ok((key.expose_secret().to_owned(), None));
        }
        if self.database_url.kind() == BackendKind::Postgres {
            return Err(ConfigError {
                variable: "ADMIN_API_KEY",
                message: "is required with a Postgres DATABASE_URL (the admin API and dashboard \
                          need it); generate one with `openssl rand -hex 24`"
                    .into(),
            });
        }
        let path = self
            .data_dir()
            .unwrap_or_else(|| PathBuf::from("."))
            .join("admin.key");
        let unusable = |e: std::io::Error| ConfigError {
            variable: "ADMIN_API_KEY",
            message: format!(
                "unset, and the key file {} is unusable: {e}",
                path.display()
            ),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) if !text.trim().is_empty() => Ok((text.trim().to_owned(), Some(path))),
            Ok(_) => Err(unusable(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "it is empty",
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use rand::RngCore as _;
                let mut bytes = [0u8; 24];
                rand::rng().fill_bytes(&mut bytes);
                let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(unusable)?;
                }
                write_private(&path, &key).map_err(unusable)?;
                Ok((key, Some(path)))
            }
            Err(e) => Err(unusable(e)),
        }
    }

    /// The store's configuration. In embedded mode an unset master key is generated once into
    /// the data folder; with Postgres it must be given.
    pub fn store_config(&self) -> Result<StoreConfig, ConfigError> {
        let master_key = match (&self.master_key, self.database_url.kind()) {
            (Some(key), _) => key.clone(),
            (None, BackendKind::Sqlite) => {
                let path = self
                    .data_dir()
                    .unwrap_or_else(|| PathBuf::from("."))
                    .join("master.key");
                MasterKey::load_or_generate(&path).map_err(|e| ConfigError {
                    variable: "SALESBOT_MASTER_KEY",
                    message: format!(
                        "unset, and the key file {} is unusable: {e}",
                        path.display()
                    ),
                })?
            }
            (None, BackendKind::Postgres) => {
                return Err(ConfigError {
                    variable: "SALESBOT_MASTER_KEY",
                    message: "is required with a Postgres DATABASE_URL; generate one with \
                              `openssl rand -base64 32` and keep it outside the database"
                        .into(),
                });
            }
        };
        Ok(StoreConfig::new(self.database_url.clone(), master_key))
    }
}

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
