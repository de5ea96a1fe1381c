//! The admin routes of one tag group: figures for a period, and health.

use super::*;

/// Figures for a period, and health.
#[derive(Debug)]
pub struct AnalyticsApi {
    pub state: State,
}

#[OpenApi]
impl AnalyticsApi {
    /// Health of every part
    ///
    /// The database, NATS (distributed mode) and each projection partition's checkpoint, lag
    /// and heartbeat. 503 when a part is down, or a partition is stalled (no heartbeat, or no
    /// progress while events wait), reports a fault or has parked events. Needs no key.
    #[oai(
        path = "/admin/health",
        method = "get",
        operation_id = "getHealth",
        tag = "Tag::Health"
    )]
    async fn health(&self) -> HealthResponse {
        let health = crate::health::check(&self.state, STALE_AFTER).await;
        if health.status == "ok" {
            HealthResponse::Ok(Json(health))
        } else {
            HealthResponse::Degraded(Json(health))
        }
    }

    /// Parked events
    ///
    /// Events the projector could not decode (a newer release wrote them during a rolling
    /// upgrade, their key row is missing, they are damaged) and the later events of the same
    /// streams waiting behind them, each with the reason, in position order. They are applied
    /// by themselves once they decode; meanwhile `/admin/health` answers 503 naming their
    /// partitions.
    #[oai(
        path = "/admin/parked-events",
        method = "get",
        operation_id = "listParkedEvents",
        tag = "Tag::Health"
    )]
    async fn parked_events(&self, _key: AdminKey) -> Answer<ParkedEvents> {
        use event_store::progress::parked;
        let pool = self.state.store.pool();
        let total = parked::counts(pool)
            .await
            .map_err(ApiError::from)?
            .values()
            .sum();
        let events = parked::list(pool, None, 1_000)
            .await
            .map_err(ApiError::from)?
            .into_iter()
            .map(|p| ParkedEvent {
                global_position: p.global_position,
                partition: p.partition,
                stream_id: p.stream_id,
                event_type: p.event_type,
                projections: p.projections,
                reason: p.reason,
                parked_at: p.parked_at,
            })
            .collect();
        Ok(Json(ParkedEvents { total, events }))
    }

    /// Everything the dashboard shows
    ///
    /// KPIs with their change against the previous period of the same length, the funnel, one
    /// row per day, the ten most viewed products, carts (abandoned and the value left in them),
    /// shop questions per topic and the projection lag.
    #[oai(
        path = "/admin/dashboard",
        method = "get",
        operation_id = "getDashboard",
        tag = "Tag::Analytics"
    )]
    async fn dashboard(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// Historical figures: a log position (as the figures stood once the events through it
        /// were applied) or an RFC 3339 date-time (the last position recorded at or before it).
        /// `days` and a missing `to` then count from that day. Replays the log up to there into a
        /// temporary model, kept for the next requests (README, "Time travel").
        as_of: Query<Option<Text<params::AsOf>>>,
    ) -> Answer<Dashboard> {
        let reading = self.state.reading(text(&as_of)).await?;
        let period = self.state.period_at(&days, &from, &to, reading.now)?;
        if reading.as_of.is_some() {
            let dashboard =
                crate::figures::dashboard(&self.state, reading.pool(), period, reading.now).await?;
            return Ok(Json(Dashboard {
                as_of: reading.as_of,
                ..dashboard
            }));
        }
        let pool = self.state.store.pool();
        let dashboard = self
            .state
            .dashboards
            .get_or(
                pool,
                period,
                crate::figures::dashboard(&self.state, pool, period, reading.now),
            )
            .await?;
        Ok(Json(dashboard))
    }

    /// Conversion and sales
    ///
    /// Active users, users who ordered, conversion rate, orders, revenue and average order
    /// value per currency, for the period and the one before.
    #[oai(
        path = "/admin/analytics/conversion",
        method = "get",
        operation_id = "getConversion",
        tag = "Tag::Analytics"
    )]
    async fn conversion(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// Historical figures: a log position (as the figures stood once the events through it
        /// were applied) or an RFC 3339 date-time (the last position recorded at or before it).
        /// `days` and a missing `to` then count from that day. Replays the log up to there into a
        /// temporary model, kept for the next requests (README, "Time travel").
        as_of: Query<Option<Text<params::AsOf>>>,
    ) -> Answer<ConversionReport> {
        let reading = self.state.reading(text(&as_of)).await?;
        let period = self.state.period_at(&days, &from, &to, reading.now)?;
        let previous = period.previous();
        let pool = reading.pool();
        Ok(Json(ConversionReport {
            period: self.state.period_info(period),
            current: crate::figures::conversion(pool, period, reading.now).await?,
            previous_period: self.state.period_info(previous),
            previous: crate::figures::conversion(pool, previous, reading.now).await?,
            as_of: reading.as_of,
        }))
    }

    /// The conversion funnel
    ///
    /// Greeting → browsing → consideration → purchase intent → ordered, over the users active
    /// in the period: users per stage (reached it or a later one), drop-off and value per stage.
    #[oai(
        path = "/admin/analytics/funnel",
        method = "get",
        operation_id = "getFunnel",
        tag = "Tag::Analytics"
    )]
    async fn funnel(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// Count a later stage only within this many days of the user's first message in the
        /// period; users whose window is still open are reported as `open`.
        #[oai(validator(minimum(value = "1"), maximum(value = "365")))]
        window_days: Query<Option<i64>>,
        /// Historical figures: a log position (as the figures stood once the events through it
        /// were applied) or an RFC 3339 date-time (the last position recorded at or before it).
        /// `days` and a missing `to` then count from that day. Replays the log up to there into a
        /// temporary model, kept for the next requests (README, "Time travel").
        as_of: Query<Option<Text<params::AsOf>>>,
    ) -> Answer<FunnelReport> {
        let reading = self.state.reading(text(&as_of)).await?;
        let period = self.state.period_at(&days, &from, &to, reading.now)?;
        let figures = crate::figures::funnel(reading.pool(), period, window_days.0, reading.now);
        let stages = if reading.as_of.is_some() {
            figures.await?
        } else {
            self.state
                .funnels
                .get_or(reading.pool(), (period, window_days.0), figures)
                .await?
        };
        Ok(Json(FunnelReport {
            period: self.state.period_info(period),
            window_days: window_days.0,
            stages,
            as_of: reading.as_of,
        }))
    }

    /// Product performance
    ///
    /// Per product: views, price inquiries, spec requests, purchase intents, orders, units,
    /// revenue and interest-to-action %. Sortable, searchable, paged.
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/admin/analytics/products",
        method = "get",
        operation_id = "getProducts",
        tag = "Tag::Analytics"
    )]
    async fn products(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
        /// `views` (default), `price_inquiries`, `spec_requests`, `purchase_intents`,
        /// `orders`, `units`, `revenue`, `conversion` or `product_id`.
        sort: Query<Option<Text<params::ProductSort>>>,
        /// `desc` (default) or `asc`.
        order: Query<Option<Text<params::Order>>>,
        /// Case-insensitive part of the product id or name (at most 200 characters).
        #[oai(validator(max_length = 200))]
        search: Query<Option<String>>,
        /// 1-based page (default 1).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
        page: Query<Option<i64>>,
        /// Products per page, 1–500 (default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        page_size: Query<Option<i64>>,
        /// Historical figures: a log position (as the figures stood once the events through it
        /// were applied) or an RFC 3339 date-time (the last position recorded at or before it).
        /// `days` and a missing `to` then count from that day. Replays the log up to there into a
        /// temporary model, kept for the next requests (README, "Time travel").
        as_of: Query<Option<Text<params::AsOf>>>,
    ) -> Answer<ProductPage> {
        let reading = self.state.reading(text(&as_of)).await?;
        let period = self.state.period_at(&days, &from, &to, reading.now)?;
        let sort = text(&sort).unwrap_or("views").to_owned();
        let descending = descending(text(&order))?;
        let search = search_text(search.0.as_deref())?;
        let (page, page_size) = paging(page.0, page_size.0)?;
        let mut items =
            crate::figures::products(&self.state, reading.pool(), period, search.as_deref())
                .await?;
        crate::figures::sort_products(&mut items, &sort, descending)?;
        let total = items.len() as i64;
        let items = items
            .into_iter()
            .skip(usize::try_from((page - 1) * page_size).unwrap_or(usize::MAX))
            .take(usize::try_from(page_size).unwrap_or(0))
            .collect();
        Ok(Json(ProductPage {
            period: self.state.period_info(period),
            total,
            page,
            page_size,
            sort,
            order: order_name(descending),
            items,
            as_of: reading.as_of,
        }))
    }

    /// Carts and abandoned carts
    ///
    /// The sessions that started in the period in which the shopper put something in the
    /// cart, by outcome (ordered, abandoned, emptied, still open), the units and value left in
    /// abandoned carts, and the products in them. A session ends at the user's next session or
    /// after 30 minutes without an event; one still under way is `open`, never abandoned.
    #[oai(
        path = "/admin/analytics/carts",
        method = "get",
        operation_id = "getCarts",
        tag = "Tag::Analytics"
    )]
    async fn carts(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<CartReport> {
        let period = self.state.period(&days, &from, &to)?;
        Ok(Json(crate::figures::carts(&self.state, period).await?))
    }

    /// Shop questions
    ///
    /// Questions about the shop (shipping, returns, payment, … or a FAQ entry) per topic in
    /// the period, and the share of the shoppers who ordered in it who had asked one before
    /// their first order.
    #[oai(
        path = "/admin/analytics/shop-questions",
        method = "get",
        operation_id = "getShopQuestions",
        tag = "Tag::Analytics"
    )]
    async fn shop_questions(
        &self,
        _key: AdminKey,
        /// 7, 14, 30 or 90: the last N days, today included (default 30). Not with `from` or
        /// `to`.
        days: Query<Option<Text<params::Days>>>,
        /// First day, instead of `days`: an RFC 3339 date, or a date-time whose day in
        /// `REPORT_TIMEZONE` counts. A period is at most 3660 days, and it and the period of the
        /// same length before it lie between 0001-01-01 and 9999-12-31.
        from: Query<Option<Text<params::Day>>>,
        /// Last day, included (default today): needs `from`, and is not before it.
        to: Query<Option<Text<params::Day>>>,
    ) -> Answer<ShopQuestionReport> {
        let period = self.state.period(&days, &from, &to)?;
        Ok(Json(
            crate::figures::shop_questions(&self.state, period).await?,
        ))
    }
}
