//! The conversation engine, given/when/then: a state folded from earlier events, a message,
//! and the events and reply that come out. No database.

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use command_service::catalog::Catalog;
use command_service::engine::{ConversationState, Decision, Inbound, decide};
use events_schema::{Channel, Event, Intent, MessageKind, RecordedEvent, StreamId};
use uuid::Uuid;

const CATALOG: &str = r#"
currency = "USD"

[[categories]]
id = "phones"
name = "Phones"
aliases = ["phone", "smartphone"]

[[categories]]
id = "laptops"
name = "Laptops"
aliases = ["laptop", "notebook"]

[[products]]
id = "nova-x1"
name = "Nova X1"
category = "phones"
price = 799.00
description = "A balanced flagship."
specs = [{ name = "screen", value = "6.1 in OLED" }, { name = "battery", value = "4,300 mAh" }]
aliases = ["nova", "x1"]
stock = 10

[[products]]
id = "nova-x1-pro"
name = "Nova X1 Pro"
category = "phones"
price = 1099.00
description = "The big one."
specs = [{ name = "screen", value = "6.7 in OLED" }]
aliases = ["x1 pro"]
stock = 4

[[products]]
id = "pixelon-8"
name = "Pixelon 8"
category = "phones"
price = 699.00
description = "Great camera."
specs = [{ name = "screen", value = "6.2 in OLED" }, { name = "battery", value = "4,500 mAh" }]
aliases = ["pixelon"]
stock = 2

[[products]]
id = "kite-mini"
name = "Kite Mini"
category = "phones"
price = 299.00
description = "Small and cheap."
specs = [{ name = "screen", value = "5.4 in LCD" }]
aliases = ["kite"]
stock = 0

[[products]]
id = "aero-14"
name = "Aero 14"
category = "laptops"
price = 1299.00
description = "Light and fast."
specs = [{ name = "cpu", value = "8 cores" }]
aliases = ["aero"]
stock = 5

[[products]]
id = "bolt-13"
name = "Bolt 13"
category = "laptops"
price = 749.00
description = "Student laptop."
specs = [{ name = "cpu", value = "4 cores" }]
aliases = ["bolt"]
stock = 3
"#;

fn catalog() -> Catalog {
    Catalog::from_toml(CATALOG, "test.toml").expect("test catalog parses")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
        .single()
        .expect("valid")
}

/// A conversation driven message by message, folding each decision back into the state.
struct Chat {
    catalog: Catalog,
    state: ConversationState,
    now: DateTime<Utc>,
}

impl Chat {
    fn new() -> Chat {
        Chat {
            catalog: catalog(),
            state: ConversationState::default(),
            now: t0(),
        }
    }

    fn inbound(&self, kind: MessageKind, text: Option<&str>) -> Inbound {
        Inbound {
            channel: Channel::Web,
            kind,
            text: text.map(str::to_owned),
            message_id: None,
            chat_id: None,
            username: Some("ana".into()),
            display_name: Some("Ana".into()),
            language: None,
            at: self.now,
            payments: false,
        }
    }

    fn send(&mut self, text: &str) -> Decision {
        let inbound = self.inbound(MessageKind::Text, Some(text));
        self.deliver(&inbound).expect("text is always answered")
    }

    fn press(&mut self, data: &str) -> Option<Decision> {
        let inbound = self.inbound(MessageKind::Button, Some(data));
        self.deliver(&inbound)
    }

    fn deliver(&mut self, inbound: &Inbound) -> Option<Decision> {
        let decision = decide(&self.state, inbound, &self.catalog, "ord-test")?;
        for event in &decision.events {
            let version = self.state.version + 1;
            self.state.apply(&RecordedEvent {
                global_position: version,
                event_id: Uuid::now_v7(),
                stream_id: StreamId::new("user-web:ana").expect("valid"),
                stream_version: version,
                event: event.clone(),
                schema_version: 1,
                occurred_at: self.now,
                recorded_at: self.now,
                correlation_id: Uuid::nil(),
                causation_id: None,
                erased: false,
            });
        }
        self.now += Duration::seconds(20);
        Some(decision)
    }
}

fn types(d: &Decision) -> Vec<&'static str> {
    d.events.iter().map(|e| e.event_type().as_str()).collect()
}

fn intent(d: &Decision) -> Intent {
    d.events
        .iter()
        .find_map(|e| match e {
            Event::MessageReceived(m) => Some(m.intent),
            _ => None,
        })
        .expect("every decision records the message")
}

#[test]
fn a_first_message_starts_a_session_and_start_says_what_the_bot_does() {
    let mut chat = Chat::new();
    let d = chat.send("/start");
    assert_eq!(
        types(&d),
        ["ConversationStarted", "MessageReceived", "BotReplied"]
    );
    assert_eq!(intent(&d), Intent::Greeting);
    assert!(d.reply.text.starts_with("Hi Ana!"), "{}", d.reply.text);
    assert!(d.reply.text.contains("prices"), "{}", d.reply.text);
    let d = chat.send("hello");
    assert_eq!(types(&d), ["MessageReceived", "BotReplied"], "same session");
    chat.now += Duration::minutes(31);
    let d = chat.send("hi again");
    assert_eq!(
        types(&d)[0],
        "ConversationStarted",
        "30 minutes of silence: new session"
    );
    assert!(
        d.reply.text.starts_with("Welcome back, Ana!"),
        "{}",
        d.reply.text
    );
}

#[test]
fn browsing_lists_a_category_with_prices_and_budget() {
    let mut chat = Chat::new();
    let d = chat.send("hi! what phones do you have?");
    assert_eq!(intent(&d), Intent::Browse);
    assert!(
        d.reply.text.contains("Kite Mini — $299.00"),
        "{}",
        d.reply.text
    );
    assert!(
        d.reply.text.contains("Nova X1 — $799.00"),
        "{}",
        d.reply.text
    );
    assert_eq!(
        d.reply.products,
        ["kite-mini", "pixelon-8", "nova-x1", "nova-x1-pro"],
        "cheapest first"
    );
    assert!(d.reply.buttons.iter().any(|b| b.data == "view:nova-x1"));

    let d = chat.send("show me laptops under $800");
    assert_eq!(intent(&d), Intent::Browse);
    assert_eq!(d.reply.products, ["bolt-13"]);
    let pref = d.events.iter().find_map(|e| match e {
        Event::PreferenceStated(p) => Some(p.clone()),
        _ => None,
    });
    let pref = pref.expect("a budget is a stated preference");
    assert_eq!(pref.budget.map(|b| b.amount_minor), Some(80_000));
    assert_eq!(pref.category.as_deref(), Some("laptops"));
}

#[test]
fn an_ambiguous_price_question_asks_which_one_and_the_answer_resolves_it() {
    let mut chat = Chat::new();
    chat.send("what phones do you have?");
    let d = chat.send("how much is it? 🤔");
    assert_eq!(intent(&d), Intent::PriceInquiry);
    assert_eq!(
        types(&d),
        ["MessageReceived", "BotReplied"],
        "no PriceInquired yet"
    );
    assert!(d.reply.text.starts_with("Which one"), "{}", d.reply.text);
    assert_eq!(d.reply.buttons.len(), 4);

    let d = chat.send("the second one");
    assert!(types(&d).contains(&"PriceInquired"), "{:?}", types(&d));
    assert!(
        d.reply.text.contains("Pixelon 8 costs $699.00"),
        "{}",
        d.reply.text
    );

    let d = chat.send("how much is it?");
    assert!(
        d.reply.text.contains("Pixelon 8 costs $699.00"),
        "the product in focus: {}",
        d.reply.text
    );
}

#[test]
fn references_resolve_from_memory() {
    let mut chat = Chat::new();
    chat.send("compare nova x1 and pixelon 8");
    let d = chat.send("how much is the cheaper one?");
    assert!(d.reply.text.contains("Pixelon 8 costs"), "{}", d.reply.text);
    let d = chat.send("specs of the first one");
    assert!(types(&d).contains(&"SpecsRequested"), "{:?}", types(&d));
    assert!(d.reply.text.contains("Nova X1"), "{}", d.reply.text);
    assert!(
        d.reply.text.contains("battery: 4,300 mAh"),
        "{}",
        d.reply.text
    );
}

#[test]
fn product_mentions_survive_typos_and_aliases() {
    let mut chat = Chat::new();
    let d = chat.send("tell me about the pixleon");
    assert_eq!(d.reply.products, ["pixelon-8"], "{}", d.reply.text);
    assert!(types(&d).contains(&"ProductViewed"));
    let d = chat.send("and the nova?");
    assert_eq!(d.reply.products, ["nova-x1"], "{}", d.reply.text);
}

#[test]
fn a_purchase_is_intended_confirmed_and_ordered_against_stock() {
    let mut chat = Chat::new();
    chat.send("tell me about the Nova X1");
    let d = chat.send("I'll take two");
    assert_eq!(intent(&d), Intent::Purchase);
    let intended = d.events.iter().find_map(|e| match e {
        Event::PurchaseIntended(p) => Some(p.clone()),
        _ => None,
    });
    let intended = intended.expect("purchase intent recorded");
    assert_eq!(
        (intended.product_id.as_str(), intended.quantity),
        ("nova-x1", 2)
    );
    assert!(d.reply.text.contains("$1,598.00"), "{}", d.reply.text);

    let d = chat.send("yes please");
    assert_eq!(intent(&d), Intent::Confirm);
    let order = d.events.iter().find_map(|e| match e {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let order = order.expect("order placed");
    assert_eq!(order.total.amount_minor, 159_800);
    assert_eq!(order.order_id, "ord-test");
    assert!(
        d.reply.text.contains("Order ord-test placed"),
        "{}",
        d.reply.text
    );

    let d = chat.send("yes");
    assert!(
        !types(&d).contains(&"OrderPlaced"),
        "nothing pending any more"
    );

    let d = chat.send("I'll take the pixelon 8");
    let intended = d.events.iter().find_map(|e| match e {
        Event::PurchaseIntended(p) => Some(p.quantity),
        _ => None,
    });
    assert_eq!(
        intended,
        Some(1),
        "the 8 is part of the name, not a quantity"
    );
    chat.send("cancel");
    let d = chat.send("I want 5 pixelon 8");
    assert!(!types(&d).contains(&"PurchaseIntended"), "only 2 in stock");
    assert!(d.reply.text.contains("only have 2"), "{}", d.reply.text);
    let d = chat.send("buy the kite mini");
    assert!(d.reply.text.contains("out of stock"), "{}", d.reply.text);
}

#[test]
fn buttons_work_and_foreign_button_data_is_ignored() {
    let mut chat = Chat::new();
    let d = chat.press("buy:nova-x1").expect("a real button");
    assert!(types(&d).contains(&"PurchaseIntended"));
    let d = chat.press("cancel").expect("a real button");
    assert_eq!(intent(&d), Intent::Cancel);
    assert_eq!(chat.state.pending, None);
    assert_eq!(
        chat.press("buy:1"),
        None,
        "data the bot never produces appends nothing"
    );
    assert_eq!(
        chat.press("confirm"),
        None,
        "nothing to confirm: not a button the bot shows now"
    );
}

#[test]
fn media_without_text_and_nonsense_get_helpful_answers() {
    let mut chat = Chat::new();
    let photo = chat.inbound(MessageKind::Photo, None);
    let d = chat.deliver(&photo).expect("answered");
    assert_eq!(intent(&d), Intent::NonText);
    assert!(d.reply.text.contains("text"), "{}", d.reply.text);
    let d = chat.send("你好，机器人");
    assert_eq!(intent(&d), Intent::Unknown);
    assert!(
        d.reply.text.contains("I can show products"),
        "{}",
        d.reply.text
    );
    let d = chat.send("thanks, that's great!");
    assert_eq!(intent(&d), Intent::Thanks);
    let sentiment = d.events.iter().find_map(|e| match e {
        Event::MessageReceived(m) => Some(m.sentiment),
        _ => None,
    });
    assert_eq!(sentiment, Some(events_schema::Sentiment::Positive));
}

#[test]
fn ordinary_words_are_not_products_prices_or_quantities() {
    let mut chat = Chat::new();
    let d = chat.send("how much is the Nova X1 Pro?");
    assert!(
        d.reply.text.contains("Nova X1 Pro costs $1,099.00"),
        "a longer name wins: {}",
        d.reply.text
    );
    let d = chat.send("Thank you so much!");
    assert_eq!(intent(&d), Intent::Thanks);
    assert!(!types(&d).contains(&"PriceInquired"));
    let d = chat.send("I want a phone with zero bloatware");
    assert!(
        !types(&d).contains(&"PurchaseIntended"),
        "zero is not the Aero: {:?}",
        types(&d)
    );
    let d = chat.send("I'm thinking about 2 laptops");
    assert!(
        !types(&d).contains(&"PreferenceStated"),
        "2 is not a budget: {:?}",
        types(&d)
    );
    let d = chat.send("I'll take the one with 16 GB");
    let quantity = d.events.iter().find_map(|e| match e {
        Event::PurchaseIntended(p) => Some(p.quantity),
        _ => None,
    });
    assert_ne!(quantity, Some(16), "16 GB is a spec, not a quantity");
}

#[test]
fn only_a_plain_yes_to_the_question_confirms_an_order() {
    let mut chat = Chat::new();
    chat.send("tell me about the Nova X1");
    chat.send("I'll take it");
    for not_a_yes in [
        "ok, show me laptops",
        "I'm not sure",
        "sure, but compare nova x1 and pixelon 8 first",
    ] {
        let d = chat.send(not_a_yes);
        assert!(
            !types(&d).contains(&"OrderPlaced"),
            "{not_a_yes}: {:?}",
            types(&d)
        );
    }
    let d = chat.send("Yes, place the order");
    assert_eq!(intent(&d), Intent::Confirm);
    assert!(types(&d).contains(&"OrderPlaced"));

    // A purchase left hanging does not survive into a new session.
    chat.send("I'll take the pixelon 8");
    chat.now += Duration::hours(5);
    let d = chat.send("ok");
    assert!(!types(&d).contains(&"OrderPlaced"), "{:?}", types(&d));
}

#[test]
fn yes_to_an_offer_of_what_is_left_buys_it() {
    let mut chat = Chat::new();
    let d = chat.send("I want 5 pixelon 8");
    assert!(d.reply.text.contains("only have 2"), "{}", d.reply.text);
    let d = chat.send("yes");
    let intended = d.events.iter().find_map(|e| match e {
        Event::PurchaseIntended(p) => Some((p.product_id.clone(), p.quantity)),
        _ => None,
    });
    assert_eq!(
        intended,
        Some(("pixelon-8".to_owned(), 2)),
        "{}",
        d.reply.text
    );
    let d = chat.send("yes");
    assert!(types(&d).contains(&"OrderPlaced"), "{:?}", types(&d));
}

fn cart_lines(chat: &Chat) -> Vec<(String, u32)> {
    chat.state
        .cart
        .iter()
        .map(|l| (l.product_id.clone(), l.quantity))
        .collect()
}

fn intended(d: &Decision) -> Vec<(String, u32)> {
    d.events
        .iter()
        .filter_map(|e| match e {
            Event::PurchaseIntended(p) => Some((p.product_id.clone(), p.quantity)),
            _ => None,
        })
        .collect()
}

/// A purchase waiting for its yes takes a new quantity: a raise is an intent for the
/// difference, a lowering a `PurchaseQuantityChanged` (no intent), and "yes" orders what it
/// then says.
#[test]
fn a_waiting_purchase_can_be_raised_and_lowered() {
    let mut chat = Chat::new();
    chat.send("tell me about the nova x1");
    let d = chat.send("I'll take 3");
    assert_eq!(intended(&d), [("nova-x1".to_owned(), 3)]);
    let d = chat.send("actually just 2");
    assert_eq!(intent(&d), Intent::Purchase);
    assert!(intended(&d).is_empty(), "intents are never taken back");
    let lowered = d.events.iter().find_map(|e| match e {
        Event::PurchaseQuantityChanged(c) => Some((c.product_id.clone(), c.from, c.to)),
        _ => None,
    });
    assert_eq!(lowered, Some(("nova-x1".to_owned(), 3, 2)));
    assert!(d.reply.text.contains("2 × Nova X1"), "{}", d.reply.text);
    let d = chat.send("no wait, make it 4");
    assert_eq!(intended(&d), [("nova-x1".to_owned(), 2)], "from 2 to 4");
    chat.send("actually only one");
    let d = chat.send("yes");
    let order = d.events.iter().find_map(|e| match e {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let order = order.expect("order placed");
    assert_eq!(
        order
            .lines
            .iter()
            .map(|l| (l.product_id.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        [("nova-x1", 1)]
    );
}

/// Cart lines are events; adding (or raising a line) is a purchase intent for the quantity
/// added, a removal none; checkout shows the cart and "yes" orders all of it at once.
#[test]
fn the_cart_is_events_and_checkout_orders_all_of_it() {
    let mut chat = Chat::new();
    chat.send("tell me about the nova x1");
    let d = chat.send("add it to my cart");
    assert_eq!(
        types(&d),
        [
            "MessageReceived",
            "CartItemAdded",
            "PurchaseIntended",
            "BotReplied"
        ]
    );
    assert_eq!(intended(&d), [("nova-x1".to_owned(), 1)]);
    let d = chat.send("add another one");
    assert_eq!(intent(&d), Intent::CartUpdate);
    assert_eq!(intended(&d), [("nova-x1".to_owned(), 1)], "the difference");
    let d = chat.send("add the bolt 13 to my cart");
    assert_eq!(intent(&d), Intent::CartAdd);
    assert_eq!(
        cart_lines(&chat),
        [("nova-x1".to_owned(), 2), ("bolt-13".to_owned(), 1)]
    );
    let d = chat.send("make it 3");
    assert_eq!(intent(&d), Intent::CartUpdate);
    assert_eq!(intended(&d), [("bolt-13".to_owned(), 2)]);
    let d = chat.send("actually only 1 of those");
    assert_eq!(intent(&d), Intent::CartUpdate);
    assert!(
        intended(&d).is_empty(),
        "a decrease is no intent: {:?}",
        types(&d)
    );
    let d = chat.send("remove the nova x1");
    assert_eq!(
        types(&d),
        ["MessageReceived", "CartItemRemoved", "BotReplied"]
    );
    chat.send("add the pixelon 8 to my cart");
    let d = chat.send("what's in my cart?");
    assert_eq!(intent(&d), Intent::CartView);
    assert!(
        d.reply.text.contains("Bolt 13") && d.reply.text.contains("Pixelon 8"),
        "{}",
        d.reply.text
    );
    let d = chat.send("checkout");
    assert_eq!(types(&d), ["MessageReceived", "BotReplied"]);
    assert!(
        d.reply.text.contains("$1,448.00"),
        "749 + 699: {}",
        d.reply.text
    );
    let d = chat.send("yes");
    assert_eq!(intent(&d), Intent::Confirm);
    assert_eq!(
        types(&d),
        [
            "MessageReceived",
            "OrderPlaced",
            "CartCheckedOut",
            "BotReplied"
        ]
    );
    let order = d.events.iter().find_map(|e| match e {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let order = order.expect("ordered");
    assert_eq!(order.lines.len(), 2);
    assert_eq!(order.total.amount_minor, 144_800);
    assert!(chat.state.cart.is_empty());
}

/// "I'll take two" + "yes" orders that line alone, even with a cart; with Telegram Payments the
/// cart becomes one invoice; a price changed since the cart was filled is shown at checkout and
/// charged as it is now.
#[test]
fn a_single_purchase_stays_alone_and_checkout_uses_todays_prices() {
    let mut chat = Chat::new();
    chat.send("add the bolt 13 to my cart");
    chat.send("tell me about the aero 14");
    chat.send("I'll take two");
    let d = chat.send("yes");
    let order = d.events.iter().find_map(|e| match e {
        Event::OrderPlaced(o) => Some(o.clone()),
        _ => None,
    });
    let order = order.expect("ordered");
    assert_eq!(order.lines.len(), 1, "the line alone");
    assert_eq!(order.lines[0].product_id, "aero-14");
    assert_eq!(
        cart_lines(&chat),
        [("bolt-13".to_owned(), 1)],
        "the cart is untouched"
    );

    // The shop lowers the Bolt's price before checkout.
    chat.catalog = Catalog::from_toml(
        &CATALOG.replace("price = 749.00", "price = 699.00"),
        "test.toml",
    )
    .expect("parses");
    let d = chat.send("checkout");
    assert!(
        d.reply.text.contains("now costs $699.00") && d.reply.text.contains("$749.00"),
        "{}",
        d.reply.text
    );
    let mut inbound = chat.inbound(MessageKind::Text, Some("yes"));
    inbound.payments = true;
    inbound.chat_id = Some(42);
    let d = chat.deliver(&inbound).expect("answered");
    assert_eq!(
        types(&d),
        [
            "MessageReceived",
            "InvoiceIssued",
            "CartCheckedOut",
            "BotReplied"
        ]
    );
    let invoice = d.events.iter().find_map(|e| match e {
        Event::InvoiceIssued(i) => Some(i.clone()),
        _ => None,
    });
    let invoice = invoice.expect("one invoice for the cart");
    assert_eq!(invoice.total.amount_minor, 69_900);
    assert_eq!(invoice.chat_id, Some(42));
}

/// A message in Spanish is read and answered in Spanish, and the language is recorded.
#[test]
fn a_spanish_message_is_answered_in_spanish() {
    let mut chat = Chat::new();
    let d = chat.send("hola, ¿cuánto cuesta el nova x1?");
    assert_eq!(intent(&d), Intent::PriceInquiry);
    let language = d.events.iter().find_map(|e| match e {
        Event::MessageReceived(m) => m.language.clone(),
        _ => None,
    });
    assert_eq!(language.as_deref(), Some("es"));
    assert!(
        !d.reply.text.contains("costs"),
        "not English: {}",
        d.reply.text
    );
}

/// Two products named with no other ask are weighed up, in any language.
#[test]
fn two_products_named_alone_are_compared() {
    for text in [
        "nova x1 or pixelon 8?",
        "¿nova x1 o pixelon 8?",
        "nova x1 oder pixelon 8?",
        "nova x1 или pixelon 8?",
    ] {
        let mut chat = Chat::new();
        let d = chat.send(text);
        assert_eq!(intent(&d), Intent::Compare, "{text}");
    }
}
