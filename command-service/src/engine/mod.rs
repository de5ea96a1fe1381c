//! The conversation engine, without I/O: [`understand`] reads a message, [`decide`] turns the
//! shopper's state and message into events and a reply, [`ConversationState::apply`] folds
//! events back into the state.

pub mod decide;
pub mod detect;
pub mod lexicon;
pub(crate) mod names;
pub mod proposal;
pub mod reply;
pub mod resolve;
pub mod say;
pub mod state;
pub mod text;
pub mod understand;

pub use decide::{Decision, Inbound, Reply, SESSION_GAP, decide, decide_understood, order_id};
pub use state::ConversationState;
