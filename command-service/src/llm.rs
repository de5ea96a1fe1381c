//! The optional model behind an OpenAI-compatible chat endpoint (`LLM_API_URL`, `LLM_API_KEY`,
//! `LLM_MODEL`), for two things:
//! - understanding: when the rules do not understand a message, the model may propose an intent
//!   and slots naming catalog ids through a tool call ([`Llm::understand`]); the rules check the
//!   proposal and decide the events as usual ([`crate::engine::proposal`]);
//! - wording: it may reword replies that carry no facts (small talk, "sorry, I didn't get
//!   that") ([`Llm::reply`]).
//!
//! Prices, stock, orders and product lists always come from the rules. Any error or a slow
//! answer falls back to the rules alone.

use std::time::Duration;

use events_schema::Intent;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::catalog::Catalog;
use crate::engine::proposal::{Proposal, tool};
use crate::engine::reply::money;
use crate::engine::state::{ConversationState, Speaker};

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// The chat completions URL, or a base URL `/chat/completions` is appended to.
    pub url: url::Url,
    pub api_key: Option<SecretString>,
    pub model: String,
    /// How long to wait for an answer before replying without the model.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Llm {
    http: reqwest::Client,
    endpoint: url::Url,
    config: LlmConfig,
}

/// The intents whose replies the model may word.
pub(crate) fn words_reply(intent: Intent) -> bool {
    matches!(
        intent,
        Intent::Unknown | Intent::Greeting | Intent::Thanks | Intent::Goodbye | Intent::Help
    )
}

#[derive(Debug, Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
}

#[derive(Debug, Deserialize)]
struct ToolCall {
    function: FunctionCall,
}

#[derive(Debug, Deserialize)]
struct FunctionCall {
    name: String,
    /// JSON text, as the API sends it.
    arguments: String,
}

impl Llm {
    pub fn new(config: LlmConfig) -> Result<Llm, reqwest::Error> {
        let mut endpoint = config.url.clone();
        if !endpoint.path().ends_with("/chat/completions") {
            let path = format!("{}/chat/completions", endpoint.path().trim_end_matches('/'));
            endpoint.set_path(&path);
        }
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(Llm {
            http,
            endpoint,
            config,
        })
    }

    /// The conversation for the model: its instructions, the user's last messages from the log,
    /// and the message.
    fn messages(
        &self,
        system: String,
        state: &ConversationState,
        message: &str,
    ) -> Vec<serde_json::Value> {
        let mut messages = vec![json!({"role": "system", "content": system})];
        for (who, text) in &state.history {
            let role = match who {
                Speaker::Shopper => "user",
                Speaker::Bot => "assistant",
            };
            messages.push(json!({"role": role, "content": text}));
        }
        messages.push(json!({"role": "user", "content": message}));
        messages
    }

    /// Posts one request; `None` on any error (logged) or a slow answer.
    async fn complete(
        &self,
        purpose: &'static str,
        body: serde_json::Value,
    ) -> Option<ChoiceMessage> {
        let started = std::time::Instant::now();
        let mut request = self.http.post(self.endpoint.clone()).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let answer = async {
            let response = request.send().await?.error_for_status()?;
            response.json::<Completion>().await
        }
        .await;
        crate::metrics::llm_call(purpose, answer.is_ok(), started.elapsed());
        match answer {
            Ok(c) => Some(c.choices.into_iter().next()?.message),
            Err(error) => {
                tracing::warn!(%error, "LLM request failed; the rules answer alone");
                None
            }
        }
    }

    /// The model's wording of a reply to `message`, or `None` (then the rules' reply stands).
    pub async fn reply(
        &self,
        catalog: &Catalog,
        state: &ConversationState,
        message: &str,
        rule_reply: &str,
    ) -> Option<String> {
        let body = json!({
            "model": self.config.model,
            "messages": self.messages(system_prompt(catalog, rule_reply), state, message),
            "temperature": 0.3,
            "max_tokens": 300,
        });
        let worded = self
            .complete("reply", body)
            .await
            .and_then(|m| m.content)
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty() && text.chars().count() <= 4_000);
        if worded.is_none() {
            crate::metrics::llm_fallback("reply");
        }
        worded
    }

    /// What the model takes `message` to ask, as a proposal for the rules to check; `None` when
    /// it does not call the tool or the call does not parse.
    pub async fn understand(
        &self,
        catalog: &Catalog,
        state: &ConversationState,
        message: &str,
    ) -> Option<Proposal> {
        let body = json!({
            "model": self.config.model,
            "messages": self.messages(understanding_prompt(catalog), state, message),
            "tools": [tool(catalog)],
            "tool_choice": {"type": "function", "function": {"name": "understand"}},
            "temperature": 0,
            "max_tokens": 200,
        });
        let call = self.complete("understand", body).await.and_then(|m| {
            m.tool_calls
                .into_iter()
                .find(|c| c.function.name == "understand")
        });
        let proposal = call.and_then(|call| {
            serde_json::from_str::<Proposal>(&call.function.arguments)
                .map_err(|error| {
                    tracing::warn!(%error, "the model's proposal does not parse; ignored");
                })
                .ok()
        });
        if proposal.is_none() {
            crate::metrics::llm_fallback("understand");
        }
        proposal
    }
}

/// What the model reads to understand a message: the catalog's ids with names and prices.
fn understanding_prompt(catalog: &Catalog) -> String {
    let products: Vec<String> = catalog
        .products()
        .iter()
        .map(|p| {
            format!(
                "- {}: {} ({}, {})",
                p.id,
                p.name,
                p.category,
                money(&p.price)
            )
        })
        .collect();
    format!(
        "You read chat messages to an online shop ({}) in any language and say what the \
         customer's last message asks by calling the `understand` tool. Use only these product \
         ids:\n{}\nUse `greeting`, `thanks`, `goodbye` or `help` for small talk. Leave out what \
         the message does not say; never guess ids.",
        catalog.shop().name,
        products.join("\n")
    )
}

fn system_prompt(catalog: &Catalog, rule_reply: &str) -> String {
    let products: Vec<String> = catalog
        .products()
        .iter()
        .map(|p| {
            let specs: Vec<String> = p
                .specs
                .iter()
                .take(3)
                .map(|s| format!("{} {}", s.name, s.value))
                .collect();
            format!(
                "- {} ({}), {}, {}; stock {}",
                p.name,
                p.category,
                money(&p.price),
                specs.join(", "),
                p.stock
            )
        })
        .collect();
    format!(
        "You are the friendly sales assistant of an online shop, chatting with a customer. \
         Answer briefly (at most three sentences), in the customer's language. Only mention \
         products from this catalog, with exactly these prices:\n{}\n\
         Never invent products, prices, discounts or orders. To buy, the customer names a product \
         and says e.g. \"I'll take it\". A rule-based draft of the reply, which you may reword: \
         \"{rule_reply}\"",
        products.join("\n")
    )
}
