//! query-api: the OpenAPI service over the read tables (admin API, events API, live updates,
//! dashboard). Built by the query API issue; until then this crate only fixes its place in the
//! workspace (it depends on `events-schema` and `event-store`, never on the other services).
