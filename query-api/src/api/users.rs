//! The admin routes of one tag group: shoppers: the list, one profile, erasure.

use super::*;

/// Shoppers: the list, one profile, erasure.
#[derive(Debug)]
pub struct UsersApi {
    pub state: State,
}

#[OpenApi]
impl UsersApi {
    /// Users, paged
    ///
    /// Every user the read tables know, with their counters, stage, revenue and engagement
    /// score. Search in id, username and display name; sort; stable order (then by id).
    #[oai(
        path = "/admin/users",
        method = "get",
        operation_id = "listUsers",
        tag = "Tag::Users"
    )]
    async fn users(
        &self,
        _key: AdminKey,
        /// Case-insensitive part of the user id, or a username or display name (or a word of
        /// one) that is this or starts with it; names are compared as keyed hashes, so never a
        /// part from their middle (at most 200 characters).
        #[oai(validator(max_length = 200))]
        search: Query<Option<String>>,
        /// `last_seen` (default), `first_seen`, `messages`, `sessions`, `orders`, `stage` or
        /// `user_id`.
        sort: Query<Option<Text<params::UserSort>>>,
        /// `desc` (default) or `asc`.
        order: Query<Option<Text<params::Order>>>,
        /// 1-based page (default 1).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
        page: Query<Option<i64>>,
        /// Users per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        page_size: Query<Option<i64>>,
    ) -> Answer<UserPage> {
        let sort_name = text(&sort).unwrap_or("last_seen").to_owned();
        let sort = UserSort::parse(&sort_name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`sort` must be one of {} (got `{}`)",
                UserSort::NAMES.join(", "),
                clip(&sort_name)
            ))
        })?;
        let descending = descending(text(&order))?;
        let search = search_text(search.0.as_deref())?;
        let (page, page_size) = paging(page.0, page_size.0)?;
        let (total, items) = crate::figures::users(
            &self.state,
            search.as_deref(),
            sort,
            descending,
            (page - 1) * page_size,
            page_size,
        )
        .await?;
        Ok(Json(UserPage {
            total,
            page,
            page_size,
            sort: sort_name,
            order: order_name(descending),
            items,
        }))
    }

    /// One user in full
    ///
    /// Profile, counters, engagement score and its parts, preferences (budget, category,
    /// favourite products) and the conversation, newest first, a page at a time.
    #[oai(
        path = "/admin/users/:id",
        method = "get",
        operation_id = "getUser",
        tag = "Tag::Users"
    )]
    async fn user(
        &self,
        _key: AdminKey,
        /// The user id, `telegram:<id>` or `web:<id>`.
        id: Path<Text<params::UserId>>,
        /// Conversation messages before this log position (from `next_before`).
        #[oai(validator(minimum(value = "1")))]
        before: Query<Option<i64>>,
    ) -> UserAnswer<UserProfile> {
        let id = id.0.as_str();
        // Only a well-formed id can name a user; anything else (a NUL, which Postgres cannot
        // even compare, a path) is no user, without asking the database.
        if id.parse::<events_schema::UserId>().is_err() {
            return Err(ApiError::not_found(format!("no user `{}`", clip(id))).into());
        }
        let profile = crate::figures::user_profile(&self.state, id, before.0).await?;
        profile
            .map(Json)
            .ok_or_else(|| ApiError::not_found(format!("no user `{}`", clip(id))).into())
    }

    /// Erase a user
    ///
    /// Crypto-shredding: records `UserErased` in the user's stream and destroys their key.
    /// Their messages and names read as null with the `erased` flag from then on (API,
    /// replay, export), the user read tables drop them, and the aggregates stay as they were.
    /// Running it again is harmless.
    #[oai(
        path = "/admin/users/:id",
        method = "delete",
        operation_id = "eraseUser",
        tag = "Tag::Users"
    )]
    async fn erase_user(
        &self,
        _key: AdminKey,
        /// The user id, `telegram:<id>` or `web:<id>`.
        id: Path<Text<params::UserId>>,
    ) -> UserAnswer<ErasedUser> {
        let id = id.0.as_str();
        let user: events_schema::UserId = id.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "`{}` is not a user id (telegram:<id> or web:<id>)",
                clip(id)
            ))
        })?;
        let erased = self
            .state
            .store
            .erase_user(&user, "admin-api")
            .await
            .map_err(|error| {
                if error.is_transient() {
                    tracing::warn!(%error, user = %user, "admin API: the erasure did not finish");
                    ApiError::unavailable("the erasure did not finish; run it again later")
                } else {
                    tracing::error!(%error, user = %user, "admin API: the erasure failed (a bug)");
                    ApiError::internal()
                }
            })?
            .ok_or_else(|| ApiError::not_found(format!("no user `{}`", clip(id))))?;
        tracing::info!(user = %user, position = erased.position, "user erased through the admin API");
        Ok(Json(ErasedUser {
            user_id: user.to_string(),
            position: erased.position,
            key_destroyed: erased.key_destroyed,
        }))
    }
}
