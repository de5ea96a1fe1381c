//! command-service: the bot. It talks to shoppers on Telegram and the web chat, decides each
//! reply from the user's own stream of events, and appends the new events to the log. Built by
//! the bot issue; until then this crate only fixes its place in the workspace (it depends on
//! `events-schema` and `event-store`, never on the other services).
