//! Telegram end to end: every fixture update through the real webhook route, the real store
//! and the outbox sender, against a fake Bot API on loopback that records what the bot sent.

mod common;

use testkit::both_backends;

use std::time::Duration;

use command_service::telegram::outbox::CHECKPOINT;
use command_service::testing::fake_telegram::FakeTelegram;
use common::{TestApp, WEBHOOK_SECRET};
use events_schema::{Channel, Event, MessageKind, PaymentMethod, UserId};
use serde_json::Value;
use testkit::TestDatabase;

fn fixtures() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/telegram-updates.jsonl"
    );
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(str::to_owned)
        .collect()
}

fn telegram_user(id: i64) -> UserId {
    UserId::new(Channel::Telegram, &id.to_string()).expect("id")
}

async fn events_of(app: &TestApp, id: i64) -> Vec<events_schema::RecordedEvent> {
    app.store
        .read_stream(&telegram_user(id).stream_id(), 1)
        .await
        .expect("read")
}

fn sent_text(call: &Value) -> &str {
    call["text"].as_str().unwrap_or_default()
}

both_backends!(every_fixture_update_is_handled_as_documented);
async fn every_fixture_update_is_handled_as_documented(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let lines = fixtures();
    assert_eq!(lines.len(), 12);
    let mut heads = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (status, body) = app.webhook(Some(WEBHOOK_SECRET), line).await;
        assert_eq!(status, 200, "line {}: {body}", i + 1);
        heads.push(app.store.head_position().await.expect("head"));
    }
    // Lines that must append nothing: the edit (4), the foreign button (7), the pre-checkout
    // query (9), the channel post (11) and the redelivery (12).
    for line in [4, 7, 9, 11, 12] {
        assert_eq!(
            heads[line - 1],
            heads[line - 2],
            "line {line} appended something"
        );
    }
    let sent = fake.wait_for("sendMessage", 7).await;
    assert_eq!(sent.len(), 7, "{sent:#?}");

    // 1: /start → welcome saying what the bot does.
    assert_eq!(sent[0]["chat_id"], 424242001);
    assert!(
        sent_text(&sent[0]).starts_with("Hi Ana!"),
        "{}",
        sent_text(&sent[0])
    );
    // 2: phones with prices, and buttons.
    assert!(
        sent_text(&sent[1]).contains("Here are our phones"),
        "{}",
        sent_text(&sent[1])
    );
    assert!(sent_text(&sent[1]).contains('$'));
    assert!(
        sent[1]["reply_markup"]["inline_keyboard"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
    // 3: "how much is it?" after a list → which one, with the products offered.
    assert!(
        sent_text(&sent[2]).starts_with("Which one"),
        "{}",
        sent_text(&sent[2])
    );
    let ana = events_of(&app, 424242001).await;
    assert!(
        !ana.iter()
            .any(|e| matches!(e.event, Event::PriceInquired(_))),
        "no PriceInquired yet"
    );
    // 5: photo from Bo → asked for text; recorded without text.
    assert_eq!(sent[3]["chat_id"], 424242002);
    assert!(
        sent_text(&sent[3]).contains("text"),
        "{}",
        sent_text(&sent[3])
    );
    let bo = events_of(&app, 424242002).await;
    assert!(bo.iter().any(|e| matches!(&e.event, Event::MessageReceived(m) if m.kind == MessageKind::Photo && m.text.is_none())));
    // 6: the group mention → answered in the group, recorded for the sender.
    assert_eq!(sent[4]["chat_id"], -100987654321_i64);
    let chen = events_of(&app, 424242003).await;
    assert!(chen.iter().any(
        |e| matches!(&e.event, Event::MessageReceived(m) if m.text.as_deref() == Some("我想买两台"))
    ));
    // 7: the foreign button is answered, nothing recorded.
    let answered = fake.calls("answerCallbackQuery");
    assert_eq!(answered.len(), 1);
    assert_eq!(answered[0]["callback_query_id"], "4382bfdwdsb323b2d9");
    // 8: sticker → like the photo.
    assert_eq!(sent[5]["chat_id"], 424242001);
    assert!(sent_text(&sent[5]).contains("text"));
    // 9: pre-checkout for an invoice never issued → refused with a reason.
    let checkout = fake.calls("answerPreCheckoutQuery");
    assert_eq!(checkout.len(), 1);
    assert_eq!(checkout[0]["ok"], false);
    assert!(
        checkout[0]["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // 10: the unknown payment is recorded, flagged, and acknowledged.
    let ana = events_of(&app, 424242001).await;
    let paid = ana.iter().find_map(|e| match &e.event {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let paid = paid.expect("payment recorded");
    assert_eq!(paid.total.amount_minor, 129_900);
    assert!(matches!(
        paid.payment,
        PaymentMethod::TelegramPayments { flagged: true, .. }
    ));
    assert!(
        sent_text(&sent[6]).contains("received your payment"),
        "{}",
        sent_text(&sent[6])
    );
    // 12: the redelivery sent nothing more, once the outbox has passed every event.
    testkit::wait::checkpoint_passes_head(&app.store, CHECKPOINT, Duration::from_secs(20)).await;
    assert_eq!(fake.calls("sendMessage").len(), 7);
    app.stop().await;
}

both_backends!(bad_webhook_calls_are_refused_and_write_nothing);
async fn bad_webhook_calls_are_refused_and_write_nothing(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let line = fixtures().remove(0);
    assert_eq!(app.webhook(None, &line).await.0, 401);
    assert_eq!(app.webhook(Some("test-secret_12"), &line).await.0, 401);
    assert_eq!(app.webhook(Some(WEBHOOK_SECRET), "{not json").await.0, 400);
    assert_eq!(
        app.webhook(Some(WEBHOOK_SECRET), r#"{"message": {}}"#)
            .await
            .0,
        400
    );
    let (status, _) = app
        .webhook(
            Some(WEBHOOK_SECRET),
            r#"{"update_id": 1, "some_future_kind": {"x": 1}}"#,
        )
        .await;
    assert_eq!(status, 200, "unknown kinds are answered 200 and ignored");
    assert_eq!(app.store.head_position().await.expect("head"), 0);
    app.stop().await;
}

both_backends!(a_reply_cut_off_by_a_crash_is_sent_after_restart);
async fn a_reply_cut_off_by_a_crash_is_sent_after_restart(db: TestDatabase) {
    let fake = FakeTelegram::start().await;
    let mut app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let lines = fixtures();
    app.webhook(Some(WEBHOOK_SECRET), &lines[0]).await;
    fake.wait_for("sendMessage", 1).await;
    // The sender dies; a message is committed meanwhile, its reply not sent.
    app.stop_outbox().await;
    let (status, _) = app.webhook(Some(WEBHOOK_SECRET), &lines[1]).await;
    assert_eq!(status, 200);
    // Only the outbox sends, and its checkpoint shows the committed reply unsent.
    let head = app.store.head_position().await.expect("head");
    let at = app.store.checkpoint(CHECKPOINT).await.expect("checkpoint");
    assert!(
        at.is_some_and(|p| p < head),
        "checkpoint {at:?}, head {head}"
    );
    assert_eq!(fake.calls("sendMessage").len(), 1);
    app.start_outbox().await;
    let sent = fake.wait_for("sendMessage", 2).await;
    assert!(sent_text(&sent[1]).contains("Here are our phones"));
    testkit::wait::checkpoint_passes_head(&app.store, CHECKPOINT, Duration::from_secs(20)).await;
    assert_eq!(fake.calls("sendMessage").len(), 2, "each reply once");
    app.stop().await;
}

#[testkit::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polling_handles_updates_and_answers() {
    let db = TestDatabase::sqlite_for_test();
    let fake = FakeTelegram::start().await;
    let app = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let line: Value = serde_json::from_str(&fixtures()[1]).expect("json");
    fake.queue_update(line);
    let telegram = app.telegram.clone().expect("telegram");
    let stop = tokio_util::sync::CancellationToken::new();
    let poller = tokio::spawn(telegram.poll(stop.clone()));
    let sent = fake.wait_for("sendMessage", 1).await;
    assert!(sent_text(&sent[0]).contains("Here are our phones"));
    assert_eq!(
        fake.calls("deleteWebhook").len(),
        1,
        "polling and a webhook exclude each other"
    );
    stop.cancel();
    poller.await.expect("poller stops on shutdown");
    let ana = events_of(&app, 424242001).await;
    assert!(
        ana.iter()
            .any(|e| matches!(e.event, Event::MessageReceived(_)))
    );
    app.stop().await;
}

fn update(update_id: i64, kind: &str, body: Value) -> String {
    let mut u = serde_json::json!({"update_id": update_id});
    u[kind] = body;
    u.to_string()
}

fn text_message(id: i64, text: &str) -> String {
    update(
        id,
        "message",
        serde_json::json!({
            "message_id": id,
            "from": {"id": 424242001, "is_bot": false, "first_name": "Ana"},
            "chat": {"id": 424242001, "first_name": "Ana", "type": "private"},
            "date": 1764028800 + id,
            "text": text
        }),
    )
}

fn pre_checkout(id: i64, payload: &str, amount: i64) -> String {
    update(
        id,
        "pre_checkout_query",
        serde_json::json!({
            "id": format!("pcq-{id}"),
            "from": {"id": 424242001, "is_bot": false, "first_name": "Ana"},
            "currency": "USD", "total_amount": amount, "invoice_payload": payload
        }),
    )
}

both_backends!(with_telegram_payments_a_confirmed_purchase_is_invoiced_checked_and_paid);
async fn with_telegram_payments_a_confirmed_purchase_is_invoiced_checked_and_paid(
    db: TestDatabase,
) {
    let fake = FakeTelegram::start().await;
    let app = common::TestApp::spawn_with_payments(&db, &fake.url).await;
    for (id, text) in [
        (1, "tell me about the nova x1"),
        (2, "I'll take two"),
        (3, "yes"),
    ] {
        assert_eq!(
            app.webhook(Some(WEBHOOK_SECRET), &text_message(id, text))
                .await
                .0,
            200
        );
    }
    let invoices = fake.wait_for("sendInvoice", 1).await;
    let invoice = &invoices[0];
    assert_eq!(invoice["chat_id"], 424242001);
    assert_eq!(invoice["currency"], "USD");
    assert_eq!(invoice["provider_token"], common::PROVIDER_TOKEN);
    assert_eq!(invoice["prices"][0]["amount"], 159_800);
    let payload = invoice["payload"].as_str().expect("payload").to_owned();
    let ana = events_of(&app, 424242001).await;
    assert!(
        !ana.iter().any(|e| matches!(e.event, Event::OrderPlaced(_))),
        "not paid yet"
    );

    // Telegram asks before taking the money: yes for the open invoice, no for a changed amount.
    app.webhook(Some(WEBHOOK_SECRET), &pre_checkout(4, &payload, 100))
        .await;
    app.webhook(Some(WEBHOOK_SECRET), &pre_checkout(5, &payload, 159_800))
        .await;
    let answers = fake.wait_for("answerPreCheckoutQuery", 2).await;
    assert_eq!(
        (answers[0]["ok"].clone(), answers[1]["ok"].clone()),
        (false.into(), true.into())
    );

    let paid = update(
        6,
        "message",
        serde_json::json!({
            "message_id": 6,
            "from": {"id": 424242001, "is_bot": false, "first_name": "Ana"},
            "chat": {"id": 424242001, "first_name": "Ana", "type": "private"},
            "date": 1764028900,
            "successful_payment": {
                "currency": "USD", "total_amount": 159_800, "invoice_payload": payload,
                "telegram_payment_charge_id": "tg_1", "provider_payment_charge_id": "prov_1"
            }
        }),
    );
    assert_eq!(app.webhook(Some(WEBHOOK_SECRET), &paid).await.0, 200);
    let ana = events_of(&app, 424242001).await;
    let order = ana.iter().find_map(|e| match &e.event {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let order = order.expect("paid order placed");
    assert_eq!(order.order_id, payload);
    assert_eq!(order.total.amount_minor, 159_800);
    assert_eq!(order.lines.len(), 1);
    assert!(matches!(
        order.payment,
        PaymentMethod::TelegramPayments { flagged: false, .. }
    ));
    let sent = fake.wait_for("sendMessage", 4).await;
    assert!(
        sent_text(&sent[3]).starts_with("Payment received"),
        "{}",
        sent_text(&sent[3])
    );
    // Paid once: asking again for the same invoice is refused.
    app.webhook(Some(WEBHOOK_SECRET), &pre_checkout(7, &payload, 159_800))
        .await;
    let answers = fake.wait_for("answerPreCheckoutQuery", 3).await;
    assert_eq!(answers[2]["ok"], false);
    app.stop().await;
}

#[testkit::test(needs = postgres, flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_send_each_reply_once() {
    let db = TestDatabase::for_test().await;
    let fake = FakeTelegram::start().await;
    let a = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let b = TestApp::spawn_with_telegram(&db, &fake.url).await;
    let lines = fixtures();
    // Updates reach both instances (webhook behind a load balancer).
    assert_eq!(a.webhook(Some(WEBHOOK_SECRET), &lines[0]).await.0, 200);
    assert_eq!(b.webhook(Some(WEBHOOK_SECRET), &lines[1]).await.0, 200);
    fake.wait_for("sendMessage", 2).await;
    testkit::wait::checkpoint_passes_head(&a.store, CHECKPOINT, Duration::from_secs(20)).await;
    assert_eq!(
        fake.calls("sendMessage").len(),
        2,
        "one outbox holds the lease"
    );
    // The holder goes away: the other takes over and sends what comes next.
    a.stop().await;
    assert_eq!(b.webhook(Some(WEBHOOK_SECRET), &lines[2]).await.0, 200);
    fake.wait_for("sendMessage", 3).await;
    b.stop().await;
}

testkit::main!();
