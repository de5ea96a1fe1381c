//! A fake Telegram Bot API server on loopback: records every call the bot makes and answers
//! the way Telegram does, so tests can see what was sent.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poem::web::{Json, Path};
use poem::{EndpointExt as _, Route, handler, post};
use serde_json::{Value, json};

pub const BOT_ID: i64 = 7000000001;
pub const TOKEN: &str = "7000000001:test-token";

#[derive(Debug, Default)]
struct Calls {
    calls: Vec<(String, Value)>,
    updates: VecDeque<Value>,
    /// How long the fake takes to answer each method (a slow or congested Telegram).
    delays: HashMap<String, Duration>,
    /// When each answered call arrived and when its answer left, by method.
    spans: Vec<(String, Span)>,
}

/// When a call arrived at the fake and when its answer left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Instant,
    pub end: Instant,
}

#[derive(Debug)]
pub struct FakeTelegram {
    pub url: String,
    state: Arc<Mutex<Calls>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeTelegram {
    pub async fn start() -> FakeTelegram {
        let state = Arc::new(Mutex::new(Calls::default()));
        let app = Route::new()
            .at("/:bot/:method", post(api))
            .data(state.clone());
        let (base, server) = super::serve_on_loopback(app).await;
        FakeTelegram {
            url: format!("{base}/"),
            state,
            server,
        }
    }

    /// Updates `getUpdates` hands out (once each).
    pub fn queue_update(&self, update: Value) {
        self.lock().updates.push_back(update);
    }

    /// From now on the fake takes `delay` to answer each call of `method`.
    pub fn delay(&self, method: &str, delay: Duration) {
        self.lock().delays.insert(method.to_owned(), delay);
    }

    /// When each answered call of `method` arrived and left, in order of arrival.
    pub fn spans(&self, method: &str) -> Vec<Span> {
        let mut spans: Vec<Span> = self
            .lock()
            .spans
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, s)| *s)
            .collect();
        spans.sort_by_key(|s| s.start);
        spans
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call of `method` so far, with its JSON parameters.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.lock()
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Waits (up to 30 s) until `method` was called at least `n` times.
    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let calls = self.calls(method);
            if calls.len() >= n {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "only {} of {n} {method} calls: {calls:?}",
                calls.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[handler]
async fn api(
    req: &poem::Request,
    Path((bot, method)): Path<(String, String)>,
    state: poem::web::Data<&Arc<Mutex<Calls>>>,
    body: poem::Body,
) -> Json<Value> {
    let start = Instant::now();
    let content_type = req.content_type().unwrap_or_default().to_owned();
    let bytes = body.into_vec().await.unwrap_or_default();
    let params = match content_type.split_once("boundary=") {
        Some((_, boundary)) => multipart_fields(&String::from_utf8_lossy(&bytes), boundary),
        None => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    if bot != format!("bot{TOKEN}") {
        return Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    // teloxide writes method names capitalised (`SendMessage`); Telegram ignores the case.
    let mut chars = method.chars();
    let method: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars)
        .collect();
    let delay = state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .delays
        .get(&method)
        .copied();
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let result = respond(&state, &method, &params);
    let idle_poll = method == "getUpdates" && result.as_array().is_some_and(Vec::is_empty);
    if idle_poll {
        // Long polling: hold the request a little, like Telegram does.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = Instant::now();
    state
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .spans
        .push((method, Span { start, end }));
    Json(json!({"ok": true, "result": result}))
}

/// Records the call and builds Telegram's answer (synchronous: the lock never spans an await).
fn respond(state: &Mutex<Calls>, method: &str, params: &Value) -> Value {
    let mut calls = state.lock().unwrap_or_else(|p| p.into_inner());
    calls.calls.push((method.to_owned(), params.clone()));
    match method {
        "getMe" => json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Demo Sales Bot",
            "username": "demo_sales_bot", "can_join_groups": true,
            "can_read_all_group_messages": false, "supports_inline_queries": false,
            "has_main_web_app": false
        }),
        "sendMessage" | "sendInvoice" => json!({
            "message_id": calls.calls.len(),
            "date": 1764028800,
            "chat": {"id": params["chat_id"], "type": "private", "first_name": "Shopper"},
            "from": {"id": BOT_ID, "is_bot": true, "first_name": "Demo Sales Bot"},
            "text": params["text"],
        }),
        "getUpdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            let updates: Vec<Value> = calls
                .updates
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                .cloned()
                .collect();
            calls
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            json!(updates)
        }
        _ => json!(true),
    }
}

/// The text fields of a `multipart/form-data` body (teloxide sends `setWebhook` this way).
fn multipart_fields(body: &str, boundary: &str) -> Value {
    let mut fields = serde_json::Map::new();
    for part in body.split(&format!("--{}", boundary.trim_matches('"'))) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.insert(name.to_owned(), Value::String(value.to_owned()));
    }
    Value::Object(fields)
}
