//! projector: folds the event log into the read tables (funnel, products, users,
//! conversations, business), exactly once per event, in both modes:
//!
//! - embedded: one task follows the log in process ([`worker::run_embedded`]);
//! - distributed: worker processes share the partitions, each read from its JetStream durable
//!   consumer ([`worker::run_workers`]).
//!
//! A batch and its checkpoints commit in one transaction ([`apply`]); `salesbot rebuild`
//! rebuilds projections beside the live tables and swaps them in ([`rebuild`]); `as_of`
//! replays the log up to a position into a temporary model ([`as_of`]). What each table
//! holds, and which figure it answers, is in docs/metrics.md.

pub mod apply;
pub mod as_of;
mod follow;
pub mod metrics;
pub mod model;
mod parking;
pub mod rebuild;
mod sql;
pub mod worker;

pub use apply::{Applier, Coverage, ProjectorError};
pub use model::Projection;
