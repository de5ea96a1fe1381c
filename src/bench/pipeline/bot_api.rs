//! The Telegram Bot API as the soak benchmark's bot sees it, on loopback: `getMe`,
//! `setWebhook`, and `sendMessage` answered the way Telegram answers them, counted but not
//! kept (a soak sends hundreds of thousands; keeping them would grow this process's memory,
//! which the soak measures).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use poem::web::{Data, Json, Path};
use poem::{EndpointExt as _, Route, handler, post};
use serde_json::{Value, json};

/// The bot's id: the number before the colon of [`super::system::BOT_TOKEN`].
const BOT_ID: i64 = 7_000_000_001;

#[derive(Debug)]
pub(super) struct BotApi {
    pub(super) url: url::Url,
    sent: Arc<AtomicU64>,
    server: tokio::task::JoinHandle<()>,
}

impl BotApi {
    pub(super) async fn start() -> anyhow::Result<BotApi> {
        let sent = Arc::new(AtomicU64::new(0));
        let app = Route::new()
            .at("/:bot/:method", post(api))
            .data(sent.clone());
        let (acceptor, addr) = crate::bench::loopback().await?;
        let server = tokio::spawn(async move {
            let _ = poem::Server::new_with_acceptor(acceptor).run(app).await;
        });
        Ok(BotApi {
            url: format!("http://{addr}/").parse()?,
            sent,
            server,
        })
    }

    /// Messages the bot has sent so far.
    pub(super) fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for BotApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[handler]
async fn api(
    Path((_bot, method)): Path<(String, String)>,
    Data(sent): Data<&Arc<AtomicU64>>,
    body: poem::Body,
) -> Json<Value> {
    // teloxide capitalises method names (`SendMessage`); Telegram ignores the case.
    let result = match method.to_ascii_lowercase().as_str() {
        "getme" => json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Soak Bot", "username": "soak_bot",
            "can_join_groups": false, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "has_main_web_app": false
        }),
        "sendmessage" => {
            let params: Value = serde_json::from_slice(&body.into_vec().await.unwrap_or_default())
                .unwrap_or(Value::Null);
            let n = sent.fetch_add(1, Ordering::Relaxed) + 1;
            json!({
                "message_id": n,
                "date": chrono::Utc::now().timestamp(),
                "chat": {"id": params["chat_id"], "type": "private", "first_name": "Shopper"},
                "from": {"id": BOT_ID, "is_bot": true, "first_name": "Soak Bot"},
                "text": params["text"],
            })
        }
        _ => json!(true),
    };
    Json(json!({"ok": true, "result": result}))
}
