//! One user and the users list, read from the `users`, `user_products`, `user_sales` and
//! `conversation_messages` tables.

use std::collections::BTreeMap;

use event_store::Pool;

use super::PerCurrency;
use crate::db::{Value, row, rows};

/// A `users` row with what the list and profile show.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: String,
    pub channel: String,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub first_seen_us: i64,
    pub last_seen_us: i64,
    pub messages: i64,
    pub sessions: i64,
    pub product_views: i64,
    pub stage: i64,
    pub budget_minor: Option<i64>,
    pub budget_currency: Option<String>,
    pub category: Option<String>,
    pub orders: i64,
    pub products_viewed: i64,
}

const USER_COLUMNS: &str = "user_id, channel, username, display_name, first_seen_us, \
    last_seen_us, messages, sessions, product_views, CAST(stage AS BIGINT) AS stage, \
    budget_minor, budget_currency, category, orders, \
    (SELECT COUNT(*) FROM user_products p WHERE p.user_id = users.user_id AND p.views > 0) \
      AS products_viewed";

/// How the users list is ordered (then by user id, so pages are stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    LastSeen,
    FirstSeen,
    Messages,
    Sessions,
    Orders,
    Stage,
    UserId,
}

impl UserSort {
    pub const NAMES: &'static [&'static str] = &[
        "last_seen",
        "first_seen",
        "messages",
        "sessions",
        "orders",
        "stage",
        "user_id",
    ];

    pub fn parse(s: &str) -> Option<UserSort> {
        Some(match s {
            "last_seen" => UserSort::LastSeen,
            "first_seen" => UserSort::FirstSeen,
            "messages" => UserSort::Messages,
            "sessions" => UserSort::Sessions,
            "orders" => UserSort::Orders,
            "stage" => UserSort::Stage,
            "user_id" => UserSort::UserId,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            UserSort::LastSeen => "last_seen_us",
            UserSort::FirstSeen => "first_seen_us",
            UserSort::Messages => "messages",
            UserSort::Sessions => "sessions",
            UserSort::Orders => "orders",
            UserSort::Stage => "stage",
            UserSort::UserId => "user_id",
        }
    }
}

/// `LIKE` pattern for a case-insensitive substring search (wildcards in it escaped).
fn like_pattern(search: &str) -> String {
    let mut pattern = String::from("%");
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// A page of users matching `search`, and how many match: a substring of the user id, or a
/// name (username or display name) or a word of one that is `search` or starts with it,
/// compared as keyed hashes (`users.name_hashes`, [`event_store::NameIndex`]): the names
/// themselves are sealed (docs/architecture.md, invariant 8).
pub async fn users_page(
    pool: &Pool,
    search: Option<&str>,
    names: &event_store::NameIndex,
    sort: UserSort,
    descending: bool,
    offset: i64,
    limit: i64,
) -> Result<(i64, Vec<UserRow>), sqlx::Error> {
    let filter = "($1 = '' OR LOWER(user_id) LIKE $1 ESCAPE '\\' \
        OR ($2 <> '' AND name_hashes LIKE $2))";
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let pattern = search.map_or_else(String::new, like_pattern);
    let name_pattern = search.and_then(|s| names.pattern(s)).unwrap_or_default();
    let (total,): (i64,) = row(
        pool,
        &format!("SELECT COUNT(*) FROM users WHERE {filter}"),
        &[
            Value::from(pattern.clone()),
            Value::from(name_pattern.clone()),
        ],
    )
    .await?;
    let direction = if descending { "DESC" } else { "ASC" };
    let page = rows(
        pool,
        &format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {filter} \
             ORDER BY {} {direction}, user_id ASC LIMIT $3 OFFSET $4",
            sort.column()
        ),
        &[
            Value::from(pattern),
            Value::from(name_pattern),
            Value::from(limit),
            Value::from(offset),
        ],
    )
    .await?;
    Ok((total, page))
}

/// Revenue per currency of each of `users`.
pub async fn user_sales(
    pool: &Pool,
    users: &[String],
) -> Result<BTreeMap<String, (i64, PerCurrency)>, sqlx::Error> {
    let mut out: BTreeMap<String, (i64, PerCurrency)> = BTreeMap::new();
    if users.is_empty() {
        return Ok(out);
    }
    let list: Vec<String> = (1..=users.len()).map(|i| format!("${i}")).collect();
    let binds: Vec<Value> = users.iter().cloned().map(Value::from).collect();
    let sales: Vec<(String, String, i64, i64)> = rows(
        pool,
        &format!(
            "SELECT user_id, currency, orders, revenue_minor FROM user_sales \
             WHERE user_id IN ({})",
            list.join(", ")
        ),
        &binds,
    )
    .await?;
    for (user, currency, orders, revenue) in sales {
        let entry = out.entry(user).or_default();
        entry.0 += orders;
        entry.1.insert(currency, revenue);
    }
    Ok(out)
}

/// One user's row.
pub async fn user(pool: &Pool, user_id: &str) -> Result<Option<UserRow>, sqlx::Error> {
    Ok(rows(
        pool,
        &format!("SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"),
        &[Value::from(user_id.to_owned())],
    )
    .await?
    .into_iter()
    .next())
}

/// Whether the user was erased (a key destroyed, none live): `DELETE /admin/users/{id}` answers
/// once the key is gone, before the projector drops the user's rows, and a profile read in
/// between must already say the user is gone.
pub async fn erased(pool: &Pool, user_id: &str) -> Result<bool, sqlx::Error> {
    let (destroyed, live): (i64, i64) = row(
        pool,
        "SELECT CAST(COUNT(*) - COUNT(wrapped_key) AS BIGINT), \
                CAST(COUNT(wrapped_key) AS BIGINT) \
         FROM user_keys WHERE user_id = $1",
        &[Value::from(user_id.to_owned())],
    )
    .await?;
    Ok(destroyed > 0 && live == 0)
}

/// A user's products, most viewed first: (product, views, intents, units).
pub async fn user_products(
    pool: &Pool,
    user_id: &str,
) -> Result<Vec<(String, i64, i64, i64)>, sqlx::Error> {
    rows(
        pool,
        "SELECT product_id, views, intents, units FROM user_products WHERE user_id = $1 \
         ORDER BY views DESC, intents DESC, product_id ASC",
        &[Value::from(user_id.to_owned())],
    )
    .await
}

/// A message in or reply out.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MessageRow {
    pub global_position: i64,
    pub occurred_us: i64,
    pub direction: String,
    pub text: Option<String>,
    pub intent: Option<String>,
    pub sentiment: Option<String>,
    pub product_id: Option<String>,
}

/// Up to `limit` of a user's messages before log position `before`, newest first, and how
/// many the user has in all.
pub async fn user_messages(
    pool: &Pool,
    user_id: &str,
    before: i64,
    limit: i64,
) -> Result<(i64, Vec<MessageRow>), sqlx::Error> {
    let (total,): (i64,) = row(
        pool,
        "SELECT COUNT(*) FROM conversation_messages WHERE user_id = $1",
        &[Value::from(user_id.to_owned())],
    )
    .await?;
    let messages = rows(
        pool,
        "SELECT global_position, occurred_us, direction, text, intent, sentiment, product_id \
         FROM conversation_messages WHERE user_id = $1 AND global_position < $2 \
         ORDER BY global_position DESC LIMIT $3",
        &[
            Value::from(user_id.to_owned()),
            Value::from(before),
            Value::from(limit),
        ],
    )
    .await?;
    Ok((total, messages))
}
