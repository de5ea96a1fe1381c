//! A synthetic log for the read-side benchmarks: sessions of messages and replies, views,
//! prices, intents and orders, as the bot writes them.

use chrono::Utc;
use event_store::{EventStore, ExpectedVersion};
use events_schema::{
    BotReplied, Channel, ConversationStarted, Currency, Intent, MessageKind, MessageReceived,
    Money, NewEvent, OrderLine, OrderPlaced, PaymentMethod, PriceInquired, ProductViewed,
    PurchaseIntended, Sentiment, UserId, ViewSource,
};
use rand::{Rng as _, SeedableRng as _};

/// Appends about `events` events from `users` shoppers over the last 30 days: sessions of
/// messages and replies, views, prices, intents and orders, as the bot writes them.
pub(crate) async fn fill(store: &EventStore, events: u64, users: u64) -> anyhow::Result<u64> {
    let bar = crate::bench::progress(events, "generating a log");
    let writers = 16u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, bar) = (store.clone(), bar.clone());
        let quota = events / writers;
        let my_users: Vec<u64> = (0..users).filter(|u| u % writers == w).collect();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(w);
            let usd = Currency::new("USD")?;
            let mut written = 0u64;
            let now = Utc::now();
            let mut i = 0usize;
            while written < quota && !my_users.is_empty() {
                let u = my_users[i % my_users.len()];
                i += 1;
                let user = UserId::new(Channel::Web, &format!("bench{u}"))?;
                let mut at = now - chrono::Duration::seconds(rng.random_range(0..30 * 86_400));
                let mut batch = vec![NewEvent::new(
                    ConversationStarted {
                        channel: Channel::Web,
                        username: Some(format!("shopper{u}")),
                        display_name: Some(format!("Shopper {u}")),
                        language: None,
                        returning: i > my_users.len(),
                    },
                    at,
                )];
                for m in 0..rng.random_range(2..8u32) {
                    at += chrono::Duration::seconds(rng.random_range(5..90));
                    let product = format!("product-{}", rng.random_range(0..30u32));
                    let price = Money {
                        amount_minor: rng.random_range(1_000..200_000),
                        currency: usd.clone(),
                    };
                    let step = rng.random_range(0..10u32);
                    batch.push(NewEvent::new(
                        MessageReceived {
                            kind: MessageKind::Text,
                            message_id: None,
                            text: Some(format!("message {m} about {product}")),
                            intent: Intent::ProductInfo,
                            sentiment: Sentiment::Neutral,
                            product_id: Some(product.clone()),
                            language: Some("en".into()),
                            understood_by: events_schema::UnderstoodBy::Rules,
                        },
                        at,
                    ));
                    batch.push(NewEvent::new(
                        ProductViewed {
                            product_id: product.clone(),
                            source: ViewSource::Mention,
                        },
                        at,
                    ));
                    if step >= 5 {
                        batch.push(NewEvent::new(
                            PriceInquired {
                                product_id: product.clone(),
                                price: price.clone(),
                            },
                            at,
                        ));
                    }
                    if step >= 8 {
                        batch.push(NewEvent::new(
                            PurchaseIntended {
                                product_id: product.clone(),
                                quantity: 1,
                                unit_price: price.clone(),
                            },
                            at,
                        ));
                    }
                    if step == 9 {
                        batch.push(NewEvent::new(
                            OrderPlaced {
                                order_id: format!("ord-{w}-{i}-{m}"),
                                lines: vec![OrderLine {
                                    product_id: product.clone(),
                                    quantity: 1,
                                    unit_price: price.clone(),
                                }],
                                total: price.clone(),
                                payment: PaymentMethod::ChatConfirmation,
                                contact: None,
                            },
                            at,
                        ));
                    }
                    batch.push(NewEvent::new(
                        BotReplied {
                            channel: Channel::Web,
                            in_reply_to: None,
                            chat_id: None,
                            text: Some(format!("Here is {product}.")),
                            buttons: Vec::new(),
                            products: vec![product],
                        },
                        at,
                    ));
                }
                let n = batch.len() as u64;
                store
                    .append(&user.stream_id(), ExpectedVersion::Any, batch)
                    .await?;
                written += n;
                bar.inc(n);
            }
            anyhow::Ok(written)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await??;
    }
    bar.finish_and_clear();
    Ok(total)
}
