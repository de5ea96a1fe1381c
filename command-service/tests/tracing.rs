//! One message can be followed through the logs: the command path's span carries the
//! `correlation_id` its events are recorded with, so a log search for that id finds the request,
//! the append and (in the projector's `project` spans) its projection.

use std::sync::{Arc, Mutex};

use chrono::Utc;
use command_service::catalog::Catalog;
use command_service::engine::Inbound;
use command_service::service::{CommandService, EventIds, Handled, SystemClock};
use events_schema::{Channel, MessageKind, UserId};
use testkit::TestDatabase;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::{Layer, Registry};

/// The `correlation_id` values recorded on `handle_if` spans.
#[derive(Clone, Default)]
struct Correlations(Arc<Mutex<Vec<String>>>);

struct Find<'a>(&'a mut Option<String>);

impl Visit for Find<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "correlation_id" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S> Layer<S> for Correlations
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
        let mut found = None;
        attrs.record(&mut Find(&mut found));
        if let Some(found) = found.filter(|_| attrs.metadata().name() == "handle_if") {
            self.0.lock().expect("lock").push(found);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut found = None;
        values.record(&mut Find(&mut found));
        let is_handle = ctx
            .span(id)
            .is_some_and(|s| s.metadata().name() == "handle_if");
        if let Some(found) = found.filter(|_| is_handle) {
            self.0.lock().expect("lock").push(found);
        }
    }
}

#[tokio::test]
async fn the_command_span_carries_the_correlation_id_of_the_events_it_records() {
    let correlations = Correlations::default();
    let _guard = tracing::subscriber::set_default(Registry::default().with(correlations.clone()));
    let db = TestDatabase::sqlite_for_test();
    let store = db.open_for_test().await;
    let catalog = Arc::new(Catalog::demo().expect("demo"));
    let service = CommandService::new(store.clone(), catalog, Arc::new(SystemClock));
    let user = UserId::new(Channel::Web, "traced").expect("id");
    let inbound = Inbound {
        channel: Channel::Web,
        kind: MessageKind::Text,
        text: Some("how much is the Nova X1?".into()),
        message_id: None,
        chat_id: None,
        username: None,
        display_name: None,
        language: None,
        at: Utc::now(),
        payments: false,
    };
    let handled = service
        .handle(&user, &inbound, EventIds::Fresh)
        .await
        .expect("handled");
    assert!(matches!(handled, Handled::Answered { .. }), "{handled:?}");

    let events = store.read_stream(&user.stream_id(), 1).await.expect("read");
    assert!(events.len() >= 2, "{events:?}");
    let recorded = correlations.0.lock().expect("lock").clone();
    assert_eq!(
        recorded,
        [events[0].correlation_id.to_string()],
        "one span, with the id every event of the message carries"
    );
    assert!(
        events
            .iter()
            .all(|e| e.correlation_id == events[0].correlation_id)
    );
}
