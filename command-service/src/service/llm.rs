//! Where the command path asks the model: to understand a message the rules did not, and to
//! word the replies it may word. Its prompts' history always comes from the log.

use events_schema::{Event, UserId};

use super::CommandService;
use crate::engine::{ConversationState, Decision, Inbound};
use crate::llm::Llm;

impl CommandService {
    /// The model and the shopper's text, when a model is configured and the message has text.
    fn model_and_text<'a>(&'a self, inbound: &'a Inbound) -> Option<(&'a Llm, &'a str)> {
        Some((self.llm.as_deref()?, inbound.text.as_deref()?))
    }

    /// The model and the shopper's text, when the rules did not understand a text message.
    pub(super) fn model_understands<'a>(
        &'a self,
        inbound: &'a Inbound,
        decision: &Decision,
    ) -> Option<(&'a Llm, &'a str)> {
        (decision.understood.intent == events_schema::Intent::Unknown
            && inbound.kind != events_schema::MessageKind::Button)
            .then(|| self.model_and_text(inbound))
            .flatten()
    }

    /// The user's state for a prompt, read from the log (never from memory, so an erasure made
    /// by another process is never sent to the model).
    pub(super) async fn history(&self, user: &UserId) -> Option<ConversationState> {
        match self.load(user).await {
            Ok(state) => Some(state),
            Err(error) => {
                tracing::warn!(%error, "loading history for the LLM failed; rules alone");
                None
            }
        }
    }

    /// The model's proposal for `text`.
    pub(super) async fn understand_with_llm(
        &self,
        llm: &Llm,
        user: &UserId,
        text: &str,
    ) -> Option<crate::engine::proposal::Proposal> {
        let state = self.history(user).await?;
        llm.understand(&self.catalog, &state, text).await
    }

    /// The model and the shopper's text, when the model is to word this decision's reply.
    pub(super) fn model_words<'a>(
        &'a self,
        inbound: &'a Inbound,
        decision: &Decision,
    ) -> Option<(&'a Llm, &'a str)> {
        let (llm, text) = self.model_and_text(inbound)?;
        let intent = decision.events.iter().find_map(|e| match e {
            Event::MessageReceived(m) => Some(m.intent),
            _ => None,
        })?;
        crate::llm::words_reply(intent).then_some((llm, text))
    }

    /// Replaces the reply's wording with the model's (the events stay the rules'). The
    /// prompt's history comes from the log, never from memory, so an erasure made by another
    /// process is never sent to the model.
    pub(super) async fn word_with_llm(
        &self,
        llm: &Llm,
        user: &UserId,
        text: &str,
        decision: &mut Decision,
    ) {
        let Some(state) = self.history(user).await else {
            return;
        };
        let Some(worded) = llm
            .reply(&self.catalog, &state, text, &decision.reply.text)
            .await
        else {
            return;
        };
        for event in &mut decision.events {
            if let Event::BotReplied(r) = event {
                r.text = Some(worded.clone());
            }
        }
        decision.reply.text = worded;
    }
}
