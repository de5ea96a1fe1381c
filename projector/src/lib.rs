//! projector: workers that fold the event log into read tables (funnel, products, users,
//! revenue) with exactly-once checkpoints. Built by the projector issue; until then this crate
//! only fixes its place in the workspace (it depends on `events-schema` and `event-store`, never
//! on the other services).
