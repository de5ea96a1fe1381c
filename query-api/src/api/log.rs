//! The admin routes of one tag group: the event log: live updates, pages of events, the export.

use super::*;

/// The event log: live updates, pages of events, the export.
#[derive(Debug)]
pub struct LogApi {
    pub state: State,
}

#[OpenApi]
impl LogApi {
    /// Live updates (Server-Sent Events)
    ///
    /// A `progress` event on connect and whenever the read models move (head, how far every
    /// projection has applied, lag, stalled partitions), and an `events` event with the log's
    /// new events (position, type, user, time). Each SSE event's type is the update's `kind`
    /// and its data the field of that name. Comment lines keep an idle connection open.
    #[oai(
        path = "/admin/live",
        method = "get",
        operation_id = "liveUpdates",
        tag = "Tag::Health"
    )]
    async fn live(&self, _key: AdminKey) -> Result<LiveStream, ErrorResponse> {
        Ok(
            EventStream::new(crate::live::updates(self.state.store.clone(), STALE_AFTER).boxed())
                .keep_alive(Duration::from_secs(15))
                .to_event(|update| {
                    let data = match (&update.progress, &update.events) {
                        (Some(p), _) => p.to_json_string(),
                        (_, Some(e)) => e.to_json_string(),
                        _ => "null".to_owned(),
                    };
                    poem::web::sse::Event::message(data).event_type(update.kind)
                }),
        )
    }

    /// A page of the event log
    ///
    /// Events after log position `after`, in order; page on with `next_after`.
    #[oai(
        path = "/admin/analytics/events",
        method = "get",
        operation_id = "listEvents",
        tag = "Tag::Events"
    )]
    async fn events(
        &self,
        _key: AdminKey,
        /// Log position to start after (default 0: the start).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
        /// Events per page, 1–1000 (default 100).
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
        limit: Query<Option<i64>>,
    ) -> Answer<EventsPage> {
        let after = after.0.unwrap_or(0);
        let limit = limit.0.unwrap_or(DEFAULT_EVENTS).clamp(1, MAX_EVENTS);
        let head = self
            .state
            .store
            .head_position()
            .await
            .map_err(ApiError::from)?;
        // Events a newer release wrote are left out; `next_after` is past them all the same.
        let (events, next_after) = self
            .state
            .store
            .read_all_through(after, usize::try_from(limit).unwrap_or(1))
            .await
            .map_err(ApiError::from)?;
        let events = events
            .iter()
            .map(|e| serde_json::to_value(e).unwrap_or(serde_json::Value::Null))
            .collect();
        Ok(Json(EventsPage {
            after,
            limit,
            head,
            next_after,
            events,
        }))
    }

    /// Export the event log
    ///
    /// Every event after `after` up to the head when the export started, as NDJSON (one JSON
    /// event per line), streamed.
    #[oai(
        path = "/admin/events/export",
        method = "get",
        operation_id = "exportEvents",
        tag = "Tag::Events"
    )]
    async fn export(
        &self,
        _key: AdminKey,
        /// Log position to start after (default 0: the whole log).
        #[oai(validator(minimum(value = "0")))]
        after: Query<Option<i64>>,
    ) -> Result<ExportResponse, ErrorResponse> {
        let head = self
            .state
            .store
            .head_position()
            .await
            .map_err(ApiError::from)?;
        let stream = crate::export::ndjson(self.state.store.clone(), after.0.unwrap_or(0), head);
        Ok(ExportResponse::Ok(Binary(Body::from_bytes_stream(stream))))
    }
}
