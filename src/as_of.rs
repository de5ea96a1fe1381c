//! Time travel for the query service: past models replayed by the projector's own fold
//! (`projector::as_of`), handed to the query API through its [`query_api::Replay`] seam, since
//! the services never depend on each other (docs/architecture.md, "Time travel").

use chrono_tz::Tz;
use event_store::EventStore;
use futures::future::BoxFuture;

/// Replays `store`'s log into temporary read tables in `tz`.
#[derive(Debug, Clone)]
pub struct ProjectorReplay {
    pub store: EventStore,
    pub tz: Tz,
}

impl query_api::Replay for ProjectorReplay {
    fn replay(&self, through: i64) -> BoxFuture<'static, Result<query_api::Past, String>> {
        let (store, tz) = (self.store.clone(), self.tz);
        Box::pin(async move {
            let model = projector::as_of::replay(&store, tz, through)
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(
                through,
                events = model.events,
                took_ms = model.took.as_millis() as u64,
                "as_of: replayed the log into a past model"
            );
            Ok(query_api::Past {
                store: model.store().clone(),
                through,
                keep: Box::new(model),
            })
        })
    }
}
