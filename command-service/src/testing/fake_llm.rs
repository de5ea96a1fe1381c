//! A fake OpenAI-compatible chat completions endpoint on loopback: answers with a fixed text
//! (or fails, or is slow, or holds every request until the test releases it) and records every
//! request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::web::{Data, Json};
use poem::{EndpointExt as _, IntoResponse, Response, Route, handler, post};
use serde_json::{Value, json};
use tokio::sync::watch;

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Answer(String),
    Fail,
    Slow(Duration),
    /// Holds every request until [`FakeLlm::release`], then answers with the text: a model
    /// that takes as long as the test needs it to.
    Held(String),
    /// Calls the `understand` tool with these arguments when a request offers tools, and
    /// answers other requests with the text.
    Propose {
        arguments: Value,
        text: String,
    },
}

#[derive(Debug)]
struct State {
    behaviour: Behaviour,
    requests: Vec<Value>,
    /// The number of requests received, for tests to wait on.
    arrived: watch::Sender<usize>,
    released: watch::Sender<bool>,
}

#[derive(Debug)]
pub struct FakeLlm {
    pub url: String,
    state: Arc<Mutex<State>>,
    arrived: watch::Receiver<usize>,
    released: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    pub async fn start(behaviour: Behaviour) -> FakeLlm {
        let (arrived, arrivals) = watch::channel(0);
        let released = watch::Sender::new(false);
        let state = Arc::new(Mutex::new(State {
            behaviour,
            requests: Vec::new(),
            arrived,
            released: released.clone(),
        }));
        let app = Route::new()
            .at("/v1/chat/completions", post(completions))
            .data(state.clone());
        let (base, server) = super::serve_on_loopback(app).await;
        FakeLlm {
            url: format!("{base}/v1"),
            state,
            arrived: arrivals,
            released,
            server,
        }
    }

    pub fn requests(&self) -> Vec<Value> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .requests
            .clone()
    }

    /// Waits until `count` requests have arrived; panics after `within`.
    pub async fn wait_for_requests(&self, count: usize, within: Duration) {
        let mut arrivals = self.arrived.clone();
        let arrived = tokio::time::timeout(within, arrivals.wait_for(|n| *n >= count)).await;
        assert!(
            matches!(arrived, Ok(Ok(_))),
            "{count} requests did not reach the fake LLM within {within:?}; {} did",
            *self.arrived.borrow()
        );
    }

    /// Lets every held request, and every later one, answer.
    pub fn release(&self) {
        self.released.send_replace(true);
    }
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn record(state: &Mutex<State>, request: Value) -> (Behaviour, watch::Receiver<bool>) {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.requests.push(request);
    state.arrived.send_modify(|n| *n += 1);
    (state.behaviour.clone(), state.released.subscribe())
}

#[handler]
async fn completions(
    Data(state): Data<&Arc<Mutex<State>>>,
    Json(request): Json<Value>,
) -> Response {
    let offers_tools = request.get("tools").is_some();
    let (behaviour, mut released) = record(state, request);
    let answer = |text: String| {
        Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
        .into_response()
    };
    match behaviour {
        Behaviour::Answer(text) => answer(text),
        Behaviour::Fail => Json(json!({"error": {"message": "overloaded"}}))
            .with_status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response(),
        Behaviour::Slow(pause) => {
            tokio::time::sleep(pause).await;
            Json(json!({"choices": [{"message": {"content": "too late"}}]})).into_response()
        }
        Behaviour::Held(text) => {
            let _ = released.wait_for(|r| *r).await;
            answer(text)
        }
        Behaviour::Propose { arguments, .. } if offers_tools => Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{"id": "call-1", "type": "function", "function": {
                    "name": "understand",
                    "arguments": arguments.to_string()
                }}]
            }}]
        }))
        .into_response(),
        Behaviour::Propose { text, .. } => answer(text),
    }
}
