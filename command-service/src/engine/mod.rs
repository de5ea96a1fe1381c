//! The conversation engine, without I/O: [`understand`] reads a message, [`decide`] turns the
//! shopper's state and message into events and a reply, [`ConversationState::apply`] folds
//! events back into the state.

pub mod decide;
pub mod reply;
pub mod state;
pub mod understand;

pub use decide::{Decision, Inbound, Reply, SESSION_GAP, decide, order_id};
pub use state::ConversationState;
