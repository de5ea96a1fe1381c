//! command-service: the bot. It talks to shoppers on Telegram and the web chat, decides each
//! reply from the user's own stream of events (pure functions in [`engine`]), and appends the
//! new events to the log. It depends on `events-schema` and `event-store`, never on the other
//! services.

pub mod catalog;
pub mod engine;
pub mod language;
pub mod limits;
pub mod llm;
pub mod metrics;
pub mod service;
pub mod state_cache;
pub mod telegram;
#[cfg(feature = "test-util")]
pub mod testing;
pub mod web;

use poem::{EndpointExt as _, get};

/// Every route of the bot, with what they need: the web chat (`/chat`, `POST /api/messages`),
/// `POST /telegram/webhook` when Telegram is on, and `/` sending a visitor to the chat. The one
/// place the service's routes are put together: `salesbot serve` nests it at `/`, the tests
/// serve it alone.
pub fn routes(
    service: service::CommandService,
    telegram: Option<std::sync::Arc<telegram::Telegram>>,
    web: web::WebConfig,
) -> poem::endpoint::BoxEndpoint<'static> {
    let mut route = web::routes(web).at(
        "/",
        get(poem::endpoint::make_sync(|_| {
            poem::web::Redirect::see_other("/chat")
        })),
    );
    if telegram.is_some() {
        route = route.at("/telegram/webhook", telegram::webhook_endpoint());
    }
    let app = route.data(service).boxed();
    match telegram {
        Some(t) => app.data(t).boxed(),
        None => app,
    }
}
