//! Optional free-form replies from an OpenAI-compatible chat endpoint (`LLM_API_URL`,
//! `LLM_API_KEY`, `LLM_MODEL`). The rules still classify every message and decide every event;
//! the model only words the reply where the rules have nothing specific to say (small talk and
//! messages they do not understand). Prices, stock, orders and product lists always come from
//! the rules. Any error or a slow answer falls back to the rule-based reply.

use std::time::Duration;

use events_schema::Intent;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::catalog::Catalog;
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
pub fn words_reply(intent: Intent) -> bool {
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

    /// The model's wording of a reply to `message`, or `None` (then the rules' reply stands).
    pub async fn reply(
        &self,
        catalog: &Catalog,
        state: &ConversationState,
        message: &str,
        rule_reply: &str,
    ) -> Option<String> {
        let mut messages =
            vec![json!({"role": "system", "content": system_prompt(catalog, rule_reply)})];
        for (who, text) in &state.history {
            let role = match who {
                Speaker::Shopper => "user",
                Speaker::Bot => "assistant",
            };
            messages.push(json!({"role": role, "content": text}));
        }
        messages.push(json!({"role": "user", "content": message}));
        let body = json!({
            "model": self.config.model,
            "messages": messages,
            "temperature": 0.3,
            "max_tokens": 300,
        });
        let mut request = self.http.post(self.endpoint.clone()).json(&body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let answer = async {
            let response = request.send().await?.error_for_status()?;
            response.json::<Completion>().await
        }
        .await;
        match answer {
            Ok(c) => {
                let text = c.choices.into_iter().next()?.message.content?;
                let text = text.trim();
                (!text.is_empty() && text.chars().count() <= 4_000).then(|| text.to_owned())
            }
            Err(error) => {
                tracing::warn!(%error, "LLM reply failed; using the rule-based reply");
                None
            }
        }
    }
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
