//! Deciding: given what the bot remembers of a shopper and their new message, which events
//! happened and what to answer. A pure function (no clock, no I/O, no randomness), so every
//! conversation can be replayed and tested given/when/then. Each kind of ask has its own module;
//! the words come from the per-language templates in [`super::say`].

mod browse;
mod cart;
mod product;
mod purchase;
mod shop;
mod talk;

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use events_schema::{
    BotReplied, Channel, ConversationStarted, Event, Intent, MessageKind, MessageReceived,
    PreferenceStated, ReplyButton, UnderstoodBy,
};
use uuid::Uuid;

use super::reply::button;
use super::resolve::Scene;
use super::say::say;
use super::state::{Awaiting, ConversationState};
use super::understand::{Context, Understanding, sentiment, understand};
use crate::catalog::Catalog;
use crate::language::Language;

/// Silence after which a message starts a new session.
pub const SESSION_GAP: chrono::Duration = chrono::Duration::minutes(30);
/// Products listed in one reply at most.
const LIST_LIMIT: usize = 6;

/// One inbound message, from any channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub channel: Channel,
    pub kind: MessageKind,
    /// The text, or for a button press the button's data.
    pub text: Option<String>,
    pub message_id: Option<String>,
    /// Where a Telegram reply goes (the private chat or the group).
    pub chat_id: Option<i64>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    /// The language the channel reports for the user (Telegram's `language_code`).
    pub language: Option<String>,
    pub at: DateTime<Utc>,
    /// Confirmed purchases are paid by invoice (Telegram Payments) rather than confirmed in
    /// chat.
    pub payments: bool,
}

/// The bot's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<ReplyButton>,
    /// Products offered, in order.
    pub products: Vec<String>,
}

impl Reply {
    fn text(text: String) -> Reply {
        Reply {
            text,
            buttons: Vec::new(),
            products: Vec::new(),
        }
    }

    /// Another ask's answer after this one.
    fn then(mut self, other: Reply) -> Reply {
        self.text.push_str("\n\n");
        self.text.push_str(&other.text);
        if self.buttons.is_empty() {
            self.buttons = other.buttons;
        }
        if self.products.is_empty() {
            self.products = other.products;
        }
        self
    }
}

/// What happened: the events to append (the reply's `BotReplied` last) and the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub reply: Reply,
    /// What the rules made of the message (after the conversation so far), for the corpus and
    /// the tests to check beyond the events.
    pub understood: Understanding,
}

/// Decides the answer to `inbound`. `None` means the message is to be ignored on purpose and
/// nothing is appended (a button press with data the bot never produces).
pub fn decide(
    state: &ConversationState,
    inbound: &Inbound,
    catalog: &Catalog,
    order_id: &str,
) -> Option<Decision> {
    decide_with(state, inbound, catalog, order_id, None)
}

/// Decides the answer to `inbound` as the model understood it, a proposal the rules accepted
/// ([`super::proposal::accept`]): the events and the reply are the rules' own, and
/// `MessageReceived` records that the model understood it.
pub fn decide_understood(
    state: &ConversationState,
    inbound: &Inbound,
    catalog: &Catalog,
    order_id: &str,
    understood: Understanding,
) -> Option<Decision> {
    decide_with(state, inbound, catalog, order_id, Some(understood))
}

fn decide_with(
    state: &ConversationState,
    inbound: &Inbound,
    catalog: &Catalog,
    order_id: &str,
    given: Option<Understanding>,
) -> Option<Decision> {
    let by_model = given.is_some();
    let mut events = Vec::new();
    let new_session = state
        .last_activity
        .is_none_or(|last| inbound.at.signed_duration_since(last) > SESSION_GAP);
    if new_session {
        events.push(Event::ConversationStarted(ConversationStarted {
            channel: inbound.channel,
            username: inbound.username.clone(),
            display_name: inbound.display_name.clone(),
            language: inbound.language.clone(),
            returning: state.sessions > 0,
        }));
    }
    let name = inbound
        .display_name
        .clone()
        .or_else(|| state.display_name.clone());
    let text = inbound
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let conversation = state.language.as_deref().and_then(Language::from_tag);
    let channel = inbound.language.as_deref().and_then(Language::from_tag);
    let cart: Vec<String> = state.cart.iter().map(|l| l.product_id.clone()).collect();

    let mut understood = match (given, inbound.kind, text) {
        (Some(given), _, _) => given,
        (None, MessageKind::Button, Some(data)) => {
            let language = conversation.or(channel).unwrap_or_default();
            talk::button_meaning(data, catalog, state, language)?
        }
        // A purchase left unconfirmed in an earlier session is not confirmed by today's "ok".
        (None, _, Some(text)) => understand(
            text,
            catalog,
            Context {
                pending_purchase: state.pending.is_some() && !new_session,
                awaiting_checkout: state.awaiting == Some(Awaiting::Checkout),
                cart: &cart,
                conversation,
                channel,
                focus: state.focus.as_deref(),
                last_intent: state.last_intent.filter(|_| !new_session),
            },
        ),
        (None, _, None) => Understanding::bare(
            Intent::NonText,
            conversation.or(channel).unwrap_or_default(),
        ),
    };
    if let Some(awaiting) = &state.awaiting {
        talk::answer_to_question(&mut understood, awaiting);
    }
    let sentiment = text.map_or(events_schema::Sentiment::Neutral, |t| {
        sentiment(t, understood.language)
    });
    let turn = Turn {
        state,
        catalog,
        scene: Scene { catalog, state },
        name: name.as_deref(),
        new_session,
        invoice_to: inbound.payments.then_some(inbound.chat_id),
        language: understood.language,
        about: RefCell::new(None),
    };
    let (mut more, reply) = turn.respond(&understood, order_id);
    let product_id = more
        .iter()
        .find_map(product_of)
        .or_else(|| turn.about.borrow().clone())
        .or_else(|| understood.products.first().cloned());
    events.push(Event::MessageReceived(MessageReceived {
        kind: inbound.kind,
        message_id: inbound.message_id.clone(),
        // What the user wrote, as they wrote it: the trimmed text is only for understanding.
        text: inbound.text.clone(),
        intent: understood.intent,
        sentiment,
        product_id,
        language: Some(understood.language.code().to_owned()),
        understood_by: match understood.intent {
            Intent::Unknown | Intent::NonText => UnderstoodBy::Nobody,
            _ if by_model => UnderstoodBy::Model,
            _ => UnderstoodBy::Rules,
        },
    }));
    events.append(&mut more);
    events.push(Event::BotReplied(BotReplied {
        channel: inbound.channel,
        in_reply_to: None,
        chat_id: inbound.chat_id,
        text: Some(reply.text.clone()),
        buttons: reply.buttons.clone(),
        products: reply.products.clone(),
    }));
    Some(Decision {
        events,
        reply,
        understood,
    })
}

/// A deterministic order id for the order placed at `stream_version` of `stream`.
pub fn order_id(stream: &str, stream_version: i64) -> String {
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("order:{stream}:{stream_version}").as_bytes(),
    );
    format!("ord-{}", &id.simple().to_string()[..10])
}

fn product_of(event: &Event) -> Option<String> {
    match event {
        Event::ProductViewed(e) => Some(e.product_id.clone()),
        Event::PriceInquired(e) => Some(e.product_id.clone()),
        Event::SpecsRequested(e) => Some(e.product_id.clone()),
        Event::PurchaseIntended(e) => Some(e.product_id.clone()),
        Event::CartItemAdded(e) => Some(e.product_id.clone()),
        Event::CartItemRemoved(e) => Some(e.product_id.clone()),
        Event::CartQuantityChanged(e) => Some(e.product_id.clone()),
        Event::PurchaseQuantityChanged(e) => Some(e.product_id.clone()),
        Event::OrderPlaced(e) => e.lines.first().map(|l| l.product_id.clone()),
        _ => None,
    }
}

/// One message's answer in the making: the conversation and the catalog it is answered from.
struct Turn<'a> {
    state: &'a ConversationState,
    catalog: &'a Catalog,
    scene: Scene<'a>,
    name: Option<&'a str>,
    new_session: bool,
    /// `Some(chat)` when purchases are paid by an invoice sent to that chat.
    invoice_to: Option<Option<i64>>,
    language: Language,
    /// The product the message turned out to be about, when no event names it (asking to buy a
    /// sold-out one).
    about: RefCell<Option<String>>,
}

impl Turn<'_> {
    /// Notes the product the message is about.
    fn about(&self, product: &crate::catalog::Product) {
        self.about
            .borrow_mut()
            .get_or_insert_with(|| product.id.clone());
    }

    /// A template in the conversation's language, filled.
    fn say(&self, key: &str, values: &[(&str, &str)]) -> String {
        say(self.language, key, values)
    }

    fn respond(&self, u: &Understanding, order_id: &str) -> (Vec<Event>, Reply) {
        let mut events = Vec::new();
        if u.states_preference {
            self.preference_events(u, &mut events);
        }
        let mut reply = self.answer(u.intent, u, &mut events, order_id);
        for &also in &u.also {
            let more = self.answer(also, u, &mut events, order_id);
            reply = reply.then(more);
        }
        (events, reply)
    }

    fn answer(
        &self,
        intent: Intent,
        u: &Understanding,
        events: &mut Vec<Event>,
        order_id: &str,
    ) -> Reply {
        match intent {
            Intent::Greeting => self.greeting(),
            Intent::Help => self.help(),
            Intent::Browse | Intent::Preference => self.browse(u),
            Intent::ProductInfo => self.about_product(u, events, product::Show::Card),
            Intent::PriceInquiry => self.about_product(u, events, product::Show::Price),
            Intent::SpecsRequest => self.about_product(u, events, product::Show::Specs),
            Intent::Compare => self.compare(u, events),
            Intent::Purchase => self.purchase(u, events),
            Intent::Confirm => self.confirm(events, order_id),
            Intent::Cancel => self.cancel(),
            Intent::CartAdd | Intent::CartUpdate => self.cart_add(u, events),
            Intent::CartRemove => self.cart_remove(u, events),
            Intent::CartView => self.cart_view(),
            Intent::Checkout => self.checkout(),
            Intent::ShopQuestion => self.shop_question(u, events),
            Intent::Thanks => Reply::text(self.say("thanks", &[])),
            Intent::Goodbye => Reply::text(self.say("goodbye", &[])),
            Intent::NonText => Reply::text(self.say("non_text", &[])),
            Intent::Unknown => self.fallback(),
        }
    }

    /// `PreferenceStated` for what the message states that differs from what was stated.
    fn preference_events(&self, u: &Understanding, events: &mut Vec<Event>) {
        let category = u
            .category
            .clone()
            .filter(|c| Some(c) != self.state.category.as_ref());
        let budget = u
            .budget
            .clone()
            .filter(|b| Some(b) != self.state.budget.as_ref());
        let budget_min = u
            .budget_min
            .clone()
            .filter(|b| Some(b) != self.state.budget_min.as_ref());
        let use_case = u
            .use_case
            .clone()
            .filter(|c| Some(c) != self.state.use_case.as_ref());
        if category.is_some() || budget.is_some() || budget_min.is_some() || use_case.is_some() {
            events.push(Event::PreferenceStated(PreferenceStated {
                budget,
                category,
                budget_min,
                use_case,
            }));
        }
    }

    fn category_buttons(&self) -> Vec<ReplyButton> {
        self.catalog
            .categories()
            .iter()
            .map(|c| {
                let name = c.names.exactly(self.language).unwrap_or(&c.name);
                button(name, &format!("browse:{}", c.id))
            })
            .collect()
    }

    /// A category's name as the conversation's language writes it in a sentence: lower case,
    /// but German nouns keep their capital.
    fn category_name(&self, id: &str) -> String {
        self.catalog.category(id).map_or_else(
            || id.to_owned(),
            |c| {
                let name = c.names.exactly(self.language).unwrap_or(&c.name);
                if self.language == Language::De {
                    name.to_owned()
                } else {
                    name.to_lowercase()
                }
            },
        )
    }
}
