//! A fake OpenAI-compatible chat completions endpoint on loopback: answers with a fixed text
//! (or fails, or is slow, as a test asks) and records every request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poem::web::{Data, Json};
use poem::{EndpointExt as _, IntoResponse, Response, Route, handler, post};
use serde_json::{Value, json};

/// How the fake answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Answer(String),
    Fail,
    Slow(Duration),
}

#[derive(Debug)]
struct State {
    behaviour: Behaviour,
    requests: Vec<Value>,
}

#[derive(Debug)]
pub struct FakeLlm {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeLlm {
    pub async fn start(behaviour: Behaviour) -> FakeLlm {
        let state = Arc::new(Mutex::new(State {
            behaviour,
            requests: Vec::new(),
        }));
        let app = Route::new()
            .at("/v1/chat/completions", post(completions))
            .data(state.clone());
        let (base, server) = super::serve_on_loopback(app).await;
        FakeLlm {
            url: format!("{base}/v1"),
            state,
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
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn record(state: &Mutex<State>, request: Value) -> Behaviour {
    let mut state = state.lock().unwrap_or_else(|p| p.into_inner());
    state.requests.push(request);
    state.behaviour.clone()
}

#[handler]
async fn completions(
    Data(state): Data<&Arc<Mutex<State>>>,
    Json(request): Json<Value>,
) -> Response {
    match record(state, request) {
        Behaviour::Answer(text) => Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
        }))
        .into_response(),
        Behaviour::Fail => Json(json!({"error": {"message": "overloaded"}}))
            .with_status(poem::http::StatusCode::SERVICE_UNAVAILABLE)
            .into_response(),
        Behaviour::Slow(pause) => {
            tokio::time::sleep(pause).await;
            Json(json!({"choices": [{"message": {"content": "too late"}}]})).into_response()
        }
    }
}
